// int8 dot products of GGUF weight rows with quantized activation rows (q8_activations.hpp):
//   Q8_0, Q4_0 weights x BlockQ8A;   Q4_K, Q5_K, Q6_K weights x BlockQ8KA.
// Each weight block's integer products are summed exactly in int32, then scaled in float32.
//
// Kernels come per SIMD level (base/cpu_features.hpp): Portable is the plain scalar reference
// (vec_dot.cpp), Avx2 uses maddubs/madd, Avx512 the VNNI instructions vpdpbusd/vpdpwssd
// (vec_dot_x86.inl, compiled twice with different target flags). Levels agree with each other
// to float rounding (their float accumulation orders differ), not bit for bit.
//
// A kernel takes one weight row and NT = 1..kMaxTileTokens activation rows, so a weight block
// is loaded and unpacked once for several tokens (prefill). Within one level the result for
// a (row, token) pair is bit-identical for every NT: each token's accumulators see the same
// operations in the same order whatever else is in the tile. Each table names the widest tile
// its level runs well (AVX2 has 16 vector registers, AVX-512 32).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/cpu_features.hpp"
#include "base/dtype.hpp"

namespace scout::cpu {

inline constexpr int kMaxTileTokens = 8;

// How far ahead of the block being multiplied the x86 kernels request weight bytes (decode
// reads each weight once, and the hardware prefetcher alone left the kernels waiting on the
// first load of each block). A product asks for the first kPrefetchAheadBytes of each thread's
// rows itself before it starts (matmul_nt_quant_rows), since nothing ahead of them covers those.
inline constexpr std::size_t kPrefetchAheadBytes = 8192;

// y[t * y_stride] = Σ_i w[i] * a_t[i] for t < NT, where w is one weight row of nb blocks and
// a_t = a + t * a_stride bytes is a quantized activation row of the matching format.
using VecDotTileFn = void (*)(int64_t nb, const void* w, const void* a, std::size_t a_stride, float* y,
                              int64_t y_stride);

struct VecDotKernels {
    VecDotTileFn tile[kMaxTileTokens];  // tile[k] handles k + 1 activation rows
    int tile_tokens;                    // the width products should use (<= kMaxTileTokens)
};

// The kernels for a weight type at a SIMD level. Throws scout::Error when the type has no int8
// kernel (has_q8_kernel) or the level is not supported by this processor (or this build).
const VecDotKernels& vec_dot_kernels(DType weight, SimdLevel level);

// One weight row of nb blocks · one quantized activation row (tile[0]).
float vec_dot_q8(DType weight, SimdLevel level, int64_t nb, const void* w, const void* a);

namespace detail {
// Per-level tables (nullptr for a type without a kernel). The x86 ones exist when the build
// targets x86-64 (SCOUT_X86_KERNELS).
const VecDotKernels* vec_dot_kernels_portable(DType weight);
const VecDotKernels* vec_dot_kernels_avx2(DType weight);
const VecDotKernels* vec_dot_kernels_avx512(DType weight);
}  // namespace detail

}  // namespace scout::cpu
