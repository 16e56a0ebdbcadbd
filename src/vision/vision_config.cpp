#include "vision/vision_config.hpp"

#include "base/error.hpp"

namespace scout::vision {
namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, bool required = true) {
    if (!j.contains(key) || j[key].is_null()) {
        if (required) throw Error(cat("vision_config: \"", key, "\" is missing"));
        return;
    }
    if (!j[key].is_number()) throw Error(cat("vision_config: \"", key, "\" must be a number, got ", j[key].dump()));
    out = j[key].get<T>();
}

}  // namespace

VisionConfig parse_vision_config(const nlohmann::json& j, int64_t text_hidden_size) {
    check(j.is_object(), "vision_config must be an object (is this a multimodal checkpoint?)");
    VisionConfig c;
    read(j, "hidden_size", c.hidden_size);
    read(j, "num_attention_heads", c.num_heads);
    read(j, "num_hidden_layers", c.num_layers);
    read(j, "intermediate_size", c.intermediate_size);
    read(j, "image_size", c.image_size);
    read(j, "patch_size", c.patch_size);
    read(j, "num_channels", c.num_channels, false);
    read(j, "pixel_shuffle_ratio", c.pixel_shuffle_ratio);
    read(j, "projector_input_dim", c.projector_input_dim);
    read(j, "projector_output_dim", c.projector_output_dim);
    read(j, "vision_output_dim", c.vision_output_dim);
    // transformers 5 nests rope_theta in rope_parameters; 4.x configs (the hub files) have it flat.
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object())
        read(j["rope_parameters"], "rope_theta", c.rope_theta);
    else
        read(j, "rope_theta", c.rope_theta);
    c.text_hidden_size = text_hidden_size;

    const std::string act = j.value("hidden_act", std::string("gelu"));
    if (act != "gelu") throw Error(cat("vision_config: hidden_act \"", act, "\" is not supported (HF's Llama 4 vision uses exact GELU)"));
    if (c.pixel_shuffle_ratio != 0.5)
        throw Error(cat("vision_config: pixel_shuffle_ratio ", c.pixel_shuffle_ratio, " is not supported (only 0.5, as in every Llama 4)"));
    for (auto [v, key] : {std::pair{c.hidden_size, "hidden_size"}, {c.num_heads, "num_attention_heads"},
                          {c.num_layers, "num_hidden_layers"}, {c.image_size, "image_size"}, {c.patch_size, "patch_size"},
                          {c.num_channels, "num_channels"}, {c.projector_input_dim, "projector_input_dim"},
                          {c.text_hidden_size, "text_config.hidden_size"}})
        if (v <= 0) throw Error(cat("vision_config: \"", key, "\" must be positive, got ", v));
    if (c.hidden_size % c.num_heads != 0 || c.head_dim() % 4 != 0)
        throw Error(cat("vision_config: hidden_size ", c.hidden_size, " / num_attention_heads ", c.num_heads,
                        " must give a head size divisible by 4 (the 2-D RoPE splits it in x and y pairs)"));
    if (c.image_size % c.patch_size != 0 || c.grid() % 2 != 0)
        throw Error(cat("vision_config: image_size ", c.image_size, " must be an even multiple of patch_size ", c.patch_size,
                        " (the pixel shuffle merges 2x2 patches)"));
    if (c.intermediate_size != c.shuffled_dim())
        throw Error(cat("vision_config: intermediate_size ", c.intermediate_size, " must equal hidden_size / ratio^2 = ",
                        c.shuffled_dim(), " (HF builds the adapter's input width from it)"));
    if (c.projector_output_dim != c.projector_input_dim || c.vision_output_dim != c.projector_output_dim)
        throw Error(cat("vision_config: projector_input_dim ", c.projector_input_dim, ", projector_output_dim ",
                        c.projector_output_dim, " and vision_output_dim ", c.vision_output_dim,
                        " must be equal (HF builds the adapter and projector that way)"));
    return c;
}

}  // namespace scout::vision
