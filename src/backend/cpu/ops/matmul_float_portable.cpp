// Portable float kernels (plain C++; the compiler vectorises them for the build target).
// Compiled without FMA contraction (CMakeLists.txt) so dot4_f32 and dot_f32 give bit-identical
// results, and a row's value does not depend on how many inputs are batched with it.
#include <algorithm>
#include <vector>

#include "backend/cpu/ops/matmul.hpp"
#include "backend/cpu/ops/matmul_float.hpp"

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

namespace simd {

namespace {

// Four dot products against one weight row, loading each weight once: the same 16-lane
// accumulation and lane-sum order as dot_f32, so each result is bit-identical to dot_f32's.
void dot4_f32(const float* x0, const float* x1, const float* x2, const float* x3, const float* w, int64_t n,
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

}  // namespace

void nt_rows_portable(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    const int64_t N = w.rows, K = w.cols;
    constexpr int64_t kRowBlock = 8;  // weight rows converted once and reused across all T inputs
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
        for (; t + 4 <= T; t += 4) {
            float out[4];
            for (int64_t n = nb; n < ne; ++n) {
                dot4_f32(x + t * K, x + (t + 1) * K, x + (t + 2) * K, x + (t + 3) * K, rows[n - nb], K, out);
                for (int j = 0; j < 4; ++j) y[(t + j) * N + n] = out[j];
            }
        }
        for (; t < T; ++t)
            for (int64_t n = nb; n < ne; ++n) y[t * N + n] = dot_f32(x + t * K, rows[n - nb], K);
    }
}

void nn_cols_portable(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    const int64_t K = w.rows, N = w.cols;
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
}

}  // namespace simd

}  // namespace scout::cpu
