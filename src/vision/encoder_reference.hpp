// The Llama 4 vision encoder, adapter and projector in plain float32 loops, step by step as HF's
// Llama4VisionModel and Llama4MultiModalProjector (llama4-spec.md §4.3–4.5). This is the slow
// twin that faster encoders are tested against; it is single-threaded and not meant for Scout-
// sized batches of tiles.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vision/vision_config.hpp"
#include "vision/vision_weights.hpp"

namespace scout::vision {

// pixels [tiles, C, S, S] (S = image_size) -> adapter output [tiles * tokens_per_tile, P]
// (HF: vision_model(pixel_values).last_hidden_state, flattened tile-major).
std::vector<float> encode_tiles_reference(const VisionConfig& config, const VisionWeights& weights,
                                          std::span<const float> pixels, int64_t tiles);

// features [rows, P] -> [rows, text hidden]: multi_modal_projector.linear_1 (no bias); these rows
// replace the embeddings at the <|patch|> tokens, in order.
std::vector<float> project_features_reference(const VisionConfig& config, const VisionWeights& weights,
                                              std::span<const float> features);

}  // namespace scout::vision
