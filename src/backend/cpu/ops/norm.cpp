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
}  // namespace

void rms_norm(const float* x, int64_t T, int64_t n, const WeightMatrix& weight, float eps, float* y) {
    thread_local std::vector<float> w;  // the weight in float32; kept, so a forward pass allocates nothing
    if (w.size() < static_cast<std::size_t>(n)) w.resize(static_cast<std::size_t>(n));
    weight.row_to_f32(0, 0, n, w.data());
    for (int64_t t = 0; t < T; ++t) {
        const float* xt = x + t * n;
        float* yt = y + t * n;
        const float r = inv_rms(xt, n, eps);
        for (int64_t i = 0; i < n; ++i) yt[i] = (xt[i] * r) * w[static_cast<std::size_t>(i)];
    }
}

void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps) {
    for (int64_t r = 0; r < rows; ++r) {
        float* xr = x + r * n;
        const float s = inv_rms(xr, n, eps);
        for (int64_t i = 0; i < n; ++i) xr[i] *= s;
    }
}

}  // namespace scout::cpu
