#include "model/config.hpp"

#include "base/error.hpp"
#include "io/json_read.hpp"

namespace scout::model {

namespace {

using nlohmann::json;

// Typed reads that name the key on error; absent or null keys keep the default.
template <typename T>
void read(const json& j, const char* key, T& out) {
    io::read_json_key(j, key, out, "config.json");
}

void read_bool_like(const json& j, const char* key, bool& out) {
    // 4.51-era configs store attn_temperature_tuning as the int 4, used only as truthy.
    if (!j.contains(key) || j[key].is_null()) return;
    if (j[key].is_boolean()) out = j[key].get<bool>();
    else if (j[key].is_number()) out = j[key].get<double>() != 0.0;
    else throw Error(cat("config.json: key \"", key, "\" must be a boolean"));
}

std::vector<int32_t> read_id_list(const json& j) {
    std::vector<int32_t> ids;
    if (j.is_number_integer()) ids.push_back(j.get<int32_t>());
    else if (j.is_array())
        for (const auto& v : j) {
            check(v.is_number_integer(), "config.json: token id lists must hold integers");
            ids.push_back(v.get<int32_t>());
        }
    return ids;
}

DType parse_dtype(const std::string& s) {
    if (s == "bfloat16") return DType::BF16;
    if (s == "float16") return DType::F16;
    if (s == "float32") return DType::F32;
    throw Error(cat("config.json: unsupported torch_dtype \"", s, "\" (expected bfloat16, float16 or float32)"));
}

void parse_rope(const json& t, TextConfig& c) {
    // v5: rope_parameters = {rope_type, rope_theta, factor, ...}; 4.x: rope_theta + rope_scaling.
    json scaling;
    if (t.contains("rope_parameters") && t["rope_parameters"].is_object()) {
        scaling = t["rope_parameters"];
        read(scaling, "rope_theta", c.rope_theta);
    } else if (t.contains("rope_scaling") && t["rope_scaling"].is_object()) {
        scaling = t["rope_scaling"];
    }
    read(t, "rope_theta", c.rope_theta);
    if (scaling.is_null()) return;
    std::string type = "default";
    read(scaling, "type", type);       // legacy spelling
    read(scaling, "rope_type", type);
    if (type == "default") return;
    check(type == "llama3", cat("config.json: rope type \"", type,
                                "\" is not supported by Llama 4 (expected \"llama3\" or none)"));
    c.rope_scaling.type = RopeType::Llama3;
    read(scaling, "factor", c.rope_scaling.factor);
    read(scaling, "low_freq_factor", c.rope_scaling.low_freq_factor);
    read(scaling, "high_freq_factor", c.rope_scaling.high_freq_factor);
    read(scaling, "original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings);
    check(c.rope_scaling.factor > 0 && c.rope_scaling.low_freq_factor > 0 &&
              c.rope_scaling.high_freq_factor >= c.rope_scaling.low_freq_factor &&
              c.rope_scaling.original_max_position_embeddings > 0,
          "config.json: llama3 rope scaling needs factor > 0, 0 < low_freq_factor <= high_freq_factor and "
          "original_max_position_embeddings > 0");
}

TextConfig parse_text(const json& t) {
    TextConfig c;
    read(t, "vocab_size", c.vocab_size);
    read(t, "hidden_size", c.hidden_size);
    read(t, "intermediate_size", c.intermediate_size);
    read(t, "intermediate_size_mlp", c.intermediate_size_mlp);
    read(t, "num_hidden_layers", c.num_hidden_layers);
    read(t, "num_attention_heads", c.num_attention_heads);
    c.num_key_value_heads = c.num_attention_heads;  // HF: None -> H
    read(t, "num_key_value_heads", c.num_key_value_heads);
    c.head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;  // HF: None -> D/H
    read(t, "head_dim", c.head_dim);
    read(t, "rms_norm_eps", c.rms_norm_eps);
    parse_rope(t, c);
    if (t.contains("attention_chunk_size") && t["attention_chunk_size"].is_null()) c.attention_chunk_size = 0;
    read(t, "attention_chunk_size", c.attention_chunk_size);
    read(t, "use_qk_norm", c.use_qk_norm);
    read(t, "no_rope_layers", c.no_rope_layers);
    read(t, "no_rope_layer_interval", c.no_rope_layer_interval);
    read(t, "layer_types", c.layer_types);
    read_bool_like(t, "attn_temperature_tuning", c.attn_temperature_tuning);
    read(t, "floor_scale", c.floor_scale);
    read(t, "attn_scale", c.attn_scale);
    read(t, "num_local_experts", c.num_local_experts);
    read(t, "num_experts_per_tok", c.num_experts_per_tok);
    if (t.contains("moe_layers") && !t["moe_layers"].is_null()) {
        std::vector<int64_t> layers;
        read(t, "moe_layers", layers);
        c.moe_layers = layers;
    }
    read(t, "interleave_moe_layer_step", c.interleave_moe_layer_step);
    read(t, "max_position_embeddings", c.max_position_embeddings);
    read(t, "tie_word_embeddings", c.tie_word_embeddings);
    read(t, "hidden_act", c.hidden_act);
    read(t, "attention_bias", c.attention_bias);
    for (const char* key : {"torch_dtype", "dtype"})
        if (t.contains(key) && t[key].is_string()) c.dtype = parse_dtype(t[key].get<std::string>());
    return c;
}

void validate(const TextConfig& c) {
    auto positive = [](int64_t v, const char* key) {
        check(v > 0, cat("config.json: \"", key, "\" must be positive (got ", v, ")"));
    };
    positive(c.vocab_size, "vocab_size");
    positive(c.hidden_size, "hidden_size");
    positive(c.intermediate_size, "intermediate_size");
    positive(c.num_hidden_layers, "num_hidden_layers");
    positive(c.num_attention_heads, "num_attention_heads");
    positive(c.num_key_value_heads, "num_key_value_heads");
    positive(c.head_dim, "head_dim");
    check(c.num_hidden_layers <= 4096 && c.num_attention_heads <= 4096 && c.head_dim <= 4096 &&
              c.hidden_size <= (1 << 20) && c.vocab_size <= (1 << 24),
          "config.json: model dimensions are implausibly large");
    check(c.head_dim % 2 == 0, cat("config.json: head_dim must be even for RoPE (got ", c.head_dim, ")"));
    check(c.num_attention_heads % c.num_key_value_heads == 0,
          cat("config.json: num_attention_heads (", c.num_attention_heads,
              ") must be a multiple of num_key_value_heads (", c.num_key_value_heads, ")"));
    check(c.attention_chunk_size >= 0, "config.json: attention_chunk_size must be positive or null");
    check(c.hidden_act == "silu", cat("config.json: hidden_act \"", c.hidden_act, "\" unsupported (Llama 4 uses silu)"));
    check(!c.attention_bias, "config.json: attention_bias=true is not supported (no Llama 4 model uses it)");
    check(c.rms_norm_eps > 0, "config.json: rms_norm_eps must be positive");
    check(c.floor_scale > 0, "config.json: floor_scale must be positive");
    check(c.interleave_moe_layer_step > 0, "config.json: interleave_moe_layer_step must be positive");
    check(c.no_rope_layer_interval > 0, "config.json: no_rope_layer_interval must be positive");
    const bool any_moe = !c.moe_layers || !c.moe_layers->empty();
    if (any_moe) {
        positive(c.num_local_experts, "num_local_experts");
        check(c.num_experts_per_tok >= 1 && c.num_experts_per_tok <= c.num_local_experts,
              cat("config.json: num_experts_per_tok (", c.num_experts_per_tok, ") must be in 1..num_local_experts (",
                  c.num_local_experts, ")"));
    }
}

}  // namespace

ModelConfig parse_model_config(const json& j) {
    check(j.is_object(), "config.json must hold a JSON object");
    ModelConfig m;
    read(j, "model_type", m.model_type);
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        m.architecture = j["architectures"][0].get<std::string>();
    const json* text = &j;
    if (m.model_type == "llama4" || j.contains("text_config")) {
        check(j.contains("text_config") && j["text_config"].is_object(),
              "config.json: model_type \"llama4\" needs a \"text_config\" object");
        text = &j["text_config"];
        m.multimodal = true;
        if (j.contains("vision_config")) m.vision_config = j["vision_config"];
        for (const char* key : {"image_token_index", "image_token_id"}) read(j, key, m.image_token_index);
    } else {
        check(m.model_type == "llama4_text" || m.model_type.empty(),
              cat("config.json: model_type \"", m.model_type, "\" is not a Llama 4 model ",
                  "(expected \"llama4\" or \"llama4_text\")"));
    }
    m.text = parse_text(*text);
    // Top-level dtype applies when the text config does not carry one.
    if (m.multimodal && !text->contains("torch_dtype") && !text->contains("dtype"))
        for (const char* key : {"torch_dtype", "dtype"})
            if (j.contains(key) && j[key].is_string()) m.text.dtype = parse_dtype(j[key].get<std::string>());
    validate(m.text);
    for (const json* src : {&j, text}) {
        if (src->contains("eos_token_id") && !(*src)["eos_token_id"].is_null())
            m.eos_token_ids = read_id_list((*src)["eos_token_id"]);
        read(*src, "bos_token_id", m.bos_token_id);
        read(*src, "pad_token_id", m.pad_token_id);
    }
    return m;
}

}  // namespace scout::model
