// Error checking for the CUDA runtime: every call and every kernel launch is checked, and a
// failure becomes a scout::Error naming the call (or kernel) and the CUDA error string.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "base/error.hpp"

namespace scout::cuda {

// Throws scout::Error("CUDA error in <what>: <error string> (<error name>)") unless ok.
inline void check_cuda(cudaError_t status, const char* what) {
    if (status != cudaSuccess)
        throw Error(cat("CUDA error in ", what, ": ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")"));
}

// After a kernel launch: a launch error (bad configuration, too much shared memory) names the kernel.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

}  // namespace scout::cuda

// CUDA_CHECK(cudaMalloc(&p, n)): the error message quotes the call's source text.
#define SCOUT_CUDA_CHECK(call) ::scout::cuda::check_cuda((call), #call)
