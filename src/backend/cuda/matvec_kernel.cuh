// The decode mat-vec (ops.hpp: matvec_jobs), included by one small .cu file per weight format
// (ops_matvec_q4k.cu, ops_matvec_q6k.cu, ops_matvec_q8_0.cu) so that nvcc compiles the formats in
// parallel. Internal to src/backend/cuda.
//
// Layout. A block is kMvWarps warps; a warp owns R weight rows (adjacent rows, or R/2 gate rows and
// the same R/2 up rows in pair mode) and walks their K in "steps". In a step each lane loads the raw
// bytes of one piece of a block of every one of its R rows (Q4_K: the 16-byte head and 16 of the
// 128 nibble bytes of one of 4 super-blocks, so one warp load covers 4 super-blocks' nibbles; Q6_K:
// 8 bytes each of ql, ql+32 and qh plus the scales of one of 4 super-blocks; Q8_0: 8 quants of one
// of 8 blocks), decodes 32 (Q8_0: 8) weights of each row in pieces of 8 and multiplies each piece
// by up to NT activation rows whose floats it reads once for all R rows (two float4 per piece and
// row). With NT = 1 the next step's raw bytes are loaded before this step is decoded (two steps of
// bytes in flight per warp).
//
// Decoded values are bit-identical to quant::dequantize_row (decode_chunk): Q4_K's
// fsub(fmul(d·sc, q), dmin·m) is computed as one fma(d·sc, q, -dmin·m), which rounds once to
// the same float because d·sc (<= 17 significant bits) times q (<= 5 bits) is exact in float32;
// small integers become floats exactly through the 2^23 trick. Only the summation order differs
// from the CPU.
//
// Rows of a product t0 .. t1 (a group's rows, or all T) run in chunks of NT; each chunk re-reads
// the warp's weight rows (from L1/L2 after the first chunk), so any number of rows per group works.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/ops.hpp"
#include "backend/cuda/matvec_traits.cuh"
#include "backend/cuda/quant_device.cuh"

