// scout_device_probe: the GPU's limits that the benchmarks are read against — HBM read bandwidth
// (a streaming-read kernel, and a device-to-device copy) and bf16 tensor-core GEMM throughput
// (cuBLAS, fp32 accumulation). Prints one JSON object.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

#define PROBE_CHECK(call)                                                                      \
    do {                                                                                       \
        const cudaError_t st_ = (call);                                                        \
        if (st_ != cudaSuccess) {                                                              \
            std::fprintf(stderr, "CUDA error in %s: %s\n", #call, cudaGetErrorString(st_));     \
            std::exit(1);                                                                      \
        }                                                                                      \
    } while (0)
#define BLAS_CHECK(call)                                                                       \
    do {                                                                                       \
        const cublasStatus_t st_ = (call);                                                     \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                    \
            std::fprintf(stderr, "cuBLAS error %d in %s\n", static_cast<int>(st_), #call);      \
            std::exit(1);                                                                      \
        }                                                                                      \
    } while (0)

__global__ void read_kernel(const uint4* __restrict__ p, size_t n, unsigned* sink) {
    unsigned acc = 0;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        const uint4 v = __ldcs(p + i);  // streaming: do not keep in L2
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u) *sink = acc;  // keeps the loads alive
}

__global__ void init_kernel(uint4* p, size_t n) {
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x)
        p[i] = make_uint4(static_cast<unsigned>(i), 1u, 2u, 3u);
}

template <class F>
float best_ms(int reps, F&& f) {
    cudaEvent_t a, b;
    PROBE_CHECK(cudaEventCreate(&a));
    PROBE_CHECK(cudaEventCreate(&b));
    float best = 1e30f;
    for (int r = 0; r < reps; ++r) {
        PROBE_CHECK(cudaEventRecord(a));
        f();
        PROBE_CHECK(cudaEventRecord(b));
        PROBE_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        PROBE_CHECK(cudaEventElapsedTime(&ms, a, b));
        best = std::min(best, ms);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return best;
}

}  // namespace

int main() {
    cudaDeviceProp prop{};
    PROBE_CHECK(cudaGetDeviceProperties(&prop, 0));
    const size_t bytes = size_t{4} << 30;
    const size_t n = bytes / sizeof(uint4);
    uint4 *buf = nullptr, *dst = nullptr;
    unsigned* sink = nullptr;
    PROBE_CHECK(cudaMalloc(&buf, bytes));
    PROBE_CHECK(cudaMalloc(&dst, bytes / 2));
    PROBE_CHECK(cudaMalloc(&sink, sizeof(unsigned)));
    init_kernel<<<prop.multiProcessorCount * 8, 512>>>(buf, n);
    PROBE_CHECK(cudaGetLastError());
    const float read_ms = best_ms(10, [&] { read_kernel<<<prop.multiProcessorCount * 8, 512>>>(buf, n, sink); });
    PROBE_CHECK(cudaGetLastError());
    const float copy_ms = best_ms(10, [&] { PROBE_CHECK(cudaMemcpyAsync(dst, buf, bytes / 2, cudaMemcpyDeviceToDevice)); });
    PROBE_CHECK(cudaFree(buf));
    PROBE_CHECK(cudaFree(dst));

    // bf16 GEMM, fp32 accumulation: C[m, n] = A[m, k] · B[k, n], m = n = k = 8192.
    const int m = 8192;
    __nv_bfloat16 *A = nullptr, *B = nullptr, *C = nullptr;
    PROBE_CHECK(cudaMalloc(&A, size_t{2} * m * m));
    PROBE_CHECK(cudaMalloc(&B, size_t{2} * m * m));
    PROBE_CHECK(cudaMalloc(&C, size_t{2} * m * m));
    PROBE_CHECK(cudaMemset(A, 0, size_t{2} * m * m));
    PROBE_CHECK(cudaMemset(B, 0, size_t{2} * m * m));
    cublasHandle_t h;
    BLAS_CHECK(cublasCreate(&h));
    const float alpha = 1.0f, beta = 0.0f;
    const auto gemm = [&] {
        BLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &alpha, A, CUDA_R_16BF, m, B, CUDA_R_16BF, m, &beta, C,
                                CUDA_R_16BF, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    };
    gemm();
    PROBE_CHECK(cudaDeviceSynchronize());
    const float gemm_ms = best_ms(10, gemm);
    cublasDestroy(h);
    cudaFree(A);
    cudaFree(B);
    cudaFree(C);

    const double read_gbs = static_cast<double>(bytes) / (read_ms * 1e-3) / 1e9;
    const double copy_gbs = 2.0 * static_cast<double>(bytes / 2) / (copy_ms * 1e-3) / 1e9;  // read + write
    const double tflops = 2.0 * m * static_cast<double>(m) * m / (gemm_ms * 1e-3) / 1e12;
    std::printf("{\n  \"device\": \"%s\",\n  \"sms\": %d,\n  \"hbm_read_gb_s\": %.1f,\n  \"d2d_copy_gb_s\": %.1f,\n"
                "  \"bf16_gemm_tflops\": %.1f,\n  \"gemm_size\": %d\n}\n",
                prop.name, prop.multiProcessorCount, read_gbs, copy_gbs, tflops, m);
    return 0;
}
