// Matrix products against GGUF block-quantized weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
//   y[T, N] = x[T, K] · W[N, K]ᵀ with W stored as rows of quant blocks.
// Called by matmul_nt for quantized weights; the plain twin is matmul_nt_ref.
#pragma once

#include <cstdint>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/thread_pool.hpp"

namespace scout::cpu {

void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool);

}  // namespace scout::cpu
