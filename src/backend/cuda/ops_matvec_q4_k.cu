// The decode mat-vec for Q4_K weights (matvec_kernel.cuh); one file per format so that nvcc
// compiles the formats in parallel.
#include "backend/cuda/matvec_kernel.cuh"

namespace scout::cuda::mv {

bool launch_q4_k(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream) {
    return launch<DType::Q4_K>(p, grid, nt, r, stream);
}

}  // namespace scout::cuda::mv
