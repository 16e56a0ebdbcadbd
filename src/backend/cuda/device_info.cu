// Device discovery for `scout info`, device selection and the tests' skip rule.
#include <cuda_runtime_api.h>

#include <string>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/forward_cuda.hpp"

namespace scout::cuda {

bool device_available(std::string* description) {
    int n = 0;
    const cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess || n == 0) {
        cudaGetLastError();  // leave no sticky error behind for later calls
        if (description)
            *description = st != cudaSuccess ? cat("no CUDA device: ", cudaGetErrorString(st)) : "no CUDA device";
        return false;
    }
    if (description) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
            *description = cat(p.name, ", ", (p.totalGlobalMem + (1u << 29)) >> 30, " GiB, ", p.multiProcessorCount, " SMs");
        else
            *description = "CUDA device 0";
    }
    return true;
}

DeviceInfo device_info(int index) {
    int n = 0;
    const cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
        cudaGetLastError();
        throw Error(cat("no CUDA device: ", cudaGetErrorString(st)));
    }
    check(index >= 0 && index < n, cat("CUDA device ", index, " does not exist (", n, " device(s) present)"));
    cudaDeviceProp p{};
    SCOUT_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
    DeviceInfo info;
    info.index = index;
    info.name = p.name;
    info.total_bytes = p.totalGlobalMem;
    info.sm_count = p.multiProcessorCount;
    info.cc_major = p.major;
    info.cc_minor = p.minor;
    int previous = 0;
    SCOUT_CUDA_CHECK(cudaGetDevice(&previous));
    SCOUT_CUDA_CHECK(cudaSetDevice(index));
    std::size_t free_b = 0, total_b = 0;
    SCOUT_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    SCOUT_CUDA_CHECK(cudaSetDevice(previous));
    info.free_bytes = free_b;
    return info;
}

int parse_device_index(const std::string& device) {
    if (device == "cuda") return 0;
    if (device.rfind("cuda:", 0) == 0 && device.size() > 5) {
        int idx = 0;
        for (char c : device.substr(5)) {
            check(c >= '0' && c <= '9', cat("bad device \"", device, "\": use cuda or cuda:N"));
            idx = idx * 10 + (c - '0');
        }
        return idx;
    }
    throw Error(cat("bad device \"", device, "\": use cuda or cuda:N"));
}

}  // namespace scout::cuda
