// The vision tower's shape, read from a checkpoint's config.json ("vision_config", HF
// Llama4VisionConfig) and checked once here, so the encoder can trust it (llama4-spec.md §1.2, §4).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace scout::vision {

struct VisionConfig {
    int64_t hidden_size = 1408;          // D_v
    int64_t num_heads = 16;              // head_dim = hidden_size / num_heads (88 for Scout)
    int64_t num_layers = 34;
    int64_t intermediate_size = 5632;    // encoder MLP width; also the pixel-shuffled width (HF quirk)
    int64_t image_size = 336;            // tile side in pixels
    int64_t patch_size = 14;
    int64_t num_channels = 3;
    double pixel_shuffle_ratio = 0.5;
    int64_t projector_input_dim = 4096;  // adapter width
    int64_t projector_output_dim = 4096;
    int64_t vision_output_dim = 4096;
    double rope_theta = 10000.0;
    double layer_norm_eps = 1e-5;        // nn.LayerNorm's default: HF ignores config "norm_eps"
    int64_t text_hidden_size = 5120;     // the projector's output

    int64_t head_dim() const { return hidden_size / num_heads; }
    int64_t grid() const { return image_size / patch_size; }           // patches per side (24)
    int64_t patches() const { return grid() * grid(); }                 // 576
    int64_t patch_dim() const { return num_channels * patch_size * patch_size; }  // 588
    int64_t tokens_per_tile() const { return patches() / 4; }           // 144 after the 0.5 shuffle
    int64_t shuffled_dim() const { return hidden_size * 4; }            // 5632
};

// Reads "vision_config" of a Llama4ForConditionalGeneration config.json (text_hidden_size from
// its text_config). Throws scout::Error naming the key when a value is missing or is one this
// implementation does not support (a pixel shuffle ratio other than 0.5, an activation other
// than GELU, widths that HF's own module construction would not accept).
VisionConfig parse_vision_config(const nlohmann::json& vision_config, int64_t text_hidden_size);

}  // namespace scout::vision
