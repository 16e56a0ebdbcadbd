#include "backend/cpu/ops/rope.hpp"

#include <cmath>

namespace scout::cpu {

RopeTable make_rope_table(std::span<const int64_t> positions, std::span<const float> inv_freq) {
    RopeTable t;
    fill_rope_table(positions, inv_freq, t);
    return t;
}

void fill_rope_table(std::span<const int64_t> positions, std::span<const float> inv_freq, RopeTable& t) {
    t.n_pairs = static_cast<int64_t>(inv_freq.size());
    t.cos.resize(positions.size() * inv_freq.size());
    t.sin.resize(positions.size() * inv_freq.size());
    for (std::size_t i = 0; i < positions.size(); ++i)
        for (std::size_t j = 0; j < inv_freq.size(); ++j) {
            const float angle = static_cast<float>(positions[i]) * inv_freq[j];
            t.cos[i * inv_freq.size() + j] = static_cast<float>(std::cos(static_cast<double>(angle)));
            t.sin[i * inv_freq.size() + j] = static_cast<float>(std::sin(static_cast<double>(angle)));
        }
}

void apply_rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, const RopeTable& table) {
    const int64_t half = head_dim / 2;
    for (int64_t t = 0; t < T; ++t) {
        const float* c = table.cos.data() + t * table.n_pairs;
        const float* s = table.sin.data() + t * table.n_pairs;
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + (t * n_heads + h) * head_dim;
            for (int64_t j = 0; j < half; ++j) {
                const float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = a * c[j] - b * s[j];
                v[2 * j + 1] = a * s[j] + b * c[j];
            }
        }
    }
}

}  // namespace scout::cpu
