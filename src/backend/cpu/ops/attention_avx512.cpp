// AVX-512 instantiation of the tiled attention kernel (attention_kernel.hpp): a 64-key tile is
// 4 vectors. Compiled with -mavx512f (+ AVX2/FMA) whatever SCOUT_NATIVE says; attention.cpp only
// calls it when the processor has them.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "backend/cpu/ops/attention_kernel.hpp"
#include "backend/cpu/ops/attention_simd.hpp"
#include "base/simd_reduce.hpp"

namespace scout::cpu::attn {

namespace {

struct Avx512 {
    static constexpr int W = 16;
    using V = __m512;
    static constexpr int QK_NR = 4, QK_NV = 4, PV_NR = 4, PV_NV = 4;
    static constexpr bool kWidensHalves = true;
    static V zero() { return _mm512_setzero_ps(); }
    static V set1(float f) { return _mm512_set1_ps(f); }
    static V load(const float* p) { return _mm512_loadu_ps(p); }
    // 16 stored halves as float32: f16 through vcvtph2ps, bf16 by a shift (both exact).
    template <bool F16>
    static V load_halves(const uint8_t* p) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        if constexpr (F16) return _mm512_cvtph_ps(h);
        else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
    static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static float sfma(float a, float b, float c) { return std::fma(a, b, c); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V max(V a, V b) { return _mm512_max_ps(a, b); }
    static V exp(V x) {
        using namespace expc;
        x = _mm512_min_ps(_mm512_max_ps(x, set1(kLo)), set1(kHi));
        const V fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, set1(kLog2e), set1(0.5f)),
                                          _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        x = _mm512_fnmadd_ps(fx, set1(kC1), x);
        x = _mm512_fnmadd_ps(fx, set1(kC2), x);
        V y = set1(kP0);
        y = _mm512_fmadd_ps(y, x, set1(kP1));
        y = _mm512_fmadd_ps(y, x, set1(kP2));
        y = _mm512_fmadd_ps(y, x, set1(kP3));
        y = _mm512_fmadd_ps(y, x, set1(kP4));
        y = _mm512_fmadd_ps(y, x, set1(kP5));
        y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, set1(1.0f)));
        const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
        return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
    }
    static float hmax(V v) {
        const __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
        __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        b = _mm_max_ps(b, _mm_movehl_ps(b, b));
        b = _mm_max_ss(b, _mm_movehdup_ps(b));
        return _mm_cvtss_f32(b);
    }
    template <RowSrc S>
    static void transpose_k(const uint8_t* const* krows, int ja, int jb, int64_t d, float* kt, int64_t ld) {
        transpose_k_avx2<S>(krows, ja, jb, d, kt, ld);
    }
    static float hsum(V v) { return simd_reduce::hsum512(v); }
    static void decode_kv(kv::KvType type, const uint8_t* src, int64_t n, float* dst) {
        decode_kv_head_f16c(type, src, n, dst);  // one 64-key tile at a time: AVX2 width is enough
    }
};

}  // namespace

void task_avx512(const TaskArgs& a) { Kernel<Avx512>::run(a); }

}  // namespace scout::cpu::attn
