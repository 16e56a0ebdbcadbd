// int8 activation blocks for the quantized matrix products (vec_dot.hpp): a float32 activation
// row is quantized once per matmul call into the block format its weight type pairs with,
//   Q8_0, Q4_0 weights  ->  BlockQ8A  (32 values per block)
//   Q4_K, Q5_K, Q6_K    ->  BlockQ8KA (256 values per block)
// and every weight row is then multiplied with it in int8 x int8 -> int32 arithmetic.
//
// Both use a symmetric scale per block: d = max|x| / 127, q = round_half_even(x / d) in [-127, 127]
// (q = 0 everywhere when max|x| == 0). -128 never occurs, which the SIMD kernels rely on (the
// pairwise int16 sums of u8 x s8 products cannot saturate). These are scout's in-memory scratch
// formats, never written to files, so unlike ggml's Q8_0/Q8_K they keep d in float32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/dtype.hpp"
#include "quant/blocks.hpp"

namespace scout::cpu {

// Pairs with Q8_0 and Q4_0 weight blocks: x[i] ≈ d * qs[i].
struct BlockQ8A {
    float d;            // max|x| / 127 over the 32 values
    int32_t sum;        // Σ qs[i]: Q4_0 stores q + 8, so Σ (q - 8) a = Σ q a - 8 * sum
    int8_t qs[quant::kQK];
};
static_assert(sizeof(BlockQ8A) == 40, "BlockQ8A must be 40 bytes");

// Pairs with the K-quant weight blocks: x[i] ≈ d * qs[i].
struct BlockQ8KA {
    float d;            // max|x| / 127 over the 256 values
    int8_t qs[quant::kQK_K];
    int16_t bsums[quant::kQK_K / 16];  // bsums[j] = Σ qs[16 j .. 16 j + 15] (the K-quant min/offset terms)
};
static_assert(sizeof(BlockQ8KA) == 292, "BlockQ8KA must be 292 bytes");

// n must be a multiple of 32 / 256 respectively.
void quantize_row_q8a(const float* x, BlockQ8A* y, int64_t n);
void quantize_row_q8ka(const float* x, BlockQ8KA* y, int64_t n);

// The activation format paired with a quantized weight type, and the bytes of one quantized
// activation row of n values in it. Throws scout::Error for a type with no int8 kernel.
bool has_q8_kernel(DType weight);
std::size_t activation_row_bytes(DType weight, int64_t n);
// Quantizes one activation row for multiplication with `weight` rows (dst: activation_row_bytes).
void quantize_activation_row(DType weight, const float* x, void* dst, int64_t n);

}  // namespace scout::cpu
