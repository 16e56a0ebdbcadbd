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

// One matrix of every routed expert, as bound at load time whatever the file's layout:
// expert e's product is y[n, out] = x[n, in] · M_e where M_e is a view into `tensor` (no copy):
//   - transposed == false: M_e = tensor[e][:, col0 : col0 + out]   (tensor [E, in, cols]; the
//     HF layout, x·W, where gate and up are the two column halves of gate_up_proj);
//   - transposed == true:  M_e = tensor[e]ᵀ                        (tensor [E, out, in]; the
//     GGUF / nn.Linear layout, x·Wᵀ).
// Kernels branch on `transposed` only (which product to run), never on the file format.
struct ExpertMatrix {
    const TensorView* tensor = nullptr;
    bool transposed = false;
    int64_t col0 = 0;  // first column of the view (transposed == false only)
    int64_t in = 0;    // inputs per row of x
    int64_t out = 0;   // outputs per row of y
};

struct ExpertWeights {
    ExpertMatrix gate;  // in D, out F
    ExpertMatrix up;    // in D, out F
    ExpertMatrix down;  // in F, out D
};

struct LayerWeights {
    const TensorView* attn_norm = nullptr;  // [D]
    const TensorView* wq = nullptr;         // [H*d, D]
    const TensorView* wk = nullptr;         // [Hkv*d, D]
    const TensorView* wv = nullptr;         // [Hkv*d, D]
    const TensorView* wo = nullptr;         // [D, H*d]
    const TensorView* ffn_norm = nullptr;   // [D]
    // MoE layers
    const TensorView* router = nullptr;       // [E, D]
    ExpertWeights experts;                    // E routed experts, one layout (see ExpertMatrix)
    const TensorView* shared_gate = nullptr;  // [F, D]
    const TensorView* shared_up = nullptr;    // [F, D]
    const TensorView* shared_down = nullptr;  // [D, F]
    // dense layers
    const TensorView* mlp_gate = nullptr;  // [Fm, D]
    const TensorView* mlp_up = nullptr;    // [Fm, D]
    const TensorView* mlp_down = nullptr;  // [D, Fm]
};

// The two file layouts of the routed experts, normalised to ExpertWeights.
// HF: gate_up [E, D, 2F] (x·W, gate = columns [0, F), up = [F, 2F)), down [E, F, D] (x·W).
ExpertWeights hf_expert_weights(const TensorView& gate_up, const TensorView& down);
// GGUF: gate [E, F, D], up [E, F, D], down [E, D, F], each x·Wᵀ.
ExpertWeights gguf_expert_weights(const TensorView& gate, const TensorView& up, const TensorView& down);

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
