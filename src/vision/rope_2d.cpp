#include "vision/rope_2d.hpp"

#include <cmath>

namespace scout::vision {

void rope_2d_tables(const VisionConfig& c, std::vector<float>& cos_t, std::vector<float>& sin_t) {
    const int64_t half = c.head_dim() / 2, quarter = half / 2, grid = c.grid(), tokens = c.patches() + 1;
    cos_t.assign(static_cast<size_t>(tokens * half), 1.0f);
    sin_t.assign(static_cast<size_t>(tokens * half), 0.0f);
    std::vector<float> freq(static_cast<size_t>(quarter));
    for (int64_t m = 0; m < quarter; ++m)
        freq[m] = 1.0f / std::pow(static_cast<float>(c.rope_theta), static_cast<float>(2 * m) / static_cast<float>(half));
    for (int64_t n = 0; n < c.patches(); ++n) {
        const int64_t x = n % grid, y = n / grid;
        for (int64_t j = 0; j < half; ++j) {
            const float angle = j < quarter ? static_cast<float>(x + 1) * freq[j] : static_cast<float>(y + 1) * freq[j - quarter];
            cos_t[n * half + j] = std::cos(angle);
            sin_t[n * half + j] = std::sin(angle);
        }
    }
}

}  // namespace scout::vision
