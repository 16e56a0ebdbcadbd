// Matrix products against weights in their stored format (ops.hpp: matmul). Three kernels:
//  - matvec: one warp per output row, up to 8 activation rows per weight read; each lane decodes
//    whole chunks (16-byte loads where the format allows) and the warp reduces with shuffles.
//    This is the decode path and must run at HBM bandwidth.
//  - tiled: a 64x64 output tile per block; a 64-wide slice of K of 64 weight rows is decoded once
//    into shared memory and reused by 64 activation rows (prefill, batched decode).
//  - nn: the HF expert layout (x·W, float weights): one thread per output column.
// All three take row groups (MoE: one expert per group) and skip empty groups on the device.
#include <algorithm>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/ops.hpp"
#include "backend/cuda/quant_device.cuh"
#include "quant/quant.hpp"

namespace scout::cuda {

namespace {

constexpr int kMatvecWarps = 8;   // output rows per mat-vec block
constexpr int kMatvecRows = 8;    // activation rows per weight read (mat-vec with T > 1)
constexpr int kMatvecMaxT = 8;    // up to this many rows the mat-vec kernel is used
constexpr int kTileM = 64, kTileN = 64, kTileK = 64;  // tiled kernel: weight rows, activation rows, K slice

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

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// acc += Σ_i w[i] · x[i] over the chunk's CH elements (elements at or beyond `left` are absent).
template <int CH>
__device__ __forceinline__ float dot_chunk(const float* w, const float* __restrict__ x, int64_t left, bool aligned,
                                           float acc) {
    if (aligned && left >= CH) {
#pragma unroll
        for (int i = 0; i < CH; i += 4) {
            const float4 v = __ldg(reinterpret_cast<const float4*>(x + i));
            acc = fmaf(w[i], v.x, acc);
            acc = fmaf(w[i + 1], v.y, acc);
            acc = fmaf(w[i + 2], v.z, acc);
            acc = fmaf(w[i + 3], v.w, acc);
        }
    } else {
#pragma unroll
        for (int i = 0; i < CH; ++i)
            if (i < left) acc = fmaf(w[i], __ldg(x + i), acc);
    }
    return acc;
}

template <DType DT, int NT>
__global__ void __launch_bounds__(kMatvecWarps * 32) matvec_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.y), r0, r1, e)) return;
    const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
    const int64_t n = static_cast<int64_t>(blockIdx.x) * kMatvecWarps + warp;
    if (n >= a.N) return;
    constexpr int CH = kChunk<DT>;
    const uint8_t* wrow = a.w + static_cast<std::size_t>(e) * a.expert_bytes + static_cast<std::size_t>(n) * a.row_bytes;
    const int64_t n_chunks = (a.K + CH - 1) / CH;
    for (int64_t t0 = r0; t0 < r1; t0 += NT) {
        const int64_t nt = r1 - t0 < NT ? r1 - t0 : NT;
        float acc[NT];
#pragma unroll
        for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
        for (int64_t c = lane; c < n_chunks; c += 32) {
            float wv[CH];
            decode_chunk<DT>(wrow, c, a.K, a.w_aligned, wv);
#pragma unroll
            for (int t = 0; t < NT; ++t)
                if (t < nt) acc[t] = dot_chunk<CH>(wv, a.x + (t0 + t) * a.K + c * CH, a.K - c * CH, a.x_aligned, acc[t]);
        }
#pragma unroll
        for (int t = 0; t < NT; ++t) {
            const float s = warp_sum(acc[t]);
            if (lane == 0 && t < nt) a.y[(t0 + t) * a.N + n] = s;
        }
    }
}

