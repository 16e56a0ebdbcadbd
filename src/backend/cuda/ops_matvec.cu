// Host side of the decode mat-vec (ops.hpp: matvec_supported, matvec_jobs): checks, the launch
// geometry of up to kMatvecMaxJobs products in one grid, and the format dispatch to the kernels
// (matvec_kernel.cuh, one .cu per format).
#include <algorithm>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/matvec_kernel.cuh"
#include "backend/cuda/ops.hpp"
#include "quant/quant.hpp"

namespace scout::cuda {

bool matvec_supported(const DeviceMatrix& w) {
    if (!w.transposed || w.data == nullptr || w.in <= 0 || w.out <= 0) return false;
    const auto a = reinterpret_cast<std::uintptr_t>(w.data);
    switch (w.dtype) {
        case DType::Q4_K:  // 16-byte loads of 144-byte super-blocks
            return w.in % 256 == 0 && a % 16 == 0 && w.row_bytes % 16 == 0 && w.expert_bytes % 16 == 0;
        case DType::Q6_K: return w.in % 256 == 0 && a % 2 == 0;
        case DType::Q8_0: return w.in % 32 == 0 && a % 2 == 0;
        default: return false;
    }
}

void matvec_jobs(const MatvecJob* jobs, int n_jobs, cudaStream_t stream, int rows_per_warp) {
    check(n_jobs >= 1 && n_jobs <= kMatvecMaxJobs, cat("matvec_jobs: 1 to ", kMatvecMaxJobs, " products per launch"));
    const DType dt = jobs[0].w->dtype;
    int64_t max_t = 0;
    bool any_pair = false;
    for (int i = 0; i < n_jobs; ++i) {
        const MatvecJob& j = jobs[i];
        check(j.w != nullptr && matvec_supported(*j.w), "matvec_jobs: weights the mat-vec kernel cannot read");
        check(j.w->dtype == dt, "matvec_jobs: the products of one launch share a weight format");
        check(j.w->row_bytes == quant::row_size(dt, j.w->in), "matvec_jobs: row_bytes disagrees with the dtype");
        check(reinterpret_cast<std::uintptr_t>(j.x) % 16 == 0, "matvec_jobs: activations must be 16-byte aligned");
        check(j.groups.offset == nullptr || j.groups.n_slots > 0, "matvec_jobs: row groups without slots");
        if (j.w2 != nullptr) {
            check(matvec_supported(*j.w2) && j.w2->dtype == dt && j.w2->in == j.w->in && j.w2->out == j.w->out &&
                      j.w2->row_bytes == j.w->row_bytes && j.w2->expert_bytes == j.w->expert_bytes,
                  "matvec_jobs: the pair's second matrix differs from the first");
            any_pair = true;
        }
        max_t = std::max(max_t, j.T);
    }
    if (max_t <= 0) return;
    const int nt = max_t == 1 ? 1 : 8;
    const int r = rows_per_warp > 0 ? rows_per_warp : 2;
    check(!any_pair || r % 2 == 0, "matvec_jobs: pair mode needs an even number of rows per warp");
    mv::Params p{};
    int blocks = 0;
    int n = 0;
    for (int i = 0; i < n_jobs; ++i) {
        const MatvecJob& j = jobs[i];
        if (j.T <= 0) continue;
        mv::JobDev& d = p.job[n++];
        d.w = static_cast<const uint8_t*>(j.w->data);
        d.w2 = j.w2 ? static_cast<const uint8_t*>(j.w2->data) : nullptr;
        d.x = j.x;
        d.y = j.y;
        d.g_expert = j.groups.expert;
        d.g_offset = j.groups.offset;
        d.T = j.T;
        d.K = j.w->in;
        d.N = j.w->out;
        d.row_bytes = j.w->row_bytes;
        d.expert_bytes = j.w->expert_bytes;
        const int64_t rows_per_block = static_cast<int64_t>(mv::kMvWarps) * (j.w2 ? r / 2 : r);
        d.row_blocks = static_cast<int>((d.N + rows_per_block - 1) / rows_per_block);
        d.block0 = blocks;
        const int64_t slots = j.groups.offset ? j.groups.n_slots : 1;
        check(static_cast<int64_t>(blocks) + d.row_blocks * slots < (int64_t{1} << 31), "matvec_jobs: grid too large");
        blocks += static_cast<int>(d.row_blocks * slots);
    }
    p.n_jobs = n;
    bool ok = false;
    switch (dt) {
        case DType::Q4_K: ok = mv::launch_q4_k(p, static_cast<unsigned>(blocks), nt, r, stream); break;
        case DType::Q6_K: ok = mv::launch_q6_k(p, static_cast<unsigned>(blocks), nt, r, stream); break;
        case DType::Q8_0: ok = mv::launch_q8_0(p, static_cast<unsigned>(blocks), nt, r, stream); break;
        default: break;
    }
    check(ok, cat("matvec_jobs: no kernel for ", dtype_name(dt), " with ", r, " rows per warp"));
}

}  // namespace scout::cuda
