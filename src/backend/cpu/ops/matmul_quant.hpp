// Matrix products against GGUF block-quantized weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
//   y[T, N] = x[T, K] · W[N, K]ᵀ with W stored as rows of quant blocks.
// Called by matmul_nt for quantized weights; the plain twin is matmul_nt_ref.
//
// As llama.cpp does: each x row is quantized once to int8 blocks (kernels/q8_activations.hpp),
// then every output is an int8 dot product (kernels/vec_dot.hpp) of a weight row with it. The
// result therefore carries the activation rounding on top of the weights' own quantization:
// at most Σ_blocks (max_block|x| / 254) · Σ_block |w| (about 1% of Σ|w·x| for Gaussian x; the
// rounding errors are independent, so the typical error is ~1/√K of that). The test bound.
//
// Work split: threads take disjoint ranges of weight rows; within a range, tokens are taken in
// chunks (kept in cache) and each weight row is multiplied with up to kMaxTileTokens tokens per
// pass over its blocks, so prefill is bound by int8 arithmetic rather than weight reads.
// Every output element is computed by one thread with the same operations whatever T, the
// tiling or the thread count, so a token's row of y does not depend on its batch.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/cpu_features.hpp"
#include "base/thread_pool.hpp"

namespace scout::cpu {

// Uses the best kernels this processor supports (best_simd_level()).
void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool);
// The same with the kernels of a given level (tests); throws if the processor lacks it.
void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool,
                     SimdLevel level);

// The two steps separately, so several weights sharing an input (q/k/v, gate/up) quantize it
// once and run in one parallel pass (matmul_nt_group).
struct QuantizedInput {
    std::vector<uint8_t> bytes;  // [T, row_bytes]
    std::size_t row_bytes = 0;
};
// x [T, K] quantized for weights of type `weight` (one format serves Q8_0/Q4_0, one the K-quants).
QuantizedInput quantize_input(const float* x, int64_t T, int64_t K, DType weight, ThreadPool& pool);
// The same into q, reusing its storage (no allocation once it has held T rows of this size).
void quantize_input_into(const float* x, int64_t T, int64_t K, DType weight, ThreadPool& pool, QuantizedInput& q);
// Whether weights of types a and b take the same quantized input.
bool same_input_format(DType a, DType b);
// Rows [n0, n1) of y [T, w.rows] from an input quantized for w.dtype (single-threaded):
// a [T, a_row] bytes, T rows of quantize_input_into's format.
void matmul_nt_quant_rows(const uint8_t* a, std::size_t a_row, int64_t T, const WeightMatrix& w, float* y, int64_t n0,
                          int64_t n1, SimdLevel level);

}  // namespace scout::cpu
