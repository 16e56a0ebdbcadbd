// The decode mat-vec for Q6_K weights (matvec_kernel.cuh); one file per format so that nvcc
// compiles the formats in parallel.
#include "backend/cuda/matvec_kernel.cuh"

namespace scout::cuda::mv {

bool launch_q6_k(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream) {
    return launch<DType::Q6_K>(p, grid, nt, r, stream);
}

}  // namespace scout::cuda::mv
