// The vision tower's and projector's weights, bound by their Hugging Face names
// (vision_model.*, multi_modal_projector.*; llama4-spec.md §3.1), each checked for shape, and
// held as float32 copies: BF16 and F16 checkpoints, and the block formats of a quantized mmproj
// file, are widened once at load (encoder_cpu.hpp says why).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/hf_checkpoint.hpp"
#include "vision/vision_config.hpp"

namespace scout::vision {

struct VisionLayerWeights {
    std::vector<float> ln1_w, ln1_b;          // [D]   input_layernorm
    std::vector<float> wq, bq, wk, bk, wv, bv;  // [D, D], [D]
    std::vector<float> wo, bo;                // [D, D], [D]
    std::vector<float> ln2_w, ln2_b;          // [D]   post_attention_layernorm
    std::vector<float> fc1_w, fc1_b;          // [F, D], [F]
    std::vector<float> fc2_w, fc2_b;          // [D, F], [D]
};

struct VisionWeights {
    std::vector<float> patch_embed;      // [D, C*p*p]  (no bias)
    std::vector<float> class_embedding;  // [D]
    std::vector<float> positions;        // [patches + 1, D]  (the last row is the class token's)
    std::vector<float> ln_pre_w, ln_pre_b, ln_post_w, ln_post_b;  // [D]
    std::vector<VisionLayerWeights> layers;
    std::vector<float> adapter_fc1;      // [P, 4D]  (no bias)
    std::vector<float> adapter_fc2;      // [P, P]   (no bias)
    std::vector<float> projector;        // [text D, P]  (no bias)
};

// Every tensor of the tower and projector with the shape the config gives it, and the field it
// is bound to, in the order llama.cpp's converter writes them to an mmproj file (by name, layers
// in numeric order). The one list of names: the loader binds with it, the mmproj writer writes
// with it. fn(hf_name, shape, field) is called once per tensor; w.layers is sized first.
template <class Fn>
void for_each_vision_tensor(const VisionConfig& c, VisionWeights& w, Fn&& fn) {
    const int64_t D = c.hidden_size, F = c.intermediate_size, P = c.projector_output_dim;
    const std::string v = "vision_model.";
    w.layers.resize(static_cast<std::size_t>(c.num_layers));
    fn("multi_modal_projector.linear_1.weight", std::vector<int64_t>{c.text_hidden_size, P}, w.projector);
    fn(v + "class_embedding", std::vector<int64_t>{D}, w.class_embedding);
    fn(v + "layernorm_post.bias", std::vector<int64_t>{D}, w.ln_post_b);
    fn(v + "layernorm_post.weight", std::vector<int64_t>{D}, w.ln_post_w);
    fn(v + "layernorm_pre.bias", std::vector<int64_t>{D}, w.ln_pre_b);
    fn(v + "layernorm_pre.weight", std::vector<int64_t>{D}, w.ln_pre_w);
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string l = v + "model.layers." + std::to_string(i) + ".";
        VisionLayerWeights& L = w.layers[static_cast<std::size_t>(i)];
        fn(l + "input_layernorm.bias", std::vector<int64_t>{D}, L.ln1_b);
        fn(l + "input_layernorm.weight", std::vector<int64_t>{D}, L.ln1_w);
        fn(l + "mlp.fc1.bias", std::vector<int64_t>{F}, L.fc1_b);
        fn(l + "mlp.fc1.weight", std::vector<int64_t>{F, D}, L.fc1_w);
        fn(l + "mlp.fc2.bias", std::vector<int64_t>{D}, L.fc2_b);
        fn(l + "mlp.fc2.weight", std::vector<int64_t>{D, F}, L.fc2_w);
        fn(l + "post_attention_layernorm.bias", std::vector<int64_t>{D}, L.ln2_b);
        fn(l + "post_attention_layernorm.weight", std::vector<int64_t>{D}, L.ln2_w);
        fn(l + "self_attn.k_proj.bias", std::vector<int64_t>{D}, L.bk);
        fn(l + "self_attn.k_proj.weight", std::vector<int64_t>{D, D}, L.wk);
        fn(l + "self_attn.o_proj.bias", std::vector<int64_t>{D}, L.bo);
        fn(l + "self_attn.o_proj.weight", std::vector<int64_t>{D, D}, L.wo);
        fn(l + "self_attn.q_proj.bias", std::vector<int64_t>{D}, L.bq);
        fn(l + "self_attn.q_proj.weight", std::vector<int64_t>{D, D}, L.wq);
        fn(l + "self_attn.v_proj.bias", std::vector<int64_t>{D}, L.bv);
        fn(l + "self_attn.v_proj.weight", std::vector<int64_t>{D, D}, L.wv);
    }
    fn(v + "patch_embedding.linear.weight", std::vector<int64_t>{D, c.patch_dim()}, w.patch_embed);
    fn(v + "positional_embedding_vlm", std::vector<int64_t>{c.patches() + 1, D}, w.positions);
    fn(v + "vision_adapter.mlp.fc1.weight", std::vector<int64_t>{P, c.shuffled_dim()}, w.adapter_fc1);
    fn(v + "vision_adapter.mlp.fc2.weight", std::vector<int64_t>{P, P}, w.adapter_fc2);
}

// Finds a tensor by its Hugging Face name (nullopt when absent); `source` names the file or
// directory in errors.
using VisionTensorLookup = std::function<std::optional<TensorView>(const std::string& hf_name)>;

// Throws scout::Error naming the tensor when one is missing, of another shape, or of a dtype
// scout cannot widen (F32, BF16, F16 and the GGUF block formats are read).
VisionWeights load_vision_weights(const VisionTensorLookup& find, const std::string& source, const VisionConfig& config);
VisionWeights load_vision_weights(const io::HfCheckpoint& checkpoint, const VisionConfig& config);

}  // namespace scout::vision
