// The decode mat-vec for Q8_0 weights (matvec_kernel.cuh); one file per format so that nvcc
// compiles the formats in parallel.
#include "backend/cuda/matvec_kernel.cuh"

namespace scout::cuda::mv {

bool launch_q8_0(const Params& p, unsigned grid, int nt, int r, cudaStream_t stream) {
    return launch<DType::Q8_0>(p, grid, nt, r, stream);
}

}  // namespace scout::cuda::mv
