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
        rope_angles(positions[i], inv_freq, t.cos.data() + i * inv_freq.size(), t.sin.data() + i * inv_freq.size());
}

void rope_angles(int64_t position, std::span<const float> inv_freq, float* cos, float* sin) {
    for (std::size_t j = 0; j < inv_freq.size(); ++j) {
        const float angle = static_cast<float>(position) * inv_freq[j];
        cos[j] = static_cast<float>(std::cos(static_cast<double>(angle)));
        sin[j] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

void rope_token(float* x, int64_t n_heads, int64_t head_dim, const float* c, const float* s) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (int64_t j = 0; j < half; ++j) {
            const float a = v[2 * j], b = v[2 * j + 1];
            v[2 * j] = a * c[j] - b * s[j];
            v[2 * j + 1] = a * s[j] + b * c[j];
        }
    }
}

void apply_rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, const RopeTable& table) {
    for (int64_t t = 0; t < T; ++t)
        rope_token(x + t * n_heads * head_dim, n_heads, head_dim, table.cos.data() + t * table.n_pairs,
                   table.sin.data() + t * table.n_pairs);
}

}  // namespace scout::cpu
