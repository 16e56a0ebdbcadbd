// Horizontal float sums of SIMD registers, one fixed reduction tree, shared by every kernel that
// needs one (float matmul tiles, attention, int8 dot products). Include only from files compiled
// for the instruction set (AVX2 / AVX-512 files with their own target flags): the functions have
// internal linkage, so each such file gets its own copy and the linker cannot mix ISAs.
// The tree is part of the kernels' determinism: lanes i and i + 4 first, then i + 2, then i + 1
// (AVX-512: halves i and i + 8 before that), the same for every tile shape.
#pragma once

#include <immintrin.h>

namespace scout::simd_reduce {
namespace {

[[maybe_unused]] inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
[[maybe_unused]] inline float hsum512(__m512 v) {
    return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

// hsum512 of 16 vectors at once, transposed: lane 4q + s of the result is hsum512(v[q + 4s]),
// bit for bit. Each addition pairs the same two partial sums as hsum512's tree (lanes i + i+8,
// then i + i+4, i + i+2, i + i+1, lower operand first); the shuffles only move partial sums
// between registers, so 16 sums cost 15 additions and 30 shuffles instead of 16 × 7 operations
// (the matmul tiles over short rows spent ~40 % of their time in horizontal sums).
[[maybe_unused]] inline __m512 hsum512x16(const __m512* v) {
    __m512 a[8];  // a[m] = [v[2m] lanes i + i+8 (8 lanes) | v[2m+1] likewise]
    for (int m = 0; m < 8; ++m)
        a[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 b[4];  // 128-bit block k of b[m] = v[4m + k]'s four partial sums after + i+4
    for (int m = 0; m < 4; ++m)
        b[m] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * m], a[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(a[2 * m], a[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 c[2];  // block k of c[m] = [v[8m + k] × 2 partial sums, v[8m + 4 + k] × 2] after + i+2
    for (int m = 0; m < 2; ++m)
        c[m] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * m], b[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(b[2 * m], b[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    // + i+1: block k = [v[k], v[4 + k], v[8 + k], v[12 + k]]
    return _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}
#endif

}  // namespace
}  // namespace scout::simd_reduce
