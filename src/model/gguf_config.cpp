#include "model/gguf_config.hpp"

#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "model/rope.hpp"

namespace scout::model {
namespace {

// ---- The values llama.cpp hard-codes for LLM_ARCH_LLAMA4 (not stored in GGUF) ----
// Source: llama.cpp src/llama-model.cpp (llama4 hparams) and src/models/llama-iswa.cpp,
// summarised in shared/docs/peers.md §1.2-1.3. They equal Scout's/Maverick's config.json.
struct LlamaCppLlama4Defaults {
    int64_t attention_chunk_size = 8192;  // n_swa with LLAMA_SWA_TYPE_CHUNKED (pattern: 3 chunked + 1 full)
    int64_t no_rope_layer_interval = 4;   // n_no_rope_layer_step: layer il is NoPE when (il+1) % 4 == 0
    bool attn_temperature_tuning = true;  // build_inp_attn_scale(): Q scale in NoPE layers
    double floor_scale = 8192.0;          // n_attn_temp_floor_scale
    double attn_scale = 0.1;              // f_attn_temp_scale (offset 1.0 is part of our formula)
    int64_t qk_norm_off_expert_count = 128;  // use_kq_norm = false for the 128-expert Maverick
    double rope_freq_base_default = 10000.0;  // llama.cpp's generic default when the key is absent
    // Scout's llama3 rope_scaling, used only to recognise rope_freqs.weight (see the header).
    RopeScaling scout_rope_scaling{RopeType::Llama3, 16.0f, 1.0f, 1.0f, 8192};
};
constexpr LlamaCppLlama4Defaults kLlamaCppLlama4Defaults{};

int64_t require_int(const io::GgufFile& f, const std::string& key) {
    try {
        return f.get(key).as_int();
    } catch (const Error& e) {
        throw Error(cat("GGUF file ", f.label(), ": llama4 key \"", key, "\": ", e.what()));
    }
}

double require_float(const io::GgufFile& f, const std::string& key) {
    try {
        return f.get(key).as_float();
    } catch (const Error& e) {
        throw Error(cat("GGUF file ", f.label(), ": llama4 key \"", key, "\": ", e.what()));
    }
}

// The factors llama.cpp's converter writes for a llama3 rope_scaling: base / scaled.
std::vector<float> llama3_factors(TextConfig c, const RopeScaling& s) {
    c.rope_scaling = RopeScaling{};
    const std::vector<float> base = rope_inv_freq(c);
    c.rope_scaling = s;
    const std::vector<float> scaled = rope_inv_freq(c);
    std::vector<float> out(base.size());
    for (std::size_t j = 0; j < base.size(); ++j) out[j] = base[j] / scaled[j];
    return out;
}

}  // namespace

GgufModelConfig gguf_model_config(const io::GgufFile& f) {
    const auto& d = kLlamaCppLlama4Defaults;
    const std::string arch = f.architecture();
    check(arch == "llama4", cat("GGUF file ", f.label(), ": architecture is \"", arch,
                                "\", expected \"llama4\" (a llama.cpp Llama 4 text GGUF)"));
    // llama.cpp's gguf-split writes a model as several files; each holds only some tensors.
    // GgufFile opens the other parts when given the first part's path; bytes parsed from
    // memory (tests, the fuzzer) have no siblings to open.
    if (const io::GgufValue* n = f.find("split.count"); n && n->as_int() > 1 && f.n_files() != static_cast<std::size_t>(n->as_int()))
        throw Error(cat("GGUF file ", f.label(), " is part of a model split into ", n->as_int(),
                        " files whose other parts were not opened: open the first part (…-00001-of-N.gguf) from the "
                        "folder holding all parts, or merge them with llama.cpp's "
                        "`llama-gguf-split --merge FIRST_PART.gguf OUT.gguf`"));
    const std::string p = arch + ".";
    nlohmann::json t;
    t["model_type"] = "llama4_text";
    t["architectures"] = {"Llama4ForCausalLM"};
    // Keys llama.cpp's loader requires for llama4.
    t["num_hidden_layers"] = require_int(f, p + "block_count");
    t["hidden_size"] = require_int(f, p + "embedding_length");
    t["intermediate_size"] = require_int(f, p + "expert_feed_forward_length");
    t["num_local_experts"] = require_int(f, p + "expert_count");
    t["num_experts_per_tok"] = require_int(f, p + "expert_used_count");
    t["interleave_moe_layer_step"] = require_int(f, p + "interleave_moe_layer_step");
    t["num_attention_heads"] = require_int(f, p + "attention.head_count");
    t["rms_norm_eps"] = require_float(f, p + "attention.layer_norm_rms_epsilon");
    t["max_position_embeddings"] = require_int(f, p + "context_length");
    // Optional keys, with llama.cpp's fallbacks.
    t["num_key_value_heads"] = f.get_int(p + "attention.head_count_kv", t["num_attention_heads"].get<int64_t>());
    t["intermediate_size_mlp"] = f.get_int(p + "feed_forward_length", t["intermediate_size"].get<int64_t>());
    const int64_t head_dim_default = t["hidden_size"].get<int64_t>() / std::max<int64_t>(1, t["num_attention_heads"].get<int64_t>());
    t["head_dim"] = f.get_int(p + "attention.key_length", f.get_int(p + "rope.dimension_count", head_dim_default));
    t["rope_theta"] = f.get_float(p + "rope.freq_base", d.rope_freq_base_default);
    int64_t vocab = f.get_int(p + "vocab_size", 0);
    if (vocab == 0) {
        if (const io::GgufValue* tok = f.find("tokenizer.ggml.tokens"); tok && tok->is_array()) vocab = static_cast<int64_t>(tok->count);
        else if (const io::GgufTensorInfo* e = f.find_tensor("token_embd.weight"); e && e->ne.size() == 2) vocab = e->ne[1];
    }
    t["vocab_size"] = vocab;
    // The values llama.cpp hard-codes (above). An explicit sliding_window key (0 = every
    // layer full attention, as llama.cpp reads it for MobileLLM-R1-style files) wins.
    t["attention_chunk_size"] = f.get_int(p + "attention.sliding_window", d.attention_chunk_size);
    t["no_rope_layer_interval"] = d.no_rope_layer_interval;
    t["attn_temperature_tuning"] = d.attn_temperature_tuning;
    t["floor_scale"] = d.floor_scale;
    t["attn_scale"] = d.attn_scale;
    t["use_qk_norm"] = t["num_local_experts"].get<int64_t>() != d.qk_norm_off_expert_count;
    t["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;  // llama.cpp falls back to token_embd
    t["rope_scaling"] = nullptr;
    // scout's own keys (written by `scout quantize`, ignored by llama.cpp) carry the values
    // llama.cpp hard-codes, so files of non-Scout configs (e.g. the tiny test models) keep them.
    const std::string sp = "scout.llama4.";
    if (f.find(sp + "attention_chunk_size")) t["attention_chunk_size"] = f.get_int(sp + "attention_chunk_size", 0);
    if (const io::GgufValue* v = f.find(sp + "no_rope_layers")) t["no_rope_layers"] = v->as_int_array();
    if (const io::GgufValue* v = f.find(sp + "moe_layers")) t["moe_layers"] = v->as_int_array();
    if (const io::GgufValue* v = f.find(sp + "use_qk_norm")) t["use_qk_norm"] = v->as_bool();
    if (const io::GgufValue* v = f.find(sp + "attn_temperature_tuning")) t["attn_temperature_tuning"] = v->as_bool();
    if (const io::GgufValue* v = f.find(sp + "floor_scale")) t["floor_scale"] = v->as_float();
    if (const io::GgufValue* v = f.find(sp + "attn_scale")) t["attn_scale"] = v->as_float();
    if (const io::GgufValue* v = f.find("tokenizer.ggml.bos_token_id")) t["bos_token_id"] = v->as_int();
    if (const io::GgufValue* v = f.find("tokenizer.ggml.eos_token_id")) t["eos_token_id"] = v->as_int();
    if (const io::GgufValue* v = f.find("tokenizer.ggml.padding_token_id")) t["pad_token_id"] = v->as_int();

    GgufModelConfig g;
    try {
        g.config = parse_model_config(t);
    } catch (const Error& e) {
        throw Error(cat("GGUF file ", f.label(), ": ", e.what(), " (config.json equivalent built from the GGUF metadata)"));
    }
    if (const io::GgufTensorInfo* r = f.find_tensor("rope_freqs.weight")) {
        const int64_t half = g.config.text.head_dim / 2;
        check(r->dtype == DType::F32 && r->ne == std::vector<int64_t>{half},
              cat("GGUF file ", f.label(), ": rope_freqs.weight must be F32 [", half, "], got ", r->type_name, " ",
                  shape_str(r->shape())));
        g.rope_freq_factors.resize(static_cast<std::size_t>(half));
        std::memcpy(g.rope_freq_factors.data(), f.tensor_data(*r), static_cast<std::size_t>(half) * 4);
        for (float x : g.rope_freq_factors)
            check(std::isfinite(x) && x > 0, cat("GGUF file ", f.label(), ": rope_freqs.weight holds ", x, " (must be > 0)"));
        const std::vector<float> scout = llama3_factors(g.config.text, d.scout_rope_scaling);
        bool same = true;
        for (std::size_t j = 0; j < scout.size(); ++j)
            same = same && std::fabs(scout[j] - g.rope_freq_factors[j]) <= 1e-5f * scout[j];
        if (same) {
            g.config.text.rope_scaling = d.scout_rope_scaling;
            t["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 16.0}, {"low_freq_factor", 1.0},
                                 {"high_freq_factor", 1.0}, {"original_max_position_embeddings", 8192}};
        }
    }
    g.hf_config = std::move(t);
    return g;
}

std::vector<float> gguf_rope_inv_freq(const GgufModelConfig& g) {
    TextConfig c = g.config.text;
    if (g.rope_freq_factors.empty()) return rope_inv_freq(c);
    c.rope_scaling = RopeScaling{};
    std::vector<float> inv = rope_inv_freq(c);
    check(inv.size() == g.rope_freq_factors.size(), "rope_freqs.weight does not match head_dim / 2");
    for (std::size_t j = 0; j < inv.size(); ++j) inv[j] /= g.rope_freq_factors[j];
    return inv;
}

}  // namespace scout::model
