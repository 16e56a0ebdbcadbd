#include "backend/cpu/ops/matmul_quant.hpp"

#include <algorithm>
#include <vector>

#include "backend/cpu/ops/matmul.hpp"

namespace scout::cpu {

// Interim: dequantize each weight row to float32 and take float dot products.
void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    const int64_t N = w.rows, K = w.cols;
    pool.parallel_for_grain(N, 8, [&](int64_t n0, int64_t n1, int) {
        std::vector<float> row(static_cast<std::size_t>(K));
        for (int64_t n = n0; n < n1; ++n) {
            w.row_to_f32(n, 0, K, row.data());
            for (int64_t t = 0; t < T; ++t) y[t * N + n] = dot_f32(x + t * K, row.data(), K);
        }
    });
}

}  // namespace scout::cpu
