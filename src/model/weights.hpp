// Text-model weights bound by name from a checkpoint, each checked for shape and dtype.
// Views point into the memory-mapped files (no copy). Shapes follow PyTorch order.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "base/tensor_view.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"

namespace scout::model {

struct LayerWeights {
    const TensorView* attn_norm = nullptr;  // [D]
    const TensorView* wq = nullptr;         // [H*d, D]
    const TensorView* wk = nullptr;         // [Hkv*d, D]
    const TensorView* wv = nullptr;         // [Hkv*d, D]
    const TensorView* wo = nullptr;         // [D, H*d]
    const TensorView* ffn_norm = nullptr;   // [D]
    // MoE layers
    const TensorView* router = nullptr;           // [E, D]
    const TensorView* experts_gate_up = nullptr;  // [E, D, 2F]  used as x·W; columns [0,F) gate, [F,2F) up
    const TensorView* experts_down = nullptr;     // [E, F, D]   used as h·W
    // GGUF layout of the same experts (llama.cpp splits and transposes them): used as x·Wᵀ.
    const TensorView* experts_gate = nullptr;     // [E, F, D]
    const TensorView* experts_up = nullptr;       // [E, F, D]
    const TensorView* experts_down_t = nullptr;   // [E, D, F]
    const TensorView* shared_gate = nullptr;      // [F, D]
    const TensorView* shared_up = nullptr;        // [F, D]
    const TensorView* shared_down = nullptr;      // [D, F]
    // dense layers
    const TensorView* mlp_gate = nullptr;  // [Fm, D]
    const TensorView* mlp_up = nullptr;    // [Fm, D]
    const TensorView* mlp_down = nullptr;  // [D, Fm]
};

struct TextWeights {
    const TensorView* embed = nullptr;    // [V, D]
    const TensorView* norm = nullptr;     // [D]
    const TensorView* lm_head = nullptr;  // [V, D] (the embedding when tied)
    std::vector<LayerWeights> layers;
    std::string prefix;                   // "language_model.model." or "model."
    std::vector<float> rope_inv_freq;     // [head_dim/2] when the file stores them (GGUF rope_freqs); else empty
    std::deque<TensorView> owned_views;   // views built by the binder (GGUF); deque: stable addresses
};

// Binds every text tensor. Accepts the multimodal layout (language_model.model.*,
// language_model.lm_head.weight) and the text-only one (model.*, lm_head.weight).
// Throws scout::Error naming the tensor and file for a missing tensor, a wrong shape
// or dtype, or a text tensor the config does not account for.
TextWeights bind_text_weights(const io::HfCheckpoint& ckpt, const TextConfig& config, const LayerPlan& plan);

}  // namespace scout::model
