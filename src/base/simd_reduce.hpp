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
#endif

}  // namespace
}  // namespace scout::simd_reduce
