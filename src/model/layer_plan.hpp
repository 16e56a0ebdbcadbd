// The per-layer rules of Llama 4, decided once from the config (design.md:
// "Llama 4 rules live in model/"). Kernels never ask "is this Llama 4"; they get
// the flags below.
//
//   RoPE layer      <=> no_rope_layers[il] == 1 (default: (il+1) % interval != 0)
//   chunked attn    <=> layer_types[il] == "chunked_attention" when given, else RoPE layer
//                       (and only when attention_chunk_size is set)
//   QK norm         <=> use_qk_norm && RoPE layer
//   temperature     <=> attn_temperature_tuning && NoPE layer
//   MoE             <=> il in moe_layers (default: il % step == step-1), else dense SwiGLU of width Fm
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace scout::model {

struct LayerRule {
    bool rope = true;          // rotary embedding on q and k
    bool chunked = true;       // chunk-local causal attention (else full causal)
    bool qk_norm = true;       // weightless RMS norm of q and k per head, after RoPE
    bool temperature = false;  // position-dependent query scaling
    bool moe = true;           // routed experts + shared expert (else dense SwiGLU)
};

struct LayerPlan {
    std::vector<LayerRule> layers;
    int64_t chunk_size = 0;  // C, 0 = no chunking

    int64_t n_layers() const { return static_cast<int64_t>(layers.size()); }
    int64_t n_chunked() const;
    int64_t n_global() const { return n_layers() - n_chunked(); }
    int64_t n_moe() const;
    int64_t n_dense() const { return n_layers() - n_moe(); }
    int64_t n_rope() const;
};

// Throws scout::Error when no_rope_layers/layer_types/moe_layers disagree with num_hidden_layers.
LayerPlan make_layer_plan(const TextConfig& config);

// Human-readable table, one row per layer (used by `scout info`).
std::string format_layer_plan(const LayerPlan& plan);

}  // namespace scout::model
