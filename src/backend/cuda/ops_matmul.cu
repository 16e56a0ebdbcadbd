// Matrix products against weights in their stored format (ops.hpp: matmul). The decode mat-vec of
// K-quant / Q8_0 weights is matvec_jobs (ops_matvec.cu); here the generic kernels:
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
#include "backend/cuda/matmul_args.cuh"
#include "backend/cuda/ops.hpp"
#include "backend/cuda/quant_device.cuh"
#include "quant/quant.hpp"

namespace scout::cuda {

namespace {

using detail::MatArgs;
using detail::group_range;

constexpr int kMatvecWarps = 8;   // output rows per mat-vec block
constexpr int kMatvecRows = 8;    // activation rows per weight read (mat-vec with T > 1)
constexpr int kMatvecMaxT = 8;    // up to this many rows the mat-vec kernel is used
// matvec_jobs (K-quants, Q8_0) runs chunks of 8 rows, re-reading the weights per chunk: up to these
// many rows it beats the tiled kernel (grouped: the MoE experts of a decode step, each expert's
// weights read once per 8 of its rows instead of a 64-row tile per expert).
constexpr int64_t kDenseMatvecMaxT = 16;  // H200, 8192x5120 Q4_K: 191 us against tiled 324 at 16 rows; 375 / 338 at 32
constexpr int64_t kGroupedMatvecMaxT = 256;
constexpr int64_t kSmallN = 64;   // float weights with at most this many output rows: small_n_kernel
constexpr int kTileM = 64, kTileN = 64, kTileK = 64;  // tiled kernel: weight rows, activation rows, K slice

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

// ---- K-quant mat-vec (Q4_K, Q5_K, Q6_K): lane l of a warp owns elements 8l..8l+7 of every
// 256-element super-block, so the warp's activation loads are 1 KB contiguous (two float4 per
// lane) and its weight loads cover one block's bytes; kSbUnroll super-blocks' raw bytes are
// loaded before any is decoded (bytes in flight per warp: kSbUnroll blocks). The decoded values
// are those of decode_chunk (same __fmul_rn/__fsub_rn products); small integers become floats
// exactly through the 2^23 trick (int->float conversions run at 1/8 of the FP32 rate).
constexpr int kSbUnroll = 4;

struct RawK {
    uint4 head;   // Q4_K/Q5_K: d, dmin, scales[12]
    uint2 qs;     // Q4_K/Q5_K: this lane's 8 nibble bytes; Q6_K: 8 ql bytes
    uint2 qh;     // Q5_K: 8 high-bit bytes; Q6_K: 8 qh bytes
    uint32_t sd;  // Q6_K: d (low 16 bits) and the lane's int8 scale (bits 16..23)
};

__device__ __forceinline__ float small_uint_to_float(uint32_t word, int j) {  // byte j of word, exactly
    return __fsub_rn(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440u | static_cast<unsigned>(j))), 8388608.0f);
}

__device__ __forceinline__ uint32_t load_u32_from_u16(const uint8_t* p) {  // 2-byte aligned
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16);
}

template <DType DT>
__device__ __forceinline__ RawK load_raw_k(const uint8_t* __restrict__ row, int64_t sb, int lane) {
    RawK r{};
    const int i0 = (lane & 3) * 8;
    if constexpr (DT == DType::Q4_K || DT == DType::Q5_K) {
        constexpr int kBytes = DT == DType::Q4_K ? 144 : 176;
        constexpr int kQs = DT == DType::Q4_K ? 16 : 48;
        const uint8_t* b = row + sb * kBytes;
        const int s = lane >> 2;
        r.head = __ldg(reinterpret_cast<const uint4*>(b));
        r.qs = __ldg(reinterpret_cast<const uint2*>(b + kQs + 32 * (s >> 1) + i0));
        if constexpr (DT == DType::Q5_K) r.qh = __ldg(reinterpret_cast<const uint2*>(b + 16 + i0));
    } else {  // Q6_K: ql[128], qh[64], scales[16], d; blocks only 2-byte aligned
        const uint8_t* b = row + sb * 210;
        const int half = lane >> 4, qd = (lane >> 2) & 3;
        const uint8_t* ql = b + 64 * half + 32 * (qd & 1) + i0;
        const uint8_t* qh = b + 128 + 32 * half + i0;
        r.qs = make_uint2(load_u32_from_u16(ql), load_u32_from_u16(ql + 4));
        r.qh = make_uint2(load_u32_from_u16(qh), load_u32_from_u16(qh + 4));
        const uint32_t sc = b[192 + 8 * half + 2 * qd + (i0 >= 16 ? 1 : 0)];
        r.sd = static_cast<uint32_t>(load_u16(b + 208)) | (sc << 16);
    }
    return r;
}

