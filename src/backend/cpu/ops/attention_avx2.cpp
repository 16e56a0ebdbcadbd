// AVX2 + FMA instantiation of the tiled attention kernel (attention_kernel.hpp). Compiled with
// -mavx2 -mfma whatever SCOUT_NATIVE says; attention.cpp only calls it when the processor has them.
#include <immintrin.h>

#include "backend/cpu/ops/attention_kernel.hpp"
#include "backend/cpu/ops/attention_simd.hpp"
#include "base/simd_reduce.hpp"

namespace scout::cpu::attn {

namespace {

struct Avx2 {
    static constexpr int W = 8;
    using V = __m256;
    static constexpr int QK_NR = 2, QK_NV = 4, PV_NR = 4, PV_NV = 2;
    static constexpr bool kWidensHalves = true;
    static V zero() { return _mm256_setzero_ps(); }
    static V set1(float f) { return _mm256_set1_ps(f); }
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    template <bool F16>
    static V load_halves(const uint8_t* p) { return load8<F16 ? RowSrc::F16 : RowSrc::BF16>(p, 0); }
    static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static float sfma(float a, float b, float c) { return std::fma(a, b, c); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V exp(V x) {
        using namespace expc;
        x = _mm256_min_ps(_mm256_max_ps(x, set1(kLo)), set1(kHi));
        const V fx = _mm256_floor_ps(_mm256_fmadd_ps(x, set1(kLog2e), set1(0.5f)));
        x = _mm256_fnmadd_ps(fx, set1(kC1), x);
        x = _mm256_fnmadd_ps(fx, set1(kC2), x);
        V y = set1(kP0);
        y = _mm256_fmadd_ps(y, x, set1(kP1));
        y = _mm256_fmadd_ps(y, x, set1(kP2));
        y = _mm256_fmadd_ps(y, x, set1(kP3));
        y = _mm256_fmadd_ps(y, x, set1(kP4));
        y = _mm256_fmadd_ps(y, x, set1(kP5));
        y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, set1(1.0f)));
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
        return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    }
    static float hmax(V v) {
        __m128 b = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        b = _mm_max_ps(b, _mm_movehl_ps(b, b));
        b = _mm_max_ss(b, _mm_movehdup_ps(b));
        return _mm_cvtss_f32(b);
    }
    template <RowSrc S>
    static void transpose_k(const uint8_t* const* krows, int ja, int jb, int64_t d, float* kt, int64_t ld) {
        transpose_k_avx2<S>(krows, ja, jb, d, kt, ld);
    }
    static float hsum(V v) { return simd_reduce::hsum256(v); }
    static void decode_kv(kv::KvType type, const uint8_t* src, int64_t n, float* dst) {
        decode_kv_head_f16c(type, src, n, dst);
    }
};

}  // namespace

void decode_kv_head_f16c(kv::KvType type, const uint8_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    if (type == kv::KvType::F16) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8<RowSrc::F16>(src, i));
    } else if (type == kv::KvType::BF16) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8<RowSrc::BF16>(src, i));
    } else {
        kv::kv_decode_row(type, src, n, dst);
        return;
    }
    if (i < n) kv::kv_decode_row(type, src + 2 * i, n - i, dst + i);  // tail: fewer than 8 values
}

void task_avx2(const TaskArgs& a) { Kernel<Avx2>::run(a); }

}  // namespace scout::cpu::attn
