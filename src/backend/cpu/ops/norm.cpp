#include "backend/cpu/ops/norm.hpp"

#include <cmath>
#include <vector>

namespace scout::cpu {

namespace {

float inv_rms(const float* x, int64_t n, float eps) {
    double ss = 0.0;  // double accumulation: mean of squares is the precision-sensitive part
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float mean = static_cast<float>(ss / static_cast<double>(n));
    return 1.0f / std::sqrt(mean + eps);
}

// y = x * rsqrt(mean(x²) + eps) * w over one row of n.
void norm_row(const float* x, int64_t n, const float* w, float eps, float* y) {
    const float r = inv_rms(x, n, eps);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * r) * w[i];
}

// The weight in float32, in the calling thread's buffer (kept, so a forward pass allocates nothing).
const float* weight_f32(const WeightMatrix& weight, int64_t n) {
    thread_local std::vector<float> w;
    if (w.size() < static_cast<std::size_t>(n)) w.resize(static_cast<std::size_t>(n));
    weight.row_to_f32(0, 0, n, w.data());
    return w.data();
}

// Rows per scheduling unit: a row of Scout's 5,120 values is a few µs of work, so single rows
// are worth handing out, and decode's one row stays on the caller (no hand-off at all).
constexpr int64_t kRowGrain = 1;
// Values per unit of an elementwise add (a few µs each).
constexpr int64_t kAddGrain = 16 * 1024;

}  // namespace

void rms_norm(const float* x, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y) {
    const float* w = weight_f32(weight, n);
    for (int64_t t = 0; t < T; ++t) norm_row(x + t * n, n, w, eps, y + t * n);
}

void add_rms_norm(float* h, const float* add, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y,
                  ThreadPool& pool) {
    const float* w = weight_f32(weight, n);  // the workers read the caller's buffer
    pool.parallel_for_grain(T, kRowGrain, [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t) {
            float* ht = h + t * n;
            if (add)
                for (int64_t i = 0; i < n; ++i) ht[i] += add[t * n + i];
            norm_row(ht, n, w, eps, y + t * n);
        }
    });
}

void add_in_place(float* h, const float* add, int64_t n, ThreadPool& pool) {
    pool.parallel_for_grain(n, kAddGrain, [&](int64_t i0, int64_t i1, int) {
        for (int64_t i = i0; i < i1; ++i) h[i] += add[i];
    });
}

void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps) {
    for (int64_t r = 0; r < rows; ++r) {
        float* xr = x + r * n;
        const float s = inv_rms(xr, n, eps);
        for (int64_t i = 0; i < n; ++i) xr[i] *= s;
    }
}

}  // namespace scout::cpu
