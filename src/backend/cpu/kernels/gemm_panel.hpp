// Row-panel int8 products: kPanelRows weight rows at once, one SIMD lane per row.
//   y[t * ys + r] = Σ_i w_r[i] · a_t[i]    for r < rows (<= kPanelRows), t < T,
// w_r = the row at w + r * w_stride bytes (nb blocks), a_t = the quantized activation row at
// a + t * a_stride bytes (q8_activations.hpp).
//
// Why: the per-row kernels (vec_dot.hpp) scale each block's integer sums in float once per
// (row, token, block), which dominated prefill. Here a panel's weights are first repacked into
// scratch so that one vpdpbusd multiplies 4 weights of each of 16 rows by 4 broadcast
// activations; each block's exact int32 sums then meet their scales as one 16-row vector.
//
// Operation order per output (the same for every T, panel position and thread count):
//   Q8_0, Q4_0: acc[b % 2] = fma(float(S_b), d_w,b * d_a,b, acc[b % 2]) for b = 0..nb-1, S_b
//               the block's exact integer dot product; y = acc[0] + acc[1] (two chains, so a
//               decode step does not wait on the FMA latency at every block).
//   Q4_K, Q5_K: per super-block b, the exact integer sums S_b = Σ_j sc_j Σ_{i in j} q_i a_i and
//               M_b = Σ_j m_j Σ_{i in j} a_i (j: the eight 32-value sub-blocks), then
//               acc = fma(float(S_b), d · d_a, acc); acc = fnmadd(float(M_b), dmin · d_a, acc).
//   Q6_K:       S_b = Σ_j sc_j Σ_{i in j} q_i a_i - 32 Σ_j sc_j Σ_{i in j} a_i (j: the sixteen
//               16-value sub-blocks, q the stored value + 32), then acc = fma(float(S_b), d · d_a, acc).
// Only the AVX-512 (VNNI) level has panel kernels (all five types). Its per-row kernels (vec_dot.hpp) follow the
// same order, so matmul_nt_quant may use either for any batch and a row's result never depends
// on its batch (decode stays on the row kernels: repacking does not pay for one token).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/cpu_features.hpp"
#include "base/dtype.hpp"

namespace scout::cpu {

inline constexpr int kPanelRows = 16;

using PanelFn = void (*)(int64_t nb, const void* w, std::size_t w_stride, int rows, const void* a,
                         std::size_t a_stride, int64_t T, float* y, int64_t ys, uint8_t* scratch);

struct PanelKernel {
    PanelFn fn;
    std::size_t scratch_per_block;  // scratch bytes the repacked panel needs per weight block
    int64_t min_tokens;             // batches from this size up gain from the panel
};

// The panel kernel for a weight type at a level, or nullptr (the per-row tiles apply).
const PanelKernel* panel_kernel(DType weight, SimdLevel level);

namespace detail {
const PanelKernel* panel_kernel_avx512(DType weight);
}  // namespace detail

}  // namespace scout::cpu
