#include "model/demo_model.hpp"

#include <cmath>
#include <fstream>
#include <numbers>

#include "base/dtype.hpp"
#include "base/error.hpp"
#include "io/safetensors_writer.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"

namespace scout::model {

namespace {

// splitmix64 + Box-Muller: the same weights for a seed on every platform.
class NormalRng {
public:
    explicit NormalRng(uint64_t seed) : state_(seed) {}
    float next() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double u1 = (static_cast<double>(next_u64() >> 11) + 0.5) / 9007199254740992.0;
        const double u2 = static_cast<double>(next_u64() >> 11) / 9007199254740992.0;
        const double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = static_cast<float>(r * std::sin(2 * std::numbers::pi * u2));
        has_spare_ = true;
        return static_cast<float>(r * std::cos(2 * std::numbers::pi * u2));
    }

private:
    uint64_t next_u64() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t state_;
    bool has_spare_ = false;
    float spare_ = 0;
};

uint64_t mix(uint64_t seed, uint64_t index) { return seed * 0x100000001b3ull + index * 0x9e3779b97f4a7c15ull + 1; }

}  // namespace

DemoSize parse_demo_size(const std::string& name) {
    if (name == "small") return DemoSize::Small;
    if (name == "1b") return DemoSize::B1;
    throw Error(cat("unknown demo model size \"", name, "\"; choose small or 1b"));
}

const char* demo_size_name(DemoSize size) { return size == DemoSize::B1 ? "1b" : "small"; }

namespace {

nlohmann::json demo_text_config(DemoSize size);

nlohmann::json demo_vision_config() {
    return {
        {"model_type", "llama4_vision_model"},
        {"hidden_size", 64},
        {"num_attention_heads", 2},
        {"num_hidden_layers", 1},
        {"intermediate_size", 256},  // = hidden / 0.5^2, as HF's adapter construction needs
        {"image_size", 336},
        {"patch_size", 14},
        {"num_channels", 3},
        {"pixel_shuffle_ratio", 0.5},
        {"projector_input_dim", 64},
        {"projector_output_dim", 64},
        {"vision_output_dim", 64},
        {"hidden_act", "gelu"},
        {"norm_eps", 1e-5},
        {"rope_theta", 10000.0},
        {"vision_feature_select_strategy", "default"},
    };
}

}  // namespace

nlohmann::json demo_model_config(DemoSize size, bool vision) {
    nlohmann::json text = demo_text_config(size);
    if (!vision) return text;
    text.erase("architectures");
    return {
        {"architectures", {"Llama4ForConditionalGeneration"}},
        {"model_type", "llama4"},
        {"torch_dtype", "bfloat16"},
        {"text_config", text},
        {"vision_config", demo_vision_config()},
        {"image_token_index", 200092},  // <|patch|>
        {"boi_token_index", 200080},    // <|image_start|>
        {"eoi_token_index", 200081},    // <|image_end|>
        {"tie_word_embeddings", false},
    };
}

namespace {

nlohmann::json demo_text_config(DemoSize size) {
    nlohmann::json cfg = {
        {"architectures", {"Llama4ForCausalLM"}},
        {"model_type", "llama4_text"},
        {"torch_dtype", "bfloat16"},
        {"vocab_size", 202048},
        {"hidden_size", 256},
        {"intermediate_size", 256},
        {"intermediate_size_mlp", 512},
        {"num_hidden_layers", 8},
        {"num_attention_heads", 8},
        {"num_key_value_heads", 2},
        {"head_dim", 32},
        {"num_local_experts", 16},
        {"num_experts_per_tok", 1},
        {"interleave_moe_layer_step", 1},
        {"no_rope_layers", nlohmann::json::array()},  // derived: NoPE on every 4th layer
        {"attention_chunk_size", 64},
        {"use_qk_norm", true},
        {"attn_temperature_tuning", true},
        {"floor_scale", 8192},
        {"attn_scale", 0.1},
        {"rope_theta", 500000.0},
        {"rope_scaling",
         {{"rope_type", "llama3"}, {"factor", 16.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 1.0},
          {"original_max_position_embeddings", 256}}},
        {"max_position_embeddings", 16384},
        {"rms_norm_eps", 1e-5},
        {"hidden_act", "silu"},
        {"tie_word_embeddings", false},
        {"bos_token_id", 200000},
        {"eos_token_id", {200001, 200007, 200008}},
        {"pad_token_id", 200018},
    };
    if (size == DemoSize::B1) {
        // Scout's proportions at ~1/80 of its size: head_dim 128 and GQA as in Scout (40/8 heads
        // there, 8/2 here), every layer MoE with 16 experts + the shared expert, NoPE on every 4th
        // layer, Scout's chunk (8192) and RoPE scaling (llama3, factor 16, original 8192), and
        // Scout's context (10,485,760 positions), so that decode can be measured at any depth.
        cfg["hidden_size"] = 1024;
        cfg["intermediate_size"] = 1024;
        cfg["intermediate_size_mlp"] = 2048;
        cfg["num_hidden_layers"] = 16;
        cfg["num_attention_heads"] = 8;
        cfg["num_key_value_heads"] = 2;
        cfg["head_dim"] = 128;
        cfg["attention_chunk_size"] = 8192;
        cfg["rope_scaling"]["original_max_position_embeddings"] = 8192;
        cfg["max_position_embeddings"] = 10485760;
    }
    return cfg;
}

}  // namespace

