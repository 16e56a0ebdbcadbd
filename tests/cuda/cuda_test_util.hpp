// Helpers of the CUDA tests: the skip rule and device arrays filled from / read to host vectors.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/device_buffer.hpp"
#include "backend/cuda/forward_cuda.hpp"

namespace scout::test {

// Every CUDA test starts with this: CI and the development machines have no GPU.
#define SCOUT_REQUIRE_GPU()                                                    \
    do {                                                                       \
        std::string why_;                                                      \
        if (!::scout::cuda::device_available(&why_)) GTEST_SKIP() << why_;     \
    } while (0)

// A device copy of a host vector.
template <typename T>
cuda::DeviceBuffer to_device(const std::vector<T>& host) {
    cuda::DeviceBuffer b(std::max<std::size_t>(1, host.size() * sizeof(T)));
    if (!host.empty()) SCOUT_CUDA_CHECK(cudaMemcpy(b.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
    return b;
}

// n floats on the device, poisoned with NaN (every output must be written by the kernel).
inline cuda::DeviceBuffer poisoned(std::size_t n) {
    cuda::DeviceBuffer b(std::max<std::size_t>(1, n) * sizeof(float));
    SCOUT_CUDA_CHECK(cudaMemset(b.get(), 0xFF, b.bytes()));
    return b;
}

template <typename T>
std::vector<T> to_host(const cuda::DeviceBuffer& b, std::size_t n) {
    SCOUT_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> host(n);
    if (n) SCOUT_CUDA_CHECK(cudaMemcpy(host.data(), b.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
}

}  // namespace scout::test
