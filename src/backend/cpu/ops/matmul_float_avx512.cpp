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
    // The empty asm keeps the loaded inputs in a register: GCC otherwise folds the load into
    // every FMA that uses it, reading each input vector once per weight row of the tile, which
    // made the nt loop bound by loads (16 per 16 FMAs), not by the FMAs.
    static V load_x(const float* p) {
        V v = _mm512_loadu_ps(p);
        asm("" : "+v"(v));
        return v;
    }
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
    // An R × TT tile's 16 sums by one transposed reduction (hsum512x16, bit-identical to
    // hsum512 per accumulator): lane R·j + r holds acc[r][j], so each 128-bit block holds
    // 4 / R inputs' R consecutive outputs, stored as 128- or 64-bit pieces.
    template <int R, int TT>
        requires(R * TT == 16 && (R == 2 || R == 4))
    static void store_sums(const V (&acc)[R][TT], float* const* ys, int64_t col) {
        V in[16];
        for (int j = 0; j < TT; ++j)
            for (int r = 0; r < R; ++r) {
                const int p = R * j + r;           // wanted output lane
                in[p / 4 + 4 * (p % 4)] = acc[r][j];  // hsum512x16 puts hsum(in[q + 4s]) in lane 4q + s
            }
        const V s = simd_reduce::hsum512x16(in);
        store_block<R>(_mm512_castps512_ps128(s), ys, col, 0);
        store_block<R>(_mm512_extractf32x4_ps(s, 1), ys, col, 1);
        store_block<R>(_mm512_extractf32x4_ps(s, 2), ys, col, 2);
        store_block<R>(_mm512_extractf32x4_ps(s, 3), ys, col, 3);
    }
    template <int R>
    static void store_block(__m128 q, float* const* ys, int64_t col, int b) {
        if constexpr (R == 4) {
            _mm_storeu_ps(ys[b] + col, q);
        } else {
            _mm_storel_pi(reinterpret_cast<__m64*>(ys[2 * b] + col), q);
            _mm_storeh_pi(reinterpret_cast<__m64*>(ys[2 * b + 1] + col), q);
        }
    }
    static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
    static void store_part(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
};

}  // namespace

void nt_rows_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nt_rows_any<Avx512, 4, 4, 2, 8>(x, T, w, y, n0, n1);
}

void nn_cols_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    tiles::nn_cols_any<Avx512, 4, 4, 16>(x, T, w, y, n0, n1);
}

}  // namespace scout::cpu::simd
