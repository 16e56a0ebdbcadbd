// RMS normalisation over the last dimension, float32 math (as transformers does).
#pragma once

#include <cstdint>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/thread_pool.hpp"

namespace scout::cpu {

// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]²) + eps) * weight        x, y: [T, n]; weight: [n]
void rms_norm(const float* x, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y);

// The residual step and the next norm in one pass over rows, split over the pool's threads:
//   h[t, :] += add[t, :]   (skipped when add is null)
//   y[t, :]  = rms_norm(h[t, :]) * weight
// Every row is computed as rms_norm computes it, so results equal the two serial steps bit for bit.
void add_rms_norm(float* h, const float* add, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y,
                  ThreadPool& pool);

// h[i] += add[i] over n values, split over the pool's threads.
void add_in_place(float* h, const float* add, int64_t n, ThreadPool& pool);

// In place, no weight, over rows of length n (the per-head QK norm): x: [rows, n]
void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps);

}  // namespace scout::cpu
