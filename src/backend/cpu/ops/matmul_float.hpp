// Per-ISA float kernels behind matmul_nt / matmul_nn for weights stored as F32, BF16 or F16
// (activations and accumulation in float32). matmul.cpp splits the work across threads and
// picks the variant for the processor (SimdLevel); tests run every variant the machine has.
//
// Each kernel computes one slice of the output for ALL T inputs:
//   nt_rows: rows [n0, n1) of y[T, N] = x[T, K] · W[N, K]ᵀ
//   nn_cols: columns [n0, n1) of y[T, N] = x[T, K] · W[K, N]
// Determinism: every output element is produced by the same sequence of operations whatever
// T, the tile it falls in, or the thread count, so a sequence's result never depends on what
// it is batched with (tested bit for bit).
#pragma once

#include <cstdint>

#include "backend/cpu/ops/weight_matrix.hpp"

namespace scout::cpu::simd {

void nt_rows_portable(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);
void nt_rows_avx2(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);
void nt_rows_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);

void nn_cols_portable(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);
void nn_cols_avx2(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);
void nn_cols_avx512(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);

// Column granularity nn_cols slices should be aligned to (its vector tile width).
constexpr int64_t kNnColumnGrain = 64;

}  // namespace scout::cpu::simd
