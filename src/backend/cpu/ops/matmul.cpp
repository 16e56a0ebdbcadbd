#include "backend/cpu/ops/matmul.hpp"

#include <algorithm>
#include <vector>

namespace scout::cpu {

float dot_f32(const float* a, const float* b, int64_t n) {
    constexpr int kLanes = 16;
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += acc[l];
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

float dot_f32_bf16(const float* a, const uint16_t* b, int64_t n) {
    constexpr int kLanes = 16;
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * bf16_to_f32(b[i + l]);
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += acc[l];
    for (; i < n; ++i) s += a[i] * bf16_to_f32(b[i]);
    return s;
}

void matmul_nt(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    const int64_t N = w.rows, K = w.cols;
    if (w.dtype == DType::BF16 && T <= 2) {
        // Decode: each weight row is used once or twice, so converting it into a buffer first
        // would cost as much memory traffic as the product; convert in registers instead.
        pool.parallel_for_grain(N, 8, [&](int64_t n0, int64_t n1, int) {
            for (int64_t n = n0; n < n1; ++n) {
                const uint16_t* row = static_cast<const uint16_t*>(w.data) + n * w.row_stride;
                for (int64_t t = 0; t < T; ++t) y[t * N + n] = dot_f32_bf16(x + t * K, row, K);
            }
        });
        return;
    }
    constexpr int64_t kRowBlock = 8;  // weight rows converted and reused across all T inputs
    pool.parallel_for_grain(N, kRowBlock, [&](int64_t n0, int64_t n1, int) {
        std::vector<float> wbuf;
        const bool direct = w.dtype == DType::F32;
        if (!direct) wbuf.resize(static_cast<std::size_t>(kRowBlock * K));
        for (int64_t nb = n0; nb < n1; nb += kRowBlock) {
            const int64_t ne = std::min(n1, nb + kRowBlock);
            const float* rows[kRowBlock];
            for (int64_t n = nb; n < ne; ++n) {
                if (direct) {
                    rows[n - nb] = static_cast<const float*>(w.data) + n * w.row_stride;
                } else {
                    float* dst = wbuf.data() + (n - nb) * K;
                    w.row_to_f32(n, 0, K, dst);
                    rows[n - nb] = dst;
                }
            }
            for (int64_t t = 0; t < T; ++t) {
                const float* xt = x + t * K;
                float* yt = y + t * N;
                for (int64_t n = nb; n < ne; ++n) yt[n] = dot_f32(xt, rows[n - nb], K);
            }
        }
    });
}

void matmul_nn(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    const int64_t K = w.rows, N = w.cols;
    constexpr int64_t kColBlock = 64;
    pool.parallel_for_grain(N, kColBlock, [&](int64_t n0, int64_t n1, int) {
        const int64_t width = n1 - n0;
        std::vector<float> wrow(static_cast<std::size_t>(width));
        for (int64_t t = 0; t < T; ++t) std::fill(y + t * N + n0, y + t * N + n1, 0.0f);
        for (int64_t k = 0; k < K; ++k) {
            w.row_to_f32(k, n0, n1, wrow.data());
            for (int64_t t = 0; t < T; ++t) {
                const float xv = x[t * K + k];
                float* yt = y + t * N + n0;
                for (int64_t i = 0; i < width; ++i) yt[i] += xv * wrow[static_cast<std::size_t>(i)];
            }
        }
    });
}

void matmul_nt_ref(const float* x, int64_t T, const WeightMatrix& w, float* y) {
    for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < w.rows; ++n) {
            double s = 0.0;
            for (int64_t k = 0; k < w.cols; ++k) s += static_cast<double>(x[t * w.cols + k]) * w.at(n, k);
            y[t * w.rows + n] = static_cast<float>(s);
        }
}

void matmul_nn_ref(const float* x, int64_t T, const WeightMatrix& w, float* y) {
    for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < w.cols; ++n) {
            double s = 0.0;
            for (int64_t k = 0; k < w.rows; ++k) s += static_cast<double>(x[t * w.rows + k]) * w.at(k, n);
            y[t * w.cols + n] = static_cast<float>(s);
        }
}

}  // namespace scout::cpu
