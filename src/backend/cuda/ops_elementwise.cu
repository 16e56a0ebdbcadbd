// Row-wise ops of the forward pass (ops.hpp): embedding lookup, RMSNorm (weighted and the QK
// norm), RoPE, temperature scaling, residual add, SwiGLU activation, row gathers, and the fused
// decode steps (residual add + next RMSNorm; RoPE + QK norm + temperature).
// Each mirrors its CPU twin operation for operation (explicit _rn intrinsics: the CPU build does
// not contract a·b + c into FMAs, so neither may these), so that results are bit-identical except
// where the CPU sums in a different order.
#include <cmath>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/ops.hpp"
#include "backend/cuda/quant_device.cuh"
#include "quant/quant.hpp"

namespace scout::cuda {

namespace {

constexpr int kBlock = 256;

template <DType DT>
__global__ void embed_kernel(const uint8_t* table, std::size_t row_bytes, int64_t D, const int32_t* tokens,
                             float* out) {
    constexpr int CH = kChunk<DT>;
    const int64_t t = blockIdx.x;
    const uint8_t* row = table + static_cast<std::size_t>(tokens[t]) * row_bytes;
    const int64_t n_chunks = (D + CH - 1) / CH;
    for (int64_t c = threadIdx.x; c < n_chunks; c += blockDim.x) {
        float w[CH];
        decode_chunk<DT>(row, c, D, false, w);
        for (int i = 0; i < CH; ++i)
            if (c * CH + i < D) out[t * D + c * CH + i] = w[i];
    }
}

__device__ __forceinline__ float load_weight(const void* w, DType t, int64_t i) {
    if (t == DType::F32) return static_cast<const float*>(w)[i];
    const uint16_t h = static_cast<const uint16_t*>(w)[i];
    return t == DType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
}

// Sum of squares in double over the block (the CPU accumulates the mean of squares in double).
__device__ double block_sum(double v, double* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < static_cast<int>(blockDim.x >> 5) ? shared[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    return shared[0];
}

__device__ __forceinline__ float inv_rms(double ss, int64_t n, float eps) {
    const float mean = static_cast<float>(ss / static_cast<double>(n));
    return __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
}

__global__ void rms_norm_kernel(const float* x, int64_t n, const void* w, DType wt, float eps, float* y) {
    __shared__ double partial[32];
    const float* xr = x + blockIdx.x * n;
    float* yr = y + blockIdx.x * n;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
    const float r = inv_rms(block_sum(ss, partial), n, eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = __fmul_rn(__fmul_rn(xr[i], r), load_weight(w, wt, i));
}

// One warp per row (rows of head_dim).
__global__ void rms_norm_noweight_kernel(float* x, int64_t rows, int64_t n, float eps) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int lane = threadIdx.x & 31;
    float* xr = x + row * n;
    double ss = 0.0;
    for (int64_t i = lane; i < n; i += 32) ss += static_cast<double>(xr[i]) * xr[i];
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float r = inv_rms(ss, n, eps);
    for (int64_t i = lane; i < n; i += 32) xr[i] = __fmul_rn(xr[i], r);
}

__global__ void rope_kernel(float* x, int64_t T, int64_t heads, int64_t d, const int32_t* positions,
                            const float* inv_freq) {
    const int64_t half = d / 2;
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // (t, h, j)
    if (i >= T * heads * half) return;
    const int64_t j = i % half, th = i / half, t = th / heads;
    const float angle = __fmul_rn(static_cast<float>(positions[t]), inv_freq[j]);
    double s, c;
    sincos(static_cast<double>(angle), &s, &c);
    const float cf = static_cast<float>(c), sf = static_cast<float>(s);
    float* v = x + th * d + 2 * j;
    const float a = v[0], b = v[1];
    v[0] = __fsub_rn(__fmul_rn(a, cf), __fmul_rn(b, sf));
    v[1] = __fadd_rn(__fmul_rn(a, sf), __fmul_rn(b, cf));
}

__global__ void scale_rows_kernel(float* x, int64_t T, int64_t n, const float* scales) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < T * n) x[i] = __fmul_rn(x[i], scales[i / n]);
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __fadd_rn(y[i], x[i]);
}

// silu(g) = g / (1 + exp(-g)) as the CPU's silu(); then · u.
__global__ void silu_mul_kernel(float* g, const float* u, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = g[i];
    g[i] = __fmul_rn(__fdiv_rn(v, __fadd_rn(1.0f, expf(-v))), u[i]);
}

// One block (kBlock threads) per row: the residual add (with the routed expert outputs summed as
// combine_kernel does), then rms_norm_kernel's steps on the new row (the same per-thread order).
__global__ void residual_norm_kernel(float* h, const float* branch, const float* ye, const int32_t* token_assign,
                                     int64_t k, int64_t D, const void* w, DType wt, float eps, float* xn) {
    __shared__ double partial[32];
    const int64_t t = blockIdx.x;
    float* hr = h + t * D;
    const float* br = branch + t * D;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float b = br[i];
        if (ye != nullptr) {
            float routed = 0.0f;
            for (int64_t j = 0; j < k; ++j) routed = __fadd_rn(routed, ye[static_cast<int64_t>(token_assign[t * k + j]) * D + i]);
            b = __fadd_rn(b, routed);
        }
        const float v = __fadd_rn(hr[i], b);
        hr[i] = v;
        ss += static_cast<double>(v) * v;
    }
    if (w == nullptr) return;  // uniform: the whole block
    const float r = inv_rms(block_sum(ss, partial), D, eps);
    float* yr = xn + t * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) yr[i] = __fmul_rn(__fmul_rn(hr[i], r), load_weight(w, wt, i));
}

