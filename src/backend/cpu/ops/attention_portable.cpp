// Portable instantiation of the tiled attention kernel (attention_kernel.hpp): 8-lane arrays,
// plain mul + add (compiled with -ffp-contract=off), std::exp per lane.
#include "backend/cpu/ops/attention_kernel.hpp"

namespace scout::cpu::attn {

namespace {

struct Portable {
    static constexpr int W = 8;
    struct V {
        float x[W];
    };
    static constexpr int QK_NR = 2, QK_NV = 4, PV_NR = 4, PV_NV = 2;
    static constexpr bool kWidensHalves = false;  // rows are decoded to float32 first
    static V zero() { return set1(0.0f); }
    static V set1(float f) {
        V r;
        for (int i = 0; i < W; ++i) r.x[i] = f;
        return r;
    }
    static V load(const float* p) {
        V r;
        for (int i = 0; i < W; ++i) r.x[i] = p[i];
        return r;
    }
    static void store(float* p, V v) {
        for (int i = 0; i < W; ++i) p[i] = v.x[i];
    }
    static V fma(V a, V b, V c) {
        for (int i = 0; i < W; ++i) c.x[i] = a.x[i] * b.x[i] + c.x[i];
        return c;
    }
    static float sfma(float a, float b, float c) { return a * b + c; }
    static V mul(V a, V b) {
        for (int i = 0; i < W; ++i) a.x[i] *= b.x[i];
        return a;
    }
    static V add(V a, V b) {
        for (int i = 0; i < W; ++i) a.x[i] += b.x[i];
        return a;
    }
    static V sub(V a, V b) {
        for (int i = 0; i < W; ++i) a.x[i] -= b.x[i];
        return a;
    }
    static V max(V a, V b) {
        for (int i = 0; i < W; ++i) a.x[i] = std::max(a.x[i], b.x[i]);
        return a;
    }
    static V exp(V a) {
        for (int i = 0; i < W; ++i) a.x[i] = std::exp(a.x[i]);
        return a;
    }
    static float hmax(V a) {
        float m = a.x[0];
        for (int i = 1; i < W; ++i) m = std::max(m, a.x[i]);
        return m;
    }
    template <RowSrc S>
    static void transpose_k(const uint8_t* const* krows, int ja, int jb, int64_t d, float* kt, int64_t ld) {
        for (int j = ja; j <= jb; ++j)
            for (int64_t c = 0; c < d; ++c) kt[c * ld + j] = row_value<S>(krows[j], c);
    }
    static void decode_kv(kv::KvType type, const uint8_t* src, int64_t n, float* dst) {
        kv::kv_decode_row(type, src, n, dst);
    }
    static float hsum(V a) {
        float s = a.x[0];
        for (int i = 1; i < W; ++i) s += a.x[i];
        return s;
    }
};

}  // namespace

void task_portable(const TaskArgs& a) { Kernel<Portable>::run(a); }

}  // namespace scout::cpu::attn
