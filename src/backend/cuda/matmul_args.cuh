// The arguments every product kernel against stored weights takes (ops_matmul.cu: mat-vec, tiled,
// x·W; ops_matmul_tc.cu: tensor cores), built once on the host from a DeviceMatrix and RowGroups.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cuda/ops.hpp"
#include "backend/cuda/quant_device.cuh"
#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::cuda::detail {

struct MatArgs {
    const float* x;
    float* y;
    const uint8_t* w;
    int64_t T, K, N;
    std::size_t row_bytes, expert_bytes;
    int64_t ld, col0;  // nn layout
    const int32_t* g_expert;
    const int32_t* g_offset;
    bool w_aligned;  // rows 16-byte aligned and K a multiple of 8 (float vector loads)
    bool x_aligned;  // activation rows 16-byte aligned (K a multiple of 4)
};

// Rows [r0, r1) and expert e of group `slot`; false for an empty group.
__device__ __forceinline__ bool group_range(const MatArgs& a, int slot, int64_t& r0, int64_t& r1, int& e) {
    if (a.g_offset == nullptr) {
        r0 = 0, r1 = a.T, e = 0;
        return true;
    }
    r0 = a.g_offset[slot], r1 = a.g_offset[slot + 1];
    e = a.g_expert[slot];
    return r0 < r1;
}

// Chunk c of weight row n (kChunk<DT> values, decode_chunk) from wbase (the group's expert), or
// zeros for a row past N or a chunk past K: the tile loaders of the tiled and tensor-core kernels.
template <DType DT>
__device__ __forceinline__ void decode_weight_chunk(const MatArgs& a, const uint8_t* wbase, int64_t n, int64_t c,
                                                    float* wv) {
    if (n < a.N && c * kChunk<DT> < a.K) {
        decode_chunk<DT>(wbase + static_cast<std::size_t>(n) * a.row_bytes, c, a.K, a.w_aligned, wv);
    } else {
#pragma unroll
        for (int i = 0; i < kChunk<DT>; ++i) wv[i] = 0.0f;
    }
}

inline MatArgs make_args(const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& g) {
    MatArgs a{};
    a.x = x;
    a.y = y;
    a.w = static_cast<const uint8_t*>(w.data);
    a.T = T;
    a.K = w.in;
    a.N = w.out;
    a.row_bytes = w.row_bytes;
    a.expert_bytes = w.expert_bytes;
    a.ld = w.ld;
    a.col0 = w.col0;
    a.g_expert = g.expert;
    a.g_offset = g.offset;
    const auto addr = reinterpret_cast<std::uintptr_t>(w.data);
    a.w_aligned = addr % 16 == 0 && w.row_bytes % 16 == 0 && w.in % 8 == 0 && w.expert_bytes % 16 == 0;
    a.x_aligned = reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && w.in % 4 == 0;
    return a;
}

inline void check_matrix(const DeviceMatrix& w, const RowGroups& g) {
    check(w.data != nullptr && w.in > 0 && w.out > 0, "matmul: empty weight matrix");
    check(g.offset == nullptr || g.n_slots > 0, "matmul: row groups without slots");
    if (w.transposed) {
        check(w.in % quant::block_size(w.dtype) == 0,
              cat("matmul: rows of ", w.in, " values cannot hold ", dtype_name(w.dtype), " blocks"));
        check(w.row_bytes == quant::row_size(w.dtype, w.in), "matmul: row_bytes disagrees with the dtype");
    }
}

// y = x · Wᵀ on bf16 tensor cores (ops_matmul_tc.cu): weights decoded and activations rounded to
// bf16 (round to nearest even), products accumulated in float32. Transposed layout only.
void matmul_tensor_cores(const MatArgs& a, DType dtype, unsigned slots, cudaStream_t stream);

}  // namespace scout::cuda::detail