// A warp per (row, head) of q then k: RoPE, QK norm, temperature, as rope_kernel,
// rms_norm_noweight_kernel and scale_rows_kernel compute them. head_dim <= kPrepMaxDim.
constexpr int kPrepMaxDim = 256;

__global__ void attn_prep_kernel(float* q, float* k, int64_t T, int64_t H, int64_t Hkv, int64_t d,
                                 const int32_t* positions, const float* inv_freq, bool qk_norm, float eps,
                                 const float* temps) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= T * (H + Hkv)) return;
    const int lane = threadIdx.x & 31;
    const int64_t t = row / (H + Hkv), head = row % (H + Hkv);
    const bool is_q = head < H;
    float* x = is_q ? q + (t * H + head) * d : k + (t * Hkv + head - H) * d;
    constexpr int kPairs = kPrepMaxDim / 64;  // pairs per lane
    float a[kPairs] = {}, b[kPairs] = {};
    const int64_t half = d / 2;
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
        const int64_t j = lane + 32 * i;
        if (j < half) a[i] = x[2 * j], b[i] = x[2 * j + 1];
    }
    if (inv_freq != nullptr) {
        const float pos = static_cast<float>(positions[t]);
#pragma unroll
        for (int i = 0; i < kPairs; ++i) {
            const int64_t j = lane + 32 * i;
            if (j >= half) continue;
            const float angle = __fmul_rn(pos, inv_freq[j]);
            double sn, cs;
            sincos(static_cast<double>(angle), &sn, &cs);
            const float cf = static_cast<float>(cs), sf = static_cast<float>(sn);
            const float va = a[i], vb = b[i];
            a[i] = __fsub_rn(__fmul_rn(va, cf), __fmul_rn(vb, sf));
            b[i] = __fadd_rn(__fmul_rn(va, sf), __fmul_rn(vb, cf));
        }
    }
    float scale = 1.0f;
    bool scaled = false;
    if (qk_norm) {
        double ss = 0.0;
#pragma unroll
        for (int i = 0; i < kPairs; ++i)
            if (lane + 32 * i < half) ss += static_cast<double>(a[i]) * a[i] + static_cast<double>(b[i]) * b[i];
        for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        const float r = inv_rms(ss, d, eps);
#pragma unroll
        for (int i = 0; i < kPairs; ++i) a[i] = __fmul_rn(a[i], r), b[i] = __fmul_rn(b[i], r);
    }
    if (is_q && temps != nullptr) scale = temps[t], scaled = true;
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
        const int64_t j = lane + 32 * i;
        if (j >= half) continue;
        x[2 * j] = scaled ? __fmul_rn(a[i], scale) : a[i];
        x[2 * j + 1] = scaled ? __fmul_rn(b[i], scale) : b[i];
    }
}

__global__ void gather_rows_kernel(const float* x, int64_t D, const int32_t* rows, float* out) {
    const float* src = x + static_cast<int64_t>(rows[blockIdx.x]) * D;
    float* dst = out + static_cast<int64_t>(blockIdx.x) * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dst[i] = src[i];
}

}  // namespace

