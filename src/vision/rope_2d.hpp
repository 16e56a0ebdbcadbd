// The vision encoder's 2-D RoPE angles, shared by the encoder and its twin (both rotate with the
// same float32 tables, as HF precomputes freqs_ci once; llama4-spec.md §4.3).
#pragma once

#include <vector>

#include "vision/vision_config.hpp"

namespace scout::vision {

// cos/sin per token [patches + 1, head_dim/2]: pair j < head_dim/4 turns by (x+1)·f_j, the rest by
// (y+1)·f_(j - head_dim/4), f_m = theta^(-4m/head_dim) in float32; the class token (last) is not
// turned (cos 1, sin 0).
void rope_2d_tables(const VisionConfig& config, std::vector<float>& cos_t, std::vector<float>& sin_t);

}  // namespace scout::vision