// The lane's 8 weights of the super-block whose raw bytes are r.
template <DType DT>
__device__ __forceinline__ void decode_raw_k(const RawK& r, int lane, float* w) {
    if constexpr (DT == DType::Q4_K || DT == DType::Q5_K) {
        const int s = lane >> 2;
        const float d = f16_bits_to_f32(static_cast<uint16_t>(r.head.x & 0xFFFF));
        const float dmin = f16_bits_to_f32(static_cast<uint16_t>(r.head.x >> 16));
        // scales bytes q[0..11] = head.y, head.z, head.w (quant::unpack_scale_min_k4)
        const uint32_t q03 = r.head.y, q47 = r.head.z, q811 = r.head.w;
        const auto byte = [](uint32_t v, int i) { return static_cast<int>((v >> (8 * i)) & 0xFF); };
        int sc, m;
        if (s < 4) {
            sc = byte(q03, s) & 63;
            m = byte(q47, s) & 63;
        } else {
            sc = (byte(q811, s - 4) & 0x0F) | ((byte(q03, s - 4) >> 6) << 4);
            m = (byte(q811, s - 4) >> 4) | ((byte(q47, s - 4) >> 6) << 4);
        }
        const float d1 = __fmul_rn(d, small_uint_to_float(static_cast<uint32_t>(sc), 0));
        const float m1 = __fmul_rn(dmin, small_uint_to_float(static_cast<uint32_t>(m), 0));
        const int shift = (s & 1) * 4;
        const uint32_t q[2] = {r.qs.x, r.qs.y};
        const uint32_t h[2] = {r.qh.x, r.qh.y};
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            uint32_t v = (q[i] >> shift) & 0x0F0F0F0Fu;
            if constexpr (DT == DType::Q5_K) v |= ((h[i] >> s) & 0x01010101u) << 4;
#pragma unroll
            for (int j = 0; j < 4; ++j) w[4 * i + j] = __fsub_rn(__fmul_rn(d1, small_uint_to_float(v, j)), m1);
        }
    } else {
        const int qd = (lane >> 2) & 3;
        const int lshift = (qd >> 1) * 4, hshift = 2 * qd;
        const float d = f16_bits_to_f32(static_cast<uint16_t>(r.sd & 0xFFFF));
        const float sc = static_cast<float>(static_cast<int8_t>((r.sd >> 16) & 0xFF));
        const float ds = __fmul_rn(d, sc);
        const uint32_t l[2] = {r.qs.x, r.qs.y}, hh[2] = {r.qh.x, r.qh.y};
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            const uint32_t v = ((l[i] >> lshift) & 0x0F0F0F0Fu) | (((hh[i] >> hshift) & 0x03030303u) << 4);
#pragma unroll
            for (int j = 0; j < 4; ++j)  // q - 32, exactly: (2^23 + q) - (2^23 + 32)
                w[4 * i + j] = __fmul_rn(
                    ds, __fsub_rn(__uint_as_float(__byte_perm(v, 0x4B000000u, 0x7440u | static_cast<unsigned>(j))),
                                  8388640.0f));
        }
    }
}

