// AVX2 + FMA + F16C float kernels: 8 lanes, 3 weight rows × 4 inputs per nt tile (12
// accumulators of the 16 ymm registers), 2 column vectors × 4 inputs per nn tile. Compiled with
// -mavx2 -mfma -mf16c (CMakeLists.txt); only called when the processor has them.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/ops/matmul_float.hpp"
#include "backend/cpu/ops/matmul_float_tiles.hpp"
#include "base/simd_reduce.hpp"

namespace scout::cpu::simd {

namespace {

struct Avx2 {
    using V = __m256;
    static constexpr int L = 8;
    static V zero() { return _mm256_setzero_ps(); }
    static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V broadcast(float v) { return _mm256_set1_ps(v); }
    // The empty asm keeps the loaded inputs in a register: GCC otherwise folds the load into
    // every FMA that uses it, reading each input vector once per weight row of the tile, which
    // left the nt loop waiting on loads (15 per 12 FMAs) rather than on the FMAs.
    static V load_x(const float* p) {
        V v = _mm256_loadu_ps(p);
        asm("" : "+x"(v));
        return v;
    }
    static V load_x_part(const float* p, int n) {
        float buf[L] = {};
        std::memcpy(buf, p, static_cast<std::size_t>(n) * sizeof(float));
        return _mm256_loadu_ps(buf);
    }
    static V widen_bf16(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }

    template <DType D>
    static V load_w(const typename tiles::Elem<Avx2, D>::type* p) {
        if constexpr (D == DType::F32) return _mm256_loadu_ps(p);
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if constexpr (D == DType::BF16) return widen_bf16(h);
        else return _mm256_cvtph_ps(h);
    }
    template <DType D>
    static V load_w_part(const typename tiles::Elem<Avx2, D>::type* p, int n) {
        typename tiles::Elem<Avx2, D>::type buf[L] = {};
        std::memcpy(buf, p, static_cast<std::size_t>(n) * sizeof(buf[0]));
        return load_w<D>(buf);
    }
    static float hsum(V v) { return simd_reduce::hsum256(v); }
    static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    static void store_part(float* p, V v, int n) {
        float buf[L];
        _mm256_storeu_ps(buf, v);
        std::memcpy(p, buf, static_cast<std::size_t>(n) * sizeof(float));
    }
};

}  // namespace

void nt_rows_avx2(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nt_rows_any<Avx2, 3, 4>(x, T, w, y, n0, n1);
}

void nn_cols_avx2(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nn_cols_any<Avx2, 2, 4>(x, T, w, y, n0, n1);
}

}  // namespace scout::cpu::simd
