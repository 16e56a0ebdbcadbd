#include "vision/mmproj_gguf.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace scout::vision {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Hugging Face → llama.cpp (gguf-py tensor_mapping.py, the "llama 4" entries).
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTop = {{
    {"vision_model.patch_embedding.linear.", "v.patch_embd."},
    {"vision_model.positional_embedding_vlm", "v.position_embd.weight"},
    {"vision_model.class_embedding", "v.class_embd"},
    {"vision_model.layernorm_pre.", "v.pre_ln."},
    {"vision_model.layernorm_post.", "v.post_ln."},
    {"vision_model.vision_adapter.mlp.fc", "mm.model.mlp."},  // fc1 -> mm.model.mlp.1
    {"multi_modal_projector.linear_1.", "mm.model.fc."},
}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kLayer = {{
    {"input_layernorm.", "ln1."},
    {"self_attn.q_proj.", "attn_q."},
    {"self_attn.k_proj.", "attn_k."},
    {"self_attn.v_proj.", "attn_v."},
    {"self_attn.o_proj.", "attn_out."},
    {"post_attention_layernorm.", "ln2."},
    {"mlp.fc1.", "ffn_up."},
    {"mlp.fc2.", "ffn_down."},
}};

int64_t key_int(const io::GgufFile& f, const std::string& key) {
    const io::GgufValue* v = f.find(key);
    if (!v) throw Error(cat(f.label(), ": the mmproj file lacks the key ", key));
    return v->as_int();
}

}  // namespace

bool is_llama4_mmproj(const io::GgufFile& file) { return file.get_string("clip.projector_type", "") == "llama4"; }

std::string mmproj_tensor_name(std::string_view hf) {
    for (const auto& [from, to] : kTop)
        if (starts_with(hf, from)) return cat(to, hf.substr(from.size()));
    constexpr std::string_view layers = "vision_model.model.layers.";
    if (starts_with(hf, layers)) {
        const std::string_view rest = hf.substr(layers.size());
        const size_t dot = rest.find('.');
        if (dot != std::string_view::npos)
            for (const auto& [from, to] : kLayer)
                if (starts_with(rest.substr(dot + 1), from))
                    return cat("v.blk.", rest.substr(0, dot), ".", to, rest.substr(dot + 1 + from.size()));
    }
    throw Error(cat("no mmproj name for the tensor ", hf, " (not part of the Llama 4 vision tower)"));
}

VisionTower load_vision_tower_mmproj(const std::filesystem::path& path) {
    const io::GgufFile f(path);
    if (f.architecture() != "clip" || !is_llama4_mmproj(f))
        throw Error(cat(path.string(), " is not a Llama 4 mmproj file (general.architecture \"", f.architecture(),
                        "\", clip.projector_type \"", f.get_string("clip.projector_type", ""),
                        "\"; llama.cpp's convert_hf_to_gguf.py --mmproj writes one from a Llama 4 checkpoint)"));
    if (f.find("clip.has_vision_encoder") && !f.get("clip.has_vision_encoder").as_bool())
        throw Error(cat(path.string(), ": clip.has_vision_encoder is false"));
    for (const char* key : {"clip.vision.image_mean", "clip.vision.image_std"})
        if (const io::GgufValue* v = f.find(key))
            for (double x : v->as_float_array())
                if (x != 0.5)
                    throw Error(cat(path.string(), ": ", key, " holds ", x, "; Llama 4 normalises with 0.5 and scout reproduces only that"));
    // The adapter's width is not a key: it is the shape of mm.model.mlp.2.weight [P, P].
    const io::GgufTensorInfo* adapter = f.find_tensor("mm.model.mlp.2.weight");
    if (!adapter || adapter->ne.size() != 2) throw Error(cat(path.string(), ": the mmproj file lacks the tensor mm.model.mlp.2.weight"));
    const int64_t P = adapter->ne[1];
    const int64_t scale = key_int(f, "clip.vision.projector.scale_factor");
    if (scale <= 0) throw Error(cat(path.string(), ": clip.vision.projector.scale_factor is ", scale));
    const nlohmann::json vc = {
        {"hidden_size", key_int(f, "clip.vision.embedding_length")},
        {"num_attention_heads", key_int(f, "clip.vision.attention.head_count")},
        {"num_hidden_layers", key_int(f, "clip.vision.block_count")},
        {"intermediate_size", key_int(f, "clip.vision.feed_forward_length")},
        {"image_size", key_int(f, "clip.vision.image_size")},
        {"patch_size", key_int(f, "clip.vision.patch_size")},
        {"pixel_shuffle_ratio", 1.0 / static_cast<double>(scale)},
        {"projector_input_dim", P},
        {"projector_output_dim", P},
        {"vision_output_dim", P},
        {"rope_theta", 10000.0},  // not in the file: llama.cpp fixes it, as every Llama 4 config has it
        {"hidden_act", f.find("clip.use_gelu") && !f.get("clip.use_gelu").as_bool() ? "other" : "gelu"},
    };
    VisionTower t;
    try {
        t.config = parse_vision_config(vc, key_int(f, "clip.vision.projection_dim"));
    } catch (const Error& e) {
        throw Error(cat(path.string(), ": ", e.what()));
    }
    // HF's LayerNorms use nn.LayerNorm's default eps whatever the config says; the file carries
    // the config's norm_eps, which is the same 1e-5 in every Llama 4.
    // (stored as float32: only a value other than float32(1e-5) is taken from it).
    if (const io::GgufValue* eps = f.find("clip.vision.attention.layer_norm_epsilon"))
        if (static_cast<float>(eps->as_float()) != 1e-5f) t.config.layer_norm_eps = eps->as_float();
    t.processor.tile_size = static_cast<int>(t.config.image_size);
    t.weights = load_vision_weights(
        [&](const std::string& hf_name) -> std::optional<TensorView> {
            std::string name = mmproj_tensor_name(hf_name);
            // post_attention_layernorm is "ln2" in the files llama.cpp's Llama 4 graph reads, but
            // the converter of llama-cpp-python 0.3.36 writes it as "attn_post_norm" (its name
            // table maps the same HF name for Gemma 4, later entries winning). Either way it is
            // HF's norm before the MLP, which is how scout uses it.
            if (!f.find_tensor(name) && name.find(".ln2.") != std::string::npos)
                name.replace(name.find(".ln2."), 5, ".attn_post_norm.");
            if (!f.find_tensor(name)) return std::nullopt;
            TensorView v = f.view(name);
            v.name = name;
            return v;
        },
        path.string(), t.config);
    return t;
}

}  // namespace scout::vision