template <DType DT, int NT>
__global__ void __launch_bounds__(kMatvecWarps * 32, NT == 1 ? 4 : 2) matvec_kquant_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.y), r0, r1, e)) return;
    const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
    const int64_t n = static_cast<int64_t>(blockIdx.x) * kMatvecWarps + warp;
    if (n >= a.N) return;
    const uint8_t* wrow = a.w + static_cast<std::size_t>(e) * a.expert_bytes + static_cast<std::size_t>(n) * a.row_bytes;
    const int64_t nb = a.K / 256;
    for (int64_t t0 = r0; t0 < r1; t0 += NT) {
        const int64_t nt = r1 - t0 < NT ? r1 - t0 : NT;
        float acc[NT];
#pragma unroll
        for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
        for (int64_t sb0 = 0; sb0 < nb; sb0 += kSbUnroll) {
            RawK raw[kSbUnroll];
#pragma unroll
            for (int u = 0; u < kSbUnroll; ++u)
                if (sb0 + u < nb) raw[u] = load_raw_k<DT>(wrow, sb0 + u, lane);
#pragma unroll
            for (int u = 0; u < kSbUnroll; ++u) {
                if (sb0 + u >= nb) continue;
                float wv[8];
                decode_raw_k<DT>(raw[u], lane, wv);
                const int64_t k0 = (sb0 + u) * 256 + 8 * lane;
#pragma unroll
                for (int t = 0; t < NT; ++t) {
                    if (t >= nt) continue;
                    const float4* xp = reinterpret_cast<const float4*>(a.x + (t0 + t) * a.K + k0);
                    const float4 xa = __ldg(xp), xb = __ldg(xp + 1);
                    float s = acc[t];
                    s = fmaf(wv[0], xa.x, s), s = fmaf(wv[1], xa.y, s), s = fmaf(wv[2], xa.z, s), s = fmaf(wv[3], xa.w, s);
                    s = fmaf(wv[4], xb.x, s), s = fmaf(wv[5], xb.y, s), s = fmaf(wv[6], xb.z, s), s = fmaf(wv[7], xb.w, s);
                    acc[t] = s;
                }
            }
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
            detail::decode_weight_chunk<DT>(a, wbase, n, c, wv);
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

// Few output rows of float weights (the MoE router: 16 rows): a block per output row, its 256
// threads splitting K in 8-element chunks, one block-wide reduction per activation row (a
// warp-per-row kernel would leave all but N/8 SMs idle).
constexpr int kSmallNThreads = 256;

template <DType DT>
__global__ void __launch_bounds__(kSmallNThreads) small_n_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.y), r0, r1, e)) return;
    __shared__ float part[kSmallNThreads / 32][kMatvecRows];
    const int tid = static_cast<int>(threadIdx.x), warp = tid >> 5, lane = tid & 31;
    const int64_t n = blockIdx.x;
    constexpr int CH = kChunk<DT>;
    const uint8_t* wrow = a.w + static_cast<std::size_t>(e) * a.expert_bytes + static_cast<std::size_t>(n) * a.row_bytes;
    const int64_t n_chunks = (a.K + CH - 1) / CH;
    for (int64_t t0 = r0; t0 < r1; t0 += kMatvecRows) {
        const int64_t nt = r1 - t0 < kMatvecRows ? r1 - t0 : kMatvecRows;
        float acc[kMatvecRows];
#pragma unroll
        for (int t = 0; t < kMatvecRows; ++t) acc[t] = 0.0f;
        for (int64_t c = tid; c < n_chunks; c += kSmallNThreads) {
            float wv[CH];
            decode_chunk<DT>(wrow, c, a.K, a.w_aligned, wv);
#pragma unroll
            for (int t = 0; t < kMatvecRows; ++t)
                if (t < nt) acc[t] = dot_chunk<CH>(wv, a.x + (t0 + t) * a.K + c * CH, a.K - c * CH, a.x_aligned, acc[t]);
        }
#pragma unroll
        for (int t = 0; t < kMatvecRows; ++t) {
            const float s = warp_sum(acc[t]);
            if (lane == 0) part[warp][t] = s;
        }
        __syncthreads();
        if (tid < nt) {
            float s = 0.0f;
#pragma unroll
            for (int w = 0; w < kSmallNThreads / 32; ++w) s += part[w][tid];
            a.y[(t0 + tid) * a.N + n] = s;
        }
        __syncthreads();
    }
}

}  // namespace