template <DType DT>
__global__ void __launch_bounds__(256) tiled_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.z), r0, r1, e)) return;
    const int64_t tok0 = r0 + static_cast<int64_t>(blockIdx.y) * kTileN;
    if (tok0 >= r1) return;  // this group has fewer rows than the grid allows for
    const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTileM;
    constexpr int CH = kChunk<DT>;
    constexpr int kChunksPerRow = kTileK / CH;
    // Padded by one column: the transposed stores and the column reads hit distinct banks.
    __shared__ float ws[kTileK][kTileM + 1];  // [k, weight row]
    __shared__ float xs[kTileK][kTileN + 1];  // [k, activation row]
    const int tid = static_cast<int>(threadIdx.x);
    const int tm = tid % 16, tn = tid / 16;  // this thread's 4 weight rows and 4 activation rows
    float acc[4][4] = {};
    const uint8_t* wbase = a.w + static_cast<std::size_t>(e) * a.expert_bytes;
    for (int64_t k0 = 0; k0 < a.K; k0 += kTileK) {
        for (int task = tid; task < kTileM * kChunksPerRow; task += 256) {
            const int r = task / kChunksPerRow, cc = task % kChunksPerRow;
            const int64_t n = n0 + r, c = k0 / CH + cc;
            float wv[CH];
            if (n < a.N && c * CH < a.K) {
                decode_chunk<DT>(wbase + static_cast<std::size_t>(n) * a.row_bytes, c, a.K, a.w_aligned, wv);
            } else {
#pragma unroll
                for (int i = 0; i < CH; ++i) wv[i] = 0.0f;
            }
#pragma unroll
            for (int i = 0; i < CH; ++i) ws[cc * CH + i][r] = wv[i];
        }
        for (int idx = tid; idx < kTileN * kTileK; idx += 256) {
            const int tt = idx / kTileK, kk = idx % kTileK;
            const int64_t t = tok0 + tt, k = k0 + kk;
            xs[kk][tt] = (t < r1 && k < a.K) ? a.x[t * a.K + k] : 0.0f;
        }
        __syncthreads();
#pragma unroll 4
        for (int kk = 0; kk < kTileK; ++kk) {
            float wr[4], xr[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) wr[i] = ws[kk][tm * 4 + i], xr[i] = xs[kk][tn * 4 + i];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(wr[i], xr[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int64_t t = tok0 + tn * 4 + j;
        if (t >= r1) continue;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int64_t n = n0 + tm * 4 + i;
            if (n < a.N) a.y[t * a.N + n] = acc[i][j];
        }
    }
}

template <DType DT>
__device__ __forceinline__ float load_float_elem(const uint8_t* base, int64_t i) {
    if constexpr (DT == DType::F32) return reinterpret_cast<const float*>(base)[i];
    else if constexpr (DT == DType::F16) return f16_bits_to_f32(reinterpret_cast<const uint16_t*>(base)[i]);
    else return bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(base)[i]);
}

template <DType DT>
__global__ void __launch_bounds__(256) nn_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.y), r0, r1, e)) return;
    const int64_t n = static_cast<int64_t>(blockIdx.x) * 256 + threadIdx.x;
    if (n >= a.N) return;
    const uint8_t* wb = a.w + static_cast<std::size_t>(e) * a.expert_bytes;
    constexpr int NT = 8;
    for (int64_t t0 = r0; t0 < r1; t0 += NT) {
        const int64_t nt = r1 - t0 < NT ? r1 - t0 : NT;
        float acc[NT] = {};
        for (int64_t k = 0; k < a.K; ++k) {
            const float wv = load_float_elem<DT>(wb, k * a.ld + a.col0 + n);
#pragma unroll
            for (int t = 0; t < NT; ++t)
                if (t < nt) acc[t] = fmaf(__ldg(a.x + (t0 + t) * a.K + k), wv, acc[t]);
        }
#pragma unroll
        for (int t = 0; t < NT; ++t)
            if (t < nt) a.y[(t0 + t) * a.N + n] = acc[t];
    }
}

MatArgs make_args(const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& g) {
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

void check_matrix(const DeviceMatrix& w, const RowGroups& g) {
    check(w.data != nullptr && w.in > 0 && w.out > 0, "matmul: empty weight matrix");
    check(g.offset == nullptr || g.n_slots > 0, "matmul: row groups without slots");
    if (w.transposed) {
        check(w.in % quant::block_size(w.dtype) == 0,
              cat("matmul: rows of ", w.in, " values cannot hold ", dtype_name(w.dtype), " blocks"));
        check(w.row_bytes == quant::row_size(w.dtype, w.in), "matmul: row_bytes disagrees with the dtype");
    }
}

}  // namespace

void matmul_kernel(int kind, const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups,
                   cudaStream_t stream) {
    if (T <= 0) return;
    check_matrix(w, groups);
    const MatArgs a = make_args(x, T, w, y, groups);
    const unsigned slots = groups.offset ? static_cast<unsigned>(groups.n_slots) : 1u;
    if (!w.transposed) {
        dispatch_float_dtype(w.dtype, "matmul (x·W layout)", [&](auto tag) {
            constexpr DType DT = decltype(tag)::value;
            nn_kernel<DT><<<dim3(grid_1d(w.out, 256), slots), 256, 0, stream>>>(a);
            check_launch("nn_kernel");
        });
        return;
    }
    dispatch_weight_dtype(w.dtype, "matmul", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        if (kind == 0) {
            const dim3 grid(grid_1d(w.out, kMatvecWarps), slots);
            if (T == 1) matvec_kernel<DT, 1><<<grid, kMatvecWarps * 32, 0, stream>>>(a);
            else matvec_kernel<DT, kMatvecRows><<<grid, kMatvecWarps * 32, 0, stream>>>(a);
            check_launch("matvec_kernel");
        } else {
            const dim3 grid(grid_1d(w.out, kTileM), grid_1d(T, kTileN), slots);
            tiled_kernel<DT><<<grid, 256, 0, stream>>>(a);
            check_launch("tiled_kernel");
        }
    });
}

void matmul(const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups, cudaStream_t stream) {
    matmul_kernel(T <= kMatvecMaxT ? 0 : 1, x, T, w, y, groups, stream);
}

}  // namespace scout::cuda
