#include "backend/cpu/ops/matmul.hpp"

#include <algorithm>
#include <vector>

#include "backend/cpu/ops/matmul_quant.hpp"

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

// Four dot products against one weight row, loading each weight once: the same 16-lane
// accumulation and lane-sum order as dot_f32, so with contraction off (CMakeLists.txt) each
// result is bit-identical to dot_f32's (a sequence's logits must not depend on its batch).
static void dot4_f32(const float* x0, const float* x1, const float* x2, const float* x3, const float* w, int64_t n,
                     float* out) {
    constexpr int kLanes = 16;
    float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) {
            const float wv = w[i + l];
            a0[l] += x0[i + l] * wv;
            a1[l] += x1[i + l] * wv;
            a2[l] += x2[i + l] * wv;
            a3[l] += x3[i + l] * wv;
        }
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int l = 0; l < kLanes; ++l) {
        s0 += a0[l];
        s1 += a1[l];
        s2 += a2[l];
        s3 += a3[l];
    }
    for (; i < n; ++i) {
        s0 += x0[i] * w[i];
        s1 += x1[i] * w[i];
        s2 += x2[i] * w[i];
        s3 += x3[i] * w[i];
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
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
    if (dtype_is_quantized(w.dtype)) {
        matmul_nt_quant(x, T, w, y, pool);
        return;
    }
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
            int64_t t = 0;
            for (; t + 4 <= T; t += 4) {  // four inputs per weight-row load
                float out[4];
                for (int64_t n = nb; n < ne; ++n) {
                    dot4_f32(x + t * K, x + (t + 1) * K, x + (t + 2) * K, x + (t + 3) * K, rows[n - nb], K, out);
                    for (int j = 0; j < 4; ++j) y[(t + j) * N + n] = out[j];
                }
            }
            for (; t < T; ++t) {
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
