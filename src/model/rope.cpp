#include "model/rope.hpp"

#include <cmath>
#include <numbers>

namespace scout::model {

std::vector<float> rope_inv_freq(const TextConfig& c) {
    const int64_t half = c.head_dim / 2;
    std::vector<float> inv(static_cast<std::size_t>(half));
    for (int64_t j = 0; j < half; ++j) {
        // HF: 1 / base ** (arange(0, d, 2).float() / d), all in float32.
        const float exponent = static_cast<float>(2 * j) / static_cast<float>(c.head_dim);
        const float base_pow = static_cast<float>(std::pow(static_cast<double>(static_cast<float>(c.rope_theta)),
                                                           static_cast<double>(exponent)));
        inv[static_cast<std::size_t>(j)] = 1.0f / base_pow;
    }
    if (c.rope_scaling.type != RopeType::Llama3) return inv;

    // llama3 bands: keep high frequencies, divide low ones by `factor`, blend the middle.
    // Only the selected branch is evaluated (with lo == hi the blend would divide by zero).
    const RopeScaling& s = c.rope_scaling;
    const float old_len = static_cast<float>(s.original_max_position_embeddings);
    const float low_wavelen = old_len / s.low_freq_factor;
    const float high_wavelen = old_len / s.high_freq_factor;
    for (float& f : inv) {
        const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
        if (wavelen < high_wavelen) continue;
        if (wavelen > low_wavelen) {
            f = f / s.factor;
        } else {
            const float smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
            f = (1.0f - smooth) * f / s.factor + smooth * f;
        }
    }
    return inv;
}

float attn_temperature(const TextConfig& c, int64_t pos) {
    const float floor_scale = static_cast<float>(c.floor_scale);
    const float bucket = std::floor((static_cast<float>(pos) + 1.0f) / floor_scale);
    return std::log1p(bucket) * static_cast<float>(c.attn_scale) + 1.0f;
}

}  // namespace scout::model
