// The Llama 4 text configuration, read from a Hugging Face config.json.
// Accepts Llama4ForConditionalGeneration (model_type "llama4", text part under
// "text_config") and Llama4ForCausalLM (model_type "llama4_text"), in both the
// transformers 4.x spelling (rope_theta + rope_scaling) and the v5 spelling
// (rope_parameters). Defaults for absent keys are the transformers defaults
// (docs/llama4.md lists them); nothing Scout-specific is hard-coded.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/dtype.hpp"

namespace scout::model {

enum class RopeType { Default, Llama3 };

struct RopeScaling {
    RopeType type = RopeType::Default;
    float factor = 1.0f;                // llama3: divide low frequencies by this
    float low_freq_factor = 1.0f;
    float high_freq_factor = 1.0f;
    int64_t original_max_position_embeddings = 0;
};

struct TextConfig {
    int64_t vocab_size = 202048;
    int64_t hidden_size = 5120;               // D
    int64_t intermediate_size = 8192;         // F: routed and shared expert width
    int64_t intermediate_size_mlp = 16384;    // Fm: dense layer width
    int64_t num_hidden_layers = 48;           // L
    int64_t num_attention_heads = 40;         // H
    int64_t num_key_value_heads = 8;          // Hkv
    int64_t head_dim = 128;                   // d (independent of D/H)
    float rms_norm_eps = 1e-5f;               // every RMSNorm and the QK norm
    double rope_theta = 500000.0;
    RopeScaling rope_scaling;
    int64_t attention_chunk_size = 8192;      // C; 0 = no chunked attention (key absent/null)
    bool use_qk_norm = true;
    std::vector<int> no_rope_layers;          // per layer: 1 = uses RoPE, 0 = NoPE (as given; may be empty)
    int64_t no_rope_layer_interval = 4;
    std::vector<std::string> layer_types;     // "chunked_attention"/"full_attention" (v5; may be empty)
    bool attn_temperature_tuning = true;
    double floor_scale = 8192.0;
    double attn_scale = 0.1;
    int64_t num_local_experts = 16;           // E
    int64_t num_experts_per_tok = 1;          // k
    std::optional<std::vector<int64_t>> moe_layers;  // explicit list, overrides the step
    int64_t interleave_moe_layer_step = 1;
    int64_t max_position_embeddings = 131072;
    bool tie_word_embeddings = false;
    std::string hidden_act = "silu";
    bool attention_bias = false;
    DType dtype = DType::BF16;                // torch_dtype / dtype of the checkpoint
};

struct ModelConfig {
    std::string model_type;          // "llama4" or "llama4_text"
    std::string architecture;        // first entry of "architectures", if any
    bool multimodal = false;         // text part nested under text_config
    TextConfig text;
    nlohmann::json vision_config;    // raw, null for text-only checkpoints
    int64_t image_token_index = -1;  // -1 for text-only checkpoints
    std::vector<int32_t> eos_token_ids;
    int32_t bos_token_id = -1;
    int32_t pad_token_id = -1;
};

// Throws scout::Error naming the offending key when a value is missing, of the
// wrong type or inconsistent (e.g. heads not divisible by kv heads).
ModelConfig parse_model_config(const nlohmann::json& config_json);

}  // namespace scout::model
