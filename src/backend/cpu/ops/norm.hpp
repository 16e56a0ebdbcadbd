// RMS normalisation over the last dimension, float32 math (as transformers does).
#pragma once

#include <cstdint>

#include "backend/cpu/ops/weight_matrix.hpp"

namespace scout::cpu {

// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]²) + eps) * weight        x, y: [T, n]; weight: [n]
void rms_norm(const float* x, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y);

// In place, no weight, over rows of length n (the per-head QK norm): x: [rows, n]
void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps);

}  // namespace scout::cpu
