// Llama 4 configuration and tensor names from a llama.cpp `llama4` GGUF file.
//
// llama.cpp's converter stores only part of the HF config in GGUF metadata
// (keys: docs/gguf.md, peers.md §1.3); the rest it hard-codes for llama4. This
// file fills those values in ONE place (kLlamaCppLlama4Defaults in
// gguf_config.cpp) with the constants llama.cpp uses, then runs the result
// through the same parse_model_config as a config.json, so every validation
// and every derived rule (layer plan, temperature) is shared with HF checkpoints.
//
// RoPE: llama4 GGUFs carry `rope_freqs.weight` [head_dim/2], the llama3 scaling
// baked into per-frequency *divisors* (llama.cpp's rope "freq_factors"): the
// frequency actually used is inv_freq_base[j] / rope_freqs[j], where
// inv_freq_base[j] = freq_base^(-2j/head_dim) is rope_inv_freq() of an unscaled
// config. gguf_rope_inv_freq() returns exactly that. When the factors equal the
// llama3 bands of Scout's rope_scaling (factor 16, low/high 1/1, original 8192),
// config.text.rope_scaling is also set to those values so rope_inv_freq(config)
// reproduces the same frequencies; otherwise it stays Default and callers must use
// gguf_rope_inv_freq().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "model/config.hpp"

namespace scout::model {

struct GgufModelConfig {
    ModelConfig config;                    // as parse_model_config would give for the HF config
    nlohmann::json hf_config;              // the equivalent config.json (for logs and debugging)
    std::vector<float> rope_freq_factors;  // rope_freqs.weight, [head_dim/2]; empty when absent
};

// Throws scout::Error naming the file and key when the architecture is not llama4
// or a required key (llama.cpp's loader requires the same ones) is missing or invalid.
GgufModelConfig gguf_model_config(const io::GgufFile& file);

// Frequencies as llama.cpp applies them: base inv_freq divided by the factors
// (no factors: plain rope_inv_freq of the config). [head_dim/2] floats.
std::vector<float> gguf_rope_inv_freq(const GgufModelConfig& g);

// How a GGUF tensor is derived from the HF checkpoint (peers.md §1.5).
enum class GgufTensorSource {
    Same,              // same values and layout (PyTorch shapes equal)
    ExpertsGateHalf,   // ffn_gate_exps [E, F, D] = transpose(gate_up_proj[:, :, :F])   (HF [E, D, 2F])
    ExpertsUpHalf,     // ffn_up_exps   [E, F, D] = transpose(gate_up_proj[:, :, F:])
    ExpertsTranspose,  // ffn_down_exps [E, D, F] = transpose(down_proj)                (HF [E, F, D])
    Generated,         // rope_freqs: computed from rope_scaling, no HF tensor
};

struct Llama4TensorName {
    std::string gguf;               // "blk.3.attn_q.weight"
    std::string hf;                 // "model.layers.3.self_attn.q_proj.weight" (text-only naming;
                                    //  multimodal checkpoints prefix "language_model."); "" if Generated
    GgufTensorSource source = GgufTensorSource::Same;
    std::vector<int64_t> shape;     // GGUF tensor shape in PyTorch order (GGUF's ne[] is this reversed)
    std::vector<int64_t> hf_shape;  // the HF tensor's shape
};

// Every tensor of a llama.cpp llama4 text GGUF for this config, in llama.cpp's order:
// token_embd, output_norm, output (absent when tied), rope_freqs, then per layer
// attn_norm, attn_q/k/v/output, ffn_norm, and either the MoE set (ffn_gate_inp,
// ffn_{gate,up,down}_exps, ffn_{gate,up,down}_shexp) or the dense ffn_{gate,up,down}.
std::vector<Llama4TensorName> llama4_tensor_names(const TextConfig& c);

// Checks that every expected tensor is present with the expected shape (and no
// unexpected tensor exists); throws scout::Error listing the first problems.
void check_llama4_tensors(const io::GgufFile& file, const TextConfig& c);

}  // namespace scout::model
