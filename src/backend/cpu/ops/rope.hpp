// Rotary embedding, interleaved-pair ("complex") convention used by Llama 4 checkpoints:
// within each head, (x[2j], x[2j+1]) is rotated by angle pos * inv_freq[j].
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace scout::cpu {

// cos/sin of every (token, pair) angle: [T, d/2] each. Angles are float32 products, as in HF.
struct RopeTable {
    int64_t n_pairs = 0;
    std::vector<float> cos, sin;
};
RopeTable make_rope_table(std::span<const int64_t> positions, std::span<const float> inv_freq);
// The same into an existing table (no allocation once its vectors have the capacity).
void fill_rope_table(std::span<const int64_t> positions, std::span<const float> inv_freq, RopeTable& table);

// x: [T, n_heads, head_dim] rotated in place with row t using table row t.
void apply_rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, const RopeTable& table);

// One token's pieces of the above, for passes that split tokens over threads:
// cos/sin [n_pairs] of one position;
void rope_angles(int64_t position, std::span<const float> inv_freq, float* cos, float* sin);
// x [n_heads, head_dim] of one token rotated in place by cos/sin [head_dim / 2].
void rope_token(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin);

}  // namespace scout::cpu
