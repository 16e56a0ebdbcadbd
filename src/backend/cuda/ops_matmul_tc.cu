// Products of many activation rows on bf16 tensor cores (the fast mode, BackendOptions::gpu_math):
// prompts and large decode batches. A block computes a 64 (weight rows) x 128 (activation rows)
// tile of y; per 64-wide slice of K it decodes its 64 weight rows once (decode_chunk, the same
// values as quant::dequantize_row) and rounds them to bf16 in shared memory, rounds its 128
// activation rows to bf16 beside them, and its 8 warps each multiply a 32x32 sub-tile with
// WMMA 16x16x16 fragments, accumulating in float32. Rounding both operands to bf16 (8 bits of
// mantissa) is the only loss against the exact float32 kernels; the twin in test_cuda_ops rounds
// the same way and sums in double.
#include <cuda_bf16.h>
#include <mma.h>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/matmul_args.cuh"
#include "backend/cuda/quant_device.cuh"

namespace scout::cuda::detail {

namespace {

namespace wmma = nvcuda::wmma;

constexpr int kTcM = 64;    // weight rows (outputs n) per block
constexpr int kTcT = 128;   // activation rows per block
constexpr int kTcK = 64;    // K slice decoded per step
constexpr int kTcLd = kTcK + 8;    // bf16 row stride in shared memory (multiple of 8; staggers banks)
constexpr int kTcLdC = kTcM + 4;   // float row stride of the output staging (multiple of 4)
constexpr int kTcThreads = 256;    // 8 warps: 4 along T x 2 along M, 32x32 each

constexpr int kTcABytes = kTcT * kTcLd * 2;  // activations [t][k] bf16
constexpr int kTcBBytes = kTcM * kTcLd * 2;  // weights [n][k] bf16
constexpr int kTcCBytes = kTcT * kTcLdC * 4; // output staging [t][n] float (reuses the operand tiles)
constexpr int kTcSmem = kTcABytes + kTcBBytes > kTcCBytes ? kTcABytes + kTcBBytes : kTcCBytes;
static_assert(kTcSmem <= 48 * 1024, "static shared memory limit");

template <DType DT>
__global__ void __launch_bounds__(kTcThreads) tc_kernel(MatArgs a) {
    int64_t r0, r1;
    int e;
    if (!group_range(a, static_cast<int>(blockIdx.z), r0, r1, e)) return;
    const int64_t tok0 = r0 + static_cast<int64_t>(blockIdx.y) * kTcT;
    if (tok0 >= r1) return;  // this group has fewer rows than the grid allows for
    const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTcM;
    constexpr int CH = kChunk<DT>;
    constexpr int kChunksPerRow = kTcK / CH;
    static_assert(kTcK % CH == 0, "a K slice holds whole chunks");

    __shared__ __align__(128) unsigned char smem[kTcSmem];
    auto* xs = reinterpret_cast<__nv_bfloat16*>(smem);               // [kTcT][kTcLd]
    auto* ws = reinterpret_cast<__nv_bfloat16*>(smem + kTcABytes);   // [kTcM][kTcLd]
    auto* cs = reinterpret_cast<float*>(smem);                       // [kTcT][kTcLdC], after the K loop

    const int tid = static_cast<int>(threadIdx.x), warp = tid >> 5;
    const int wt = (warp >> 1) * 32, wm = (warp & 1) * 32;  // this warp's sub-tile: rows wt.., outputs wm..
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    const uint8_t* wbase = a.w + static_cast<std::size_t>(e) * a.expert_bytes;
    const int64_t n_rows_t = r1 - tok0 < kTcT ? r1 - tok0 : kTcT;
    for (int64_t k0 = 0; k0 < a.K; k0 += kTcK) {
        // Weights: 64 rows x kChunksPerRow chunks, decoded to float, rounded to bf16.
        for (int task = tid; task < kTcM * kChunksPerRow; task += kTcThreads) {
            const int r = task / kChunksPerRow, cc = task % kChunksPerRow;
            const int64_t n = n0 + r, c = k0 / CH + cc;
            float wv[CH];
            decode_weight_chunk<DT>(a, wbase, n, c, wv);
#pragma unroll
            for (int i = 0; i < CH; i += 2)
                *reinterpret_cast<__nv_bfloat162*>(ws + r * kTcLd + cc * CH + i) = __floats2bfloat162_rn(wv[i], wv[i + 1]);
        }
        // Activations: 128 rows x 64 columns, 4 at a time (zero past the rows or K).
        for (int idx = tid; idx < kTcT * (kTcK / 4); idx += kTcThreads) {
            const int tt = idx / (kTcK / 4), kk = (idx % (kTcK / 4)) * 4;
            const int64_t k = k0 + kk;
            float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (tt < n_rows_t) {
                const float* xp = a.x + (tok0 + tt) * a.K + k;
                if (a.x_aligned && k + 4 <= a.K) {
                    v = __ldg(reinterpret_cast<const float4*>(xp));
                } else {
                    v.x = k < a.K ? xp[0] : 0.0f;
                    v.y = k + 1 < a.K ? xp[1] : 0.0f;
                    v.z = k + 2 < a.K ? xp[2] : 0.0f;
                    v.w = k + 3 < a.K ? xp[3] : 0.0f;
                }
            }
            __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(xs + tt * kTcLd + kk);
            dst[0] = __floats2bfloat162_rn(v.x, v.y);
            dst[1] = __floats2bfloat162_rn(v.z, v.w);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTcK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], xs + (wt + 16 * i) * kTcLd + kk, kTcLd);
            // B[k][n] = W[n][k]: the [n][k] tile read column-major.
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], ws + (wm + 16 * j) * kTcLd + kk, kTcLd);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();
    }
    // Through shared memory (the operand tiles are free now), then only the rows and outputs
    // that exist are written.
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(cs + (wt + 16 * i) * kTcLdC + wm + 16 * j, acc[i][j], kTcLdC, wmma::mem_row_major);
    __syncthreads();
    for (int idx = tid; idx < kTcT * kTcM; idx += kTcThreads) {
        const int tt = idx / kTcM, nn = idx % kTcM;
        const int64_t n = n0 + nn;
        if (tt < n_rows_t && n < a.N) a.y[(tok0 + tt) * a.N + n] = cs[tt * kTcLdC + nn];
    }
}

