// The vision tower's and projector's weights, bound by their Hugging Face names
// (vision_model.*, multi_modal_projector.*; llama4-spec.md §3.1), each checked for shape, and
// held as float32 copies: BF16 and F16 checkpoints, and the block formats of a quantized mmproj
// file, are widened once at load (encoder_cpu.hpp says why).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/hf_checkpoint.hpp"
#include "vision/vision_config.hpp"

namespace scout::vision {

struct VisionLayerWeights {
    std::vector<float> ln1_w, ln1_b;          // [D]   input_layernorm
    std::vector<float> wq, bq, wk, bk, wv, bv;  // [D, D], [D]
    std::vector<float> wo, bo;                // [D, D], [D]
    std::vector<float> ln2_w, ln2_b;          // [D]   post_attention_layernorm
    std::vector<float> fc1_w, fc1_b;          // [F, D], [F]
    std::vector<float> fc2_w, fc2_b;          // [D, F], [D]
};

struct VisionWeights {
    std::vector<float> patch_embed;      // [D, C*p*p]  (no bias)
    std::vector<float> class_embedding;  // [D]
    std::vector<float> positions;        // [patches + 1, D]  (the last row is the class token's)
    std::vector<float> ln_pre_w, ln_pre_b, ln_post_w, ln_post_b;  // [D]
    std::vector<VisionLayerWeights> layers;
    std::vector<float> adapter_fc1;      // [P, 4D]  (no bias)
    std::vector<float> adapter_fc2;      // [P, P]   (no bias)
    std::vector<float> projector;        // [text D, P]  (no bias)
};

// Finds a tensor by its Hugging Face name (nullopt when absent); `source` names the file or
// directory in errors.
using VisionTensorLookup = std::function<std::optional<TensorView>(const std::string& hf_name)>;

// Throws scout::Error naming the tensor when one is missing, of another shape, or of a dtype
// scout cannot widen (F32, BF16, F16 and the GGUF block formats are read).
VisionWeights load_vision_weights(const VisionTensorLookup& find, const std::string& source, const VisionConfig& config);
VisionWeights load_vision_weights(const io::HfCheckpoint& checkpoint, const VisionConfig& config);

}  // namespace scout::vision
