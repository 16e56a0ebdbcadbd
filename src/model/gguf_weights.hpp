// Text-model weights bound from a llama.cpp `llama4` GGUF file (names: gguf_config.hpp,
// peers.md §1.4). Views point into the mapped file; quantized tensors stay quantized.
// The experts use GGUF's split, transposed layout (gate/up [E, F, D], down [E, D, F]).
#pragma once

#include "io/gguf.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::model {

// Throws scout::Error listing missing or mis-shaped tensors, or unsupported tensor types.
TextWeights bind_gguf_text_weights(const io::GgufFile& file, const TextConfig& config, const LayerPlan& plan);

}  // namespace scout::model
