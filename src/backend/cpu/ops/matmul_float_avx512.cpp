// AVX-512 (F + BW + VL) float kernels: 16 lanes, 4 weight rows × 4 inputs per nt tile (16
// accumulators), 4 column vectors × 4 inputs per nn tile. Compiled with -mavx512f -mavx512bw
// -mavx512vl (CMakeLists.txt); only called when the processor has them.
// GCC 12 warns "__Y may be used uninitialized" inside its own avx512fintrin.h (a known false
// positive of the _mm512_undefined_* helpers); nothing of ours is uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "backend/cpu/ops/matmul_float.hpp"
#include "backend/cpu/ops/matmul_float_tiles.hpp"
#include "base/simd_reduce.hpp"

namespace scout::cpu::simd {

namespace {

struct Avx512 {
    using V = __m512;
    static constexpr int L = 16;
    static V zero() { return _mm512_setzero_ps(); }
    static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V broadcast(float v) { return _mm512_set1_ps(v); }
    static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
    static V load_x(const float* p) { return _mm512_loadu_ps(p); }
    static V load_x_part(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
    static V widen_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

    template <DType D>
    static V load_w(const typename tiles::Elem<Avx512, D>::type* p) {
        if constexpr (D == DType::F32) return _mm512_loadu_ps(p);
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        if constexpr (D == DType::BF16) return widen_bf16(h);
        else return _mm512_cvtph_ps(h);
    }
    template <DType D>
    static V load_w_part(const typename tiles::Elem<Avx512, D>::type* p, int n) {
        if constexpr (D == DType::F32) return _mm512_maskz_loadu_ps(mask(n), p);
        const __m256i h = _mm256_maskz_loadu_epi16(mask(n), p);
        if constexpr (D == DType::BF16) return widen_bf16(h);
        else return _mm512_cvtph_ps(h);
    }
    static float hsum(V v) { return simd_reduce::hsum512(v); }
    static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
    static void store_part(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
};

}  // namespace

void nt_rows_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nt_rows_any<Avx512, 4, 4>(x, T, w, y, n0, n1);
}

void nn_cols_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nn_cols_any<Avx512, 4, 4>(x, T, w, y, n0, n1);
}

}  // namespace scout::cpu::simd
