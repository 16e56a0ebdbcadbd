// Rotary position embedding frequencies (interleaved-pair convention, llama3 scaling)
// and the attention temperature of NoPE layers. Pure functions of the config.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.hpp"

namespace scout::model {

// inv_freq[j] for j = 0 .. head_dim/2-1, in float32 as transformers computes it.
std::vector<float> rope_inv_freq(const TextConfig& config);

// Query scale of a NoPE layer at absolute position pos:
// 1 + attn_scale * log1p(floor((pos + 1) / floor_scale)), evaluated in float32.
float attn_temperature(const TextConfig& config, int64_t pos);

}  // namespace scout::model