namespace scout::cuda::mv {

constexpr int kMvWarps = 4;  // warps per block (small blocks: the block scheduler balances the SMs)

// One product of a launch (device view of MatvecJob).
struct JobDev {
    const uint8_t* w;   // weights (expert 0)
    const uint8_t* w2;  // pair mode: the up weights; nullptr otherwise
    const float* x;
    float* y;
    const int32_t* g_expert;  // nullptr: one group of T rows, expert 0
    const int32_t* g_offset;
    int64_t T, K, N;
    std::size_t row_bytes, expert_bytes;
    int row_blocks;  // blocks per group slot
    int block0;      // first block of this job in the grid
};

struct Params {
    JobDev job[kMatvecMaxJobs];
    int n_jobs;
};

__device__ __forceinline__ float mv_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// silu(g) · u exactly as silu_mul (ops_elementwise.cu).
__device__ __forceinline__ float silu_times(float g, float u) {
    return __fmul_rn(__fdiv_rn(g, __fadd_rn(1.0f, expf(-g))), u);
}

// Register caps (blocks per SM): 20 warps per SM at one activation row, 16 at eight.
template <int NT>
inline constexpr int kMvMinBlocks = NT == 1 ? 5 : 4;

template <DType DT, int NT, int R>
__global__ void __launch_bounds__(kMvWarps * 32, kMvMinBlocks<NT>) matvec_jobs_kernel(const __grid_constant__ Params p) {
    using Tr = Traits<DT>;
    constexpr bool kPrefetch = NT == 1;
    const int bid = static_cast<int>(blockIdx.x);
    int ji = 0;
#pragma unroll
    for (int i = 1; i < kMatvecMaxJobs; ++i)
        if (i < p.n_jobs && bid >= p.job[i].block0) ji = i;
    const JobDev& J = p.job[ji];
    const int local = bid - J.block0;
    const int slot = local / J.row_blocks, rb = local - slot * J.row_blocks;
    int64_t r0 = 0, r1 = J.T;
    int64_t e = 0;
    if (J.g_offset != nullptr) {
        r0 = J.g_offset[slot];
        r1 = J.g_offset[slot + 1];
        e = J.g_expert[slot];
        if (r0 >= r1) return;
    }
    const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
    const bool pair = J.w2 != nullptr;  // host: only with R even
    const int ro = pair ? R / 2 : R;    // outputs per warp
    const int64_t n0 = (static_cast<int64_t>(rb) * kMvWarps + warp) * ro;
    if (n0 >= J.N) return;  // whole warp; no block-wide barrier below
    const uint8_t* rows[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const bool second = pair && r >= R / 2;
        int64_t n = n0 + (second ? r - R / 2 : r);
        if (n >= J.N) n = J.N - 1;  // a valid row; its result is not stored
        rows[r] = (second ? J.w2 : J.w) + static_cast<std::size_t>(e) * J.expert_bytes +
                  static_cast<std::size_t>(n) * J.row_bytes;
    }
    const int64_t steps = Tr::n_steps(J.K), K = J.K;
    for (int64_t t0 = r0; t0 < r1; t0 += NT) {
        const int nt = r1 - t0 < NT ? static_cast<int>(r1 - t0) : NT;
        const float* xr = J.x + t0 * K;
        float acc[NT][R];
#pragma unroll
        for (int t = 0; t < NT; ++t)
#pragma unroll
            for (int r = 0; r < R; ++r) acc[t][r] = 0.0f;
        typename Tr::Raw cur[R];
        bool act = Tr::active(K, 0, lane);
        if (act) {
#pragma unroll
            for (int r = 0; r < R; ++r) cur[r] = Tr::load(rows[r], 0, lane);
        }
        for (int64_t s = 0; s < steps; ++s) {
            const bool act_next = s + 1 < steps && Tr::active(K, s + 1, lane);
            typename Tr::Raw nxt[R];
            if constexpr (kPrefetch) {
                if (act_next) {
#pragma unroll
                    for (int r = 0; r < R; ++r) nxt[r] = Tr::load(rows[r], s + 1, lane);
                }
            }
            if (act) {
                typename Tr::Dec dec[R];
#pragma unroll
                for (int r = 0; r < R; ++r) dec[r] = Tr::prepare(cur[r], rows[r], s, lane);
#pragma unroll
                for (int q = 0; q < Tr::kPieces; ++q) {
                    float w[R][8];
#pragma unroll
                    for (int r = 0; r < R; ++r) Tr::piece(cur[r], dec[r], q, w[r]);
                    const int64_t off = Tr::x_off(s, lane, q);
#pragma unroll
                    for (int t = 0; t < NT; ++t) {
                        if (t >= nt) continue;
                        const float4* xp = reinterpret_cast<const float4*>(xr + t * K + off);
                        const float4 xa = __ldg(xp), xb = __ldg(xp + 1);
#pragma unroll
                        for (int r = 0; r < R; ++r) {
                            float v = acc[t][r];
                            v = fmaf(w[r][0], xa.x, v), v = fmaf(w[r][1], xa.y, v), v = fmaf(w[r][2], xa.z, v);
                            v = fmaf(w[r][3], xa.w, v), v = fmaf(w[r][4], xb.x, v), v = fmaf(w[r][5], xb.y, v);
                            v = fmaf(w[r][6], xb.z, v), v = fmaf(w[r][7], xb.w, v);
                            acc[t][r] = v;
                        }
                    }
                }
            }
            if constexpr (kPrefetch) {
#pragma unroll
                for (int r = 0; r < R; ++r) cur[r] = nxt[r];
            } else if (act_next) {
#pragma unroll
                for (int r = 0; r < R; ++r) cur[r] = Tr::load(rows[r], s + 1, lane);
            }
            act = act_next;
        }
#pragma unroll
        for (int t = 0; t < NT; ++t) {
            if (t >= nt) continue;
            float sum[R];
#pragma unroll
            for (int r = 0; r < R; ++r) sum[r] = mv_warp_sum(acc[t][r]);
            float* yrow = J.y + (t0 + t) * J.N;
            if (pair) {
#pragma unroll
                for (int r = 0; r < R / 2; ++r)
                    if (lane == r && n0 + r < J.N) yrow[n0 + r] = silu_times(sum[r], sum[r + R / 2]);
            } else {
#pragma unroll
                for (int r = 0; r < R; ++r)
                    if (lane == r && n0 + r < J.N) yrow[n0 + r] = sum[r];
            }
        }
    }
}

// Launches the kernel of this format for (nt, r) = (1, 2) or (8, 2), and with SCOUT_MV_VARIANTS
// (1, 1) for benchmarks; false when not instantiated. (Four rows per warp spill under the caps.)
template <DType DT>
bool launch(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream) {
    const auto go = [&](auto kernel) {
        kernel<<<grid, kMvWarps * 32, 0, stream>>>(p);
        check_launch("matvec_jobs_kernel");
        return true;
    };
    if (nt == 1) {
        if (r == 2) return go(matvec_jobs_kernel<DT, 1, 2>);
#ifdef SCOUT_MV_VARIANTS
        if (r == 1) return go(matvec_jobs_kernel<DT, 1, 1>);
#endif
    } else if (nt == 8) {
        if (r == 2) return go(matvec_jobs_kernel<DT, 8, 2>);
    }
    return false;
}

bool launch_q4_k(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream);
bool launch_q6_k(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream);
bool launch_q8_0(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream);

}  // namespace scout::cuda::mv