nlohmann::json demo_generation_config() {
    return {{"do_sample", true},   {"temperature", 0.6},  {"top_p", 0.9},
            {"bos_token_id", 200000}, {"eos_token_id", {200001, 200007, 200008}}, {"pad_token_id", 200018}};
}

void write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options,
                      const std::function<void(uint64_t, uint64_t)>& progress) {
    namespace fs = std::filesystem;
    check(fs::exists(options.tokenizer_model),
          cat("tokenizer ", options.tokenizer_model, " not found; fetch the real Llama 4 tokenizer with ",
              "`tools/fetch_tokenizer.sh ~/.cache/scout/tokenizer.model` (see README) and pass it with --tokenizer"));
    fs::create_directories(dir);
    const nlohmann::json cfg_json = demo_model_config(options.size, options.vision);
    const TextConfig c = parse_model_config(cfg_json).text;
    const std::string lm = options.vision ? "language_model." : "";  // text weights' prefix
    const LayerPlan plan = make_layer_plan(c);

    io::SafetensorsWriter w;
    uint64_t tensor_index = 0;
    // Normal(0, std) values in bf16; norm weights are 1 + N(0, 0.1) so they are not all ones.
    auto add = [&](const std::string& name, std::vector<int64_t> shape, double stddev, double mean = 0.0) {
        const uint64_t seed = mix(options.seed, tensor_index++);
        w.add(name, DType::BF16, std::move(shape), [seed, stddev, mean](std::span<uint8_t> bytes) {
            NormalRng rng(seed);
            auto* out = reinterpret_cast<uint16_t*>(bytes.data());
            for (std::size_t i = 0; i < bytes.size() / 2; ++i)
                out[i] = f32_to_bf16(static_cast<float>(mean + stddev * rng.next()));
        });
    };
    const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, d = c.head_dim,
                  E = c.num_local_experts, F = c.intermediate_size, V = c.vocab_size;
    const double in_std = 1.0 / std::sqrt(static_cast<double>(D));
    // The 1b model's random network is kept out of the chaotic regime, as training keeps a real
    // model there, so that the small perturbations of quantization stay small at the logits and the
    // per-type top-1/KL numbers measure the formats, not the amplification: the projections that
    // write into the residual stream are scaled by 1/sqrt(2 L) (GPT-2's residual scaling) and the
    // router by 4 (a decisive top-1 choice, as trained routers make). The small model keeps its
    // original weights (1 and 1).
    const bool b1 = options.size == DemoSize::B1;
    const double out_scale = b1 ? 1.0 / std::sqrt(2.0 * static_cast<double>(c.num_hidden_layers)) : 1.0;
    const double router_scale = b1 ? 4.0 : 1.0;
    add(lm + "model.embed_tokens.weight", {V, D}, 1.0);
    for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
        const std::string p = lm + "model.layers." + std::to_string(il) + ".";
        add(p + "input_layernorm.weight", {D}, 0.1, 1.0);
        add(p + "post_attention_layernorm.weight", {D}, 0.1, 1.0);
        add(p + "self_attn.q_proj.weight", {H * d, D}, in_std);
        add(p + "self_attn.k_proj.weight", {Hkv * d, D}, in_std);
        add(p + "self_attn.v_proj.weight", {Hkv * d, D}, in_std);
        add(p + "self_attn.o_proj.weight", {D, H * d}, out_scale / std::sqrt(static_cast<double>(H * d)));
        check(plan.layers[static_cast<std::size_t>(il)].moe, "demo model: every layer is MoE");
        add(p + "feed_forward.router.weight", {E, D}, router_scale * in_std);
        add(p + "feed_forward.experts.gate_up_proj", {E, D, 2 * F}, in_std);
        add(p + "feed_forward.experts.down_proj", {E, F, D}, out_scale / std::sqrt(static_cast<double>(F)));
        add(p + "feed_forward.shared_expert.gate_proj.weight", {F, D}, in_std);
        add(p + "feed_forward.shared_expert.up_proj.weight", {F, D}, in_std);
        add(p + "feed_forward.shared_expert.down_proj.weight", {D, F}, out_scale / std::sqrt(static_cast<double>(F)));
    }
    add(lm + "model.norm.weight", {D}, 0.1, 1.0);
    add(lm + "lm_head.weight", {V, D}, 2.0 * in_std);
    if (options.vision) {
        const nlohmann::json& v = cfg_json["vision_config"];
        const int64_t VD = v["hidden_size"], VF = v["intermediate_size"], P = v["projector_output_dim"];
        const int64_t grid = v["image_size"].get<int64_t>() / v["patch_size"].get<int64_t>(), patch_dim = 3 * 14 * 14;
        const double vstd = 1.0 / std::sqrt(static_cast<double>(VD));
        add("vision_model.patch_embedding.linear.weight", {VD, patch_dim}, 1.0 / std::sqrt(static_cast<double>(patch_dim)));
        add("vision_model.class_embedding", {VD}, vstd);
        add("vision_model.positional_embedding_vlm", {grid * grid + 1, VD}, vstd);
        for (const char* ln : {"layernorm_pre", "layernorm_post"}) {
            add(cat("vision_model.", ln, ".weight"), {VD}, 0.1, 1.0);
            add(cat("vision_model.", ln, ".bias"), {VD}, 0.02);
        }
        for (int64_t i = 0; i < v["num_hidden_layers"].get<int64_t>(); ++i) {
            const std::string p = cat("vision_model.model.layers.", i, ".");
            for (const char* ln : {"input_layernorm", "post_attention_layernorm"}) {
                add(p + ln + ".weight", {VD}, 0.1, 1.0);
                add(p + ln + ".bias", {VD}, 0.02);
            }
            for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                add(p + "self_attn." + proj + ".weight", {VD, VD}, vstd);
                add(p + "self_attn." + proj + ".bias", {VD}, 0.02);
            }
            add(p + "mlp.fc1.weight", {VF, VD}, vstd);
            add(p + "mlp.fc1.bias", {VF}, 0.02);
            add(p + "mlp.fc2.weight", {VD, VF}, 1.0 / std::sqrt(static_cast<double>(VF)));
            add(p + "mlp.fc2.bias", {VD}, 0.02);
        }
        add("vision_model.vision_adapter.mlp.fc1.weight", {P, 4 * VD}, 1.0 / std::sqrt(4.0 * static_cast<double>(VD)));
        add("vision_model.vision_adapter.mlp.fc2.weight", {P, P}, 1.0 / std::sqrt(static_cast<double>(P)));
        add("multi_modal_projector.linear_1.weight", {D, P}, 1.0 / std::sqrt(static_cast<double>(P)));
    }

    std::ofstream(dir / "config.json") << cfg_json.dump(2) << "\n";
    std::ofstream(dir / "generation_config.json") << demo_generation_config().dump(2) << "\n";
    w.write(dir / "model.safetensors", progress);
    if (fs::absolute(options.tokenizer_model) != fs::absolute(dir / "tokenizer.model"))
        fs::copy_file(options.tokenizer_model, dir / "tokenizer.model", fs::copy_options::overwrite_existing);
}

}  // namespace scout::model