void embed_rows(const DeviceMatrix& table, const int32_t* tokens, int64_t T, float* out, cudaStream_t stream) {
    if (T <= 0) return;
    check(table.transposed, "embed_rows: the embedding table must be stored [V, D]");
    dispatch_weight_dtype(table.dtype, "embedding", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        embed_kernel<DT><<<static_cast<unsigned>(T), 128, 0, stream>>>(static_cast<const uint8_t*>(table.data),
                                                                        table.row_bytes, table.in, tokens, out);
        check_launch("embed_kernel");
    });
}

void rms_norm(const float* x, int64_t T, int64_t n, const DeviceVector& w, float eps, float* y, cudaStream_t stream) {
    if (T <= 0) return;
    check(w.n == n, "rms_norm: weight length differs from the row length");
    check(w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16,
          cat("rms_norm: norm weights must be F32, F16 or BF16, not ", dtype_name(w.dtype)));
    rms_norm_kernel<<<static_cast<unsigned>(T), kBlock, 0, stream>>>(x, n, w.data, w.dtype, eps, y);
    check_launch("rms_norm_kernel");
}

void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps, cudaStream_t stream) {
    if (rows <= 0) return;
    rms_norm_noweight_kernel<<<grid_1d(rows, kBlock / 32), kBlock, 0, stream>>>(x, rows, n, eps);
    check_launch("rms_norm_noweight_kernel");
}

void rope(float* x, int64_t T, int64_t heads, int64_t d, const int32_t* positions, const float* inv_freq,
          cudaStream_t stream) {
    const int64_t n = T * heads * (d / 2);
    if (n <= 0) return;
    rope_kernel<<<grid_1d(n, kBlock), kBlock, 0, stream>>>(x, T, heads, d, positions, inv_freq);
    check_launch("rope_kernel");
}

void scale_rows(float* x, int64_t T, int64_t n, const float* scales, cudaStream_t stream) {
    if (T * n <= 0) return;
    scale_rows_kernel<<<grid_1d(T * n, kBlock), kBlock, 0, stream>>>(x, T, n, scales);
    check_launch("scale_rows_kernel");
}

void add_inplace(float* y, const float* x, int64_t n, cudaStream_t stream) {
    if (n <= 0) return;
    add_kernel<<<grid_1d(n, kBlock), kBlock, 0, stream>>>(y, x, n);
    check_launch("add_kernel");
}

void silu_mul(float* g, const float* u, int64_t n, cudaStream_t stream) {
    if (n <= 0) return;
    silu_mul_kernel<<<grid_1d(n, kBlock), kBlock, 0, stream>>>(g, u, n);
    check_launch("silu_mul_kernel");
}

void residual_norm(float* h, const float* branch, const float* ye, const int32_t* token_assign, int64_t k, int64_t T,
                   int64_t D, const DeviceVector& w, float eps, float* xn, cudaStream_t stream) {
    if (T <= 0) return;
    check(ye == nullptr || (token_assign != nullptr && k >= 1), "residual_norm: expert outputs without assignments");
    if (w.data != nullptr) {
        check(w.n == D, "residual_norm: weight length differs from the row length");
        check(w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16,
              cat("residual_norm: norm weights must be F32, F16 or BF16, not ", dtype_name(w.dtype)));
    }
    residual_norm_kernel<<<static_cast<unsigned>(T), kBlock, 0, stream>>>(h, branch, ye, token_assign, k, D, w.data,
                                                                          w.dtype, eps, xn);
    check_launch("residual_norm_kernel");
}

void attn_prep(float* q, float* k, int64_t T, int64_t H, int64_t Hkv, int64_t d, const int32_t* positions,
               const float* inv_freq, bool qk_norm, float eps, const float* temps, cudaStream_t stream) {
    if (T <= 0 || (inv_freq == nullptr && !qk_norm && temps == nullptr)) return;
    check(d % 2 == 0 && d <= kPrepMaxDim, cat("attn_prep: head_dim ", d, " must be even and at most ", kPrepMaxDim));
    const int64_t rows = T * (H + Hkv);
    attn_prep_kernel<<<grid_1d(rows, kBlock / 32), kBlock, 0, stream>>>(q, k, T, H, Hkv, d, positions, inv_freq,
                                                                        qk_norm, eps, temps);
    check_launch("attn_prep_kernel");
}

void gather_rows(const float* x, int64_t D, const int32_t* rows, int64_t n, float* out, cudaStream_t stream) {
    if (n <= 0) return;
    gather_rows_kernel<<<static_cast<unsigned>(n), kBlock, 0, stream>>>(x, D, rows, out);
    check_launch("gather_rows_kernel");
}

}  // namespace scout::cuda
