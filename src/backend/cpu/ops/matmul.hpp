// Matrix products against weights in their stored dtype, float32 activations and accumulation.
//   matmul_nt: y[T, N] = x[T, K] · W[N, K]ᵀ   (nn.Linear weights, stored [out, in])
//   matmul_nn: y[T, N] = x[T, K] · W[K, N]    (fused expert weights, stored [in, out])
// The *_ref twins are the plain definitions (double accumulation) the fast ones are tested against.
// Each output element is produced by exactly one thread in a fixed order, so results do not
// depend on the thread count, nor on the batch (T) a row is computed in.
// Float weights (F32/BF16/F16) use the SIMD variant for the processor (matmul_float.hpp);
// block-quantized weights go to matmul_quant.hpp. The overloads taking a SimdLevel force a
// variant (tests compare each with the reference); asking for one the CPU lacks is an error.
#pragma once

#include <cstdint>
#include <cstddef>
#include <span>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/cpu_features.hpp"
#include "base/thread_pool.hpp"

namespace scout::cpu {

void matmul_nt(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool);
void matmul_nn(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool);
void matmul_nt(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool, SimdLevel level);
void matmul_nn(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool, SimdLevel level);

// One product of a group: y [T, w.rows] = x · wᵀ.
struct MatmulOut {
    WeightMatrix w;
    float* y = nullptr;
};
// Several products of the same input x [T, K] (q/k/v, gate/up) in ONE parallel pass: the rows of
// all matrices are split over the threads together (one hand-off instead of one per matrix) and
// x is quantized once per activation format. Each y is bit-identical to matmul_nt's.
void matmul_nt_group(const float* x, int64_t T, std::span<const MatmulOut> outs, ThreadPool& pool);
void matmul_nt_group(const float* x, int64_t T, std::span<const MatmulOut> outs, ThreadPool& pool, SimdLevel level);

// Products computed piecewise inside a caller's own parallel pass (the MoE's (expert, row panel)
// items, ops/ffn.cpp). An input is prepared once per weight format: float weights read the float
// rows; block-quantized ones read the rows quantized for their kernels (as matmul_nt does).
struct PreparedRows {
    const float* x = nullptr;      // [T, K]
    const uint8_t* q = nullptr;    // [T, q_row_bytes] for block-quantized weights
    std::size_t q_row_bytes = 0;
};
// Bytes of one prepared row for weights of this type (0 for float weights). Throws for a type
// without CPU kernels.
std::size_t prepared_row_bytes(DType weight, int64_t K);
// Whether weights of types a and b read the same prepared rows.
bool same_prepared_format(DType a, DType b);
// Prepares one row x [K] for weights of this type into out [prepared_row_bytes] (a no-op for floats).
void prepare_row(DType weight, const float* x, int64_t K, uint8_t* out);
// y[t, n] for t < T, n in [n0, n1), bit-identical to matmul_nt's (single-threaded; the best SIMD
// level). Ranges should start at multiples of 16 rows, as matmul_nt's threads' do.
void matmul_nt_rows(const PreparedRows& in, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1);

// The best level this processor supports (read once).
SimdLevel default_simd_level();

void matmul_nt_ref(const float* x, int64_t T, const WeightMatrix& w, float* y);
void matmul_nn_ref(const float* x, int64_t T, const WeightMatrix& w, float* y);

// Dot product with 16 independent partial sums (vectorizes without -ffast-math).
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace scout::cpu
