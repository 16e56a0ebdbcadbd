// Shared pieces of the AVX2 / AVX-512 attention kernels: exp(x) by Cephes-style range reduction
// x = n ln2 + r and a degree-6 polynomial (~1 ulp), inputs clamped to [-87.3, 88.4] (callers zero
// masked lanes themselves); and the 8x8 register transpose of a K tile.
#pragma once

namespace scout::cpu::attn::expc {
inline constexpr float kHi = 88.3762626647949f, kLo = -87.3365447504f, kLog2e = 1.44269504088896341f;
inline constexpr float kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
inline constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                       kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
}  // namespace scout::cpu::attn::expc

#include <immintrin.h>

#include <cstdint>

#include "backend/cpu/ops/attention_kernel.hpp"

namespace scout::cpu::attn {
namespace {

// 8 values of a row from element c on, as float32 (f16 through F16C, bf16 by a shift: exact).
template <RowSrc S>
inline __m256 load8(const uint8_t* row, int64_t c) {
    if constexpr (S == RowSrc::Float) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c));
        if constexpr (S == RowSrc::F16) return _mm256_cvtph_ps(h);
        else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

// One 8-row block of transpose_k_avx2: rows j0 .. j0+7, those outside [ja, jb] read as zero
// (kAll: all 8 are inside, no test per row).
template <RowSrc S, bool kAll>
void transpose_rows8(const uint8_t* const* krows, int j0, int ja, int jb, int64_t d, float* kt, int64_t ld) {
    int64_t c0 = 0;
    for (; c0 + 8 <= d; c0 += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) {
            const int j = j0 + i;
            r[i] = (kAll || (j >= ja && j <= jb)) ? load8<S>(krows[j], c0) : _mm256_setzero_ps();
        }
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
        float* o = kt + c0 * ld + j0;
        _mm256_storeu_ps(o + 0 * ld, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(o + 1 * ld, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(o + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(o + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(o + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(o + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(o + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(o + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; c0 < d; ++c0)
        for (int i = 0; i < 8; ++i) {
            const int j = j0 + i;
            kt[c0 * ld + j] = (kAll || (j >= ja && j <= jb)) ? row_value<S>(krows[j], c0) : 0.0f;
        }
}

// kt[c * ld + j] = krows[j][c] for j in [ja, jb] (rows outside read as zero), c in [0, d): 8x8
// blocks transposed in registers (pure data movement: the values are those of the rows).
template <RowSrc S>
void transpose_k_avx2(const uint8_t* const* krows, int ja, int jb, int64_t d, float* kt, int64_t ld) {
    for (int j0 = (ja / 8) * 8; j0 <= jb; j0 += 8) {
        if (j0 >= ja && j0 + 7 <= jb) transpose_rows8<S, true>(krows, j0, ja, jb, d, kt, ld);
        else transpose_rows8<S, false>(krows, j0, ja, jb, d, kt, ld);
    }
}

}  // namespace
}  // namespace scout::cpu::attn