void matmul_kernel(int kind, const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups,
                   cudaStream_t stream) {
    if (T <= 0) return;
    detail::check_matrix(w, groups);
    const MatArgs a = detail::make_args(x, T, w, y, groups);
    const unsigned slots = groups.offset ? static_cast<unsigned>(groups.n_slots) : 1u;
    if (!w.transposed) {
        dispatch_float_dtype(w.dtype, "matmul (x·W layout)", [&](auto tag) {
            constexpr DType DT = decltype(tag)::value;
            nn_kernel<DT><<<dim3(grid_1d(w.out, 256), slots), 256, 0, stream>>>(a);
            check_launch("nn_kernel");
        });
        return;
    }
    if (kind == 4) {
        detail::matmul_tensor_cores(a, w.dtype, slots, stream);
        return;
    }
    if (kind == 0 && matvec_supported(w) && a.x_aligned && reinterpret_cast<std::uintptr_t>(x) % 16 == 0) {
        MatvecJob job;
        job.w = &w;
        job.x = x;
        job.T = T;
        job.y = y;
        job.groups = groups;
        matvec_jobs(&job, 1, stream);
        return;
    }
    if (kind == 3) {
        dispatch_float_dtype(w.dtype, "matmul (few output rows)", [&](auto tag) {
            constexpr DType DT = decltype(tag)::value;
            small_n_kernel<DT><<<dim3(static_cast<unsigned>(w.out), slots), kSmallNThreads, 0, stream>>>(a);
            check_launch("small_n_kernel");
        });
        return;
    }
    dispatch_weight_dtype(w.dtype, "matmul", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        if (kind == 0 || kind == 2) {
            const dim3 grid(grid_1d(w.out, kMatvecWarps), slots);
            constexpr bool kquant = DT == DType::Q4_K || DT == DType::Q5_K || DT == DType::Q6_K;
            if constexpr (kquant) {
                if (a.x_aligned) {  // K is a multiple of 256 (checked), so of 8: float4 loads
                    if (T == 1) matvec_kquant_kernel<DT, 1><<<grid, kMatvecWarps * 32, 0, stream>>>(a);
                    else matvec_kquant_kernel<DT, kMatvecRows><<<grid, kMatvecWarps * 32, 0, stream>>>(a);
                    check_launch("matvec_kquant_kernel");
                    return;
                }
            }
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

bool matvec_preferred(const DeviceMatrix& w, int64_t T, bool grouped) {
    return matvec_supported(w) && T <= (grouped ? kGroupedMatvecMaxT : kDenseMatvecMaxT);
}

void run_products(const MatvecJob* jobs, int n_jobs, float* scratch, cudaStream_t stream, bool tensor_cores) {
    for (int i = 0; i < n_jobs;) {
        const MatvecJob& j = jobs[i];
        const auto fast = [&](const MatvecJob& o) {
            return matvec_preferred(*o.w, o.T, o.groups.offset != nullptr) &&
                   (o.w2 == nullptr || matvec_supported(*o.w2)) && reinterpret_cast<std::uintptr_t>(o.x) % 16 == 0;
        };
        if (fast(j)) {  // this job and the next ones of its format, in one launch
            int n = 1;
            while (i + n < n_jobs && n < kMatvecMaxJobs && fast(jobs[i + n]) && jobs[i + n].w->dtype == j.w->dtype) ++n;
            matvec_jobs(jobs + i, n, stream);
            i += n;
            continue;
        }
        matmul(j.x, j.T, *j.w, j.y, j.groups, stream, tensor_cores);
        if (j.w2 != nullptr) {
            check(scratch != nullptr, "run_products: a gate/up pair needs scratch for the up product");
            matmul(j.x, j.T, *j.w2, scratch, j.groups, stream, tensor_cores);
            silu_mul(j.y, scratch, j.T * j.w->out, stream);
        }
        ++i;
    }
}

void matmul(const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups, cudaStream_t stream,
            bool tensor_cores) {
    const bool grouped = groups.offset != nullptr;
    if (reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && matvec_preferred(w, T, grouped)) {
        matmul_kernel(0, x, T, w, y, groups, stream);
        return;
    }
    const bool float_w = w.transposed && (w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16);
    if (float_w && !grouped && T <= kMatvecMaxT && w.out <= kSmallN && w.in >= 1024) {
        matmul_kernel(3, x, T, w, y, groups, stream);
        return;
    }
    const int many_rows_kernel = tensor_cores && w.transposed ? 4 : 1;
    matmul_kernel(T <= kMatvecMaxT ? 0 : many_rows_kernel, x, T, w, y, groups, stream);
}

}  // namespace scout::cuda