// Row n of w decoded (decode_chunk) and rounded to bf16, a chunk per thread.
template <DType DT>
__global__ void dequantize_bf16_kernel(MatArgs a, __nv_bfloat16* out) {
    constexpr int CH = kChunk<DT>;
    const int64_t chunks = (a.K + CH - 1) / CH;
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= a.N * chunks) return;
    const int64_t n = i / chunks, c = i % chunks;
    float wv[CH];
    decode_chunk<DT>(a.w + static_cast<std::size_t>(n) * a.row_bytes, c, a.K, a.w_aligned, wv);
#pragma unroll
    for (int j = 0; j < CH; ++j)
        if (c * CH + j < a.K) out[n * a.K + c * CH + j] = __float2bfloat16_rn(wv[j]);
}

__global__ void round_bf16_kernel(const float* x, int64_t n, __nv_bfloat16* out) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __float2bfloat16_rn(x[i]);
}

}  // namespace

void matmul_tensor_cores(const MatArgs& a, DType dtype, unsigned slots, cudaStream_t stream) {
    dispatch_weight_dtype(dtype, "matmul (tensor cores)", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        const dim3 grid(grid_1d(a.N, kTcM), grid_1d(a.T, kTcT), slots);
        tc_kernel<DT><<<grid, kTcThreads, 0, stream>>>(a);
        check_launch("tc_kernel");
    });
}

}  // namespace scout::cuda::detail

namespace scout::cuda {

void dequantize_bf16(const DeviceMatrix& w, uint16_t* out, cudaStream_t stream) {
    check(w.transposed, "dequantize_bf16: stored [out, in] matrices only");
    detail::check_matrix(w, {});
    const detail::MatArgs a = detail::make_args(nullptr, 0, w, nullptr, {});
    dispatch_weight_dtype(w.dtype, "dequantize_bf16", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        const int64_t chunks = (w.in + kChunk<DT> - 1) / kChunk<DT>;
        detail::dequantize_bf16_kernel<DT><<<grid_1d(w.out * chunks, 256), 256, 0, stream>>>(
            a, reinterpret_cast<__nv_bfloat16*>(out));
        check_launch("dequantize_bf16_kernel");
    });
}

void round_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t stream) {
    if (n <= 0) return;
    detail::round_bf16_kernel<<<grid_1d(n, 256), 256, 0, stream>>>(x, n, reinterpret_cast<__nv_bfloat16*>(out));
    check_launch("round_bf16_kernel");
}

}  // namespace scout::cuda
