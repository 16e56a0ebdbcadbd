#include "vision/vision_weights.hpp"

#include <cstring>

#include "base/error.hpp"

namespace scout::vision {
namespace {

std::vector<float> tensor_f32(const io::HfCheckpoint& ck, const std::string& name, std::vector<int64_t> shape) {
    const TensorView* t = ck.find(name);
    if (!t) throw Error(cat("vision weights: tensor ", name, " is missing from ", ck.dir().string()));
    if (t->shape != shape)
        throw Error(cat("vision weights: ", name, " has shape ", shape_str(t->shape), ", the config needs ", shape_str(shape)));
    std::vector<float> out(static_cast<size_t>(t->numel()));
    const auto* raw = static_cast<const uint8_t*>(t->data);
    auto widen = [&](float (*to_f32)(uint16_t)) {
        for (size_t i = 0; i < out.size(); ++i) {
            uint16_t v;
            std::memcpy(&v, raw + 2 * i, 2);
            out[i] = to_f32(v);
        }
    };
    switch (t->dtype) {
        case DType::F32: std::memcpy(out.data(), raw, out.size() * 4); break;
        case DType::BF16: widen([](uint16_t v) { return bf16_to_f32(v); }); break;
        case DType::F16: widen([](uint16_t v) { return f16_to_f32(v); }); break;
        default: throw Error(cat("vision weights: ", name, " is ", dtype_name(t->dtype), "; only F32, BF16 and F16 are read"));
    }
    return out;
}

}  // namespace

VisionWeights load_vision_weights(const io::HfCheckpoint& ck, const VisionConfig& c) {
    const int64_t D = c.hidden_size, F = c.intermediate_size, P = c.projector_output_dim;
    const std::string v = "vision_model.";
    VisionWeights w;
    w.patch_embed = tensor_f32(ck, v + "patch_embedding.linear.weight", {D, c.patch_dim()});
    w.class_embedding = tensor_f32(ck, v + "class_embedding", {D});
    w.positions = tensor_f32(ck, v + "positional_embedding_vlm", {c.patches() + 1, D});
    w.ln_pre_w = tensor_f32(ck, v + "layernorm_pre.weight", {D});
    w.ln_pre_b = tensor_f32(ck, v + "layernorm_pre.bias", {D});
    w.ln_post_w = tensor_f32(ck, v + "layernorm_post.weight", {D});
    w.ln_post_b = tensor_f32(ck, v + "layernorm_post.bias", {D});
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string l = cat(v, "model.layers.", i, ".");
        VisionLayerWeights& L = w.layers.emplace_back();
        L.ln1_w = tensor_f32(ck, l + "input_layernorm.weight", {D});
        L.ln1_b = tensor_f32(ck, l + "input_layernorm.bias", {D});
        L.wq = tensor_f32(ck, l + "self_attn.q_proj.weight", {D, D});
        L.bq = tensor_f32(ck, l + "self_attn.q_proj.bias", {D});
        L.wk = tensor_f32(ck, l + "self_attn.k_proj.weight", {D, D});
        L.bk = tensor_f32(ck, l + "self_attn.k_proj.bias", {D});
        L.wv = tensor_f32(ck, l + "self_attn.v_proj.weight", {D, D});
        L.bv = tensor_f32(ck, l + "self_attn.v_proj.bias", {D});
        L.wo = tensor_f32(ck, l + "self_attn.o_proj.weight", {D, D});
        L.bo = tensor_f32(ck, l + "self_attn.o_proj.bias", {D});
        L.ln2_w = tensor_f32(ck, l + "post_attention_layernorm.weight", {D});
        L.ln2_b = tensor_f32(ck, l + "post_attention_layernorm.bias", {D});
        L.fc1_w = tensor_f32(ck, l + "mlp.fc1.weight", {F, D});
        L.fc1_b = tensor_f32(ck, l + "mlp.fc1.bias", {F});
        L.fc2_w = tensor_f32(ck, l + "mlp.fc2.weight", {D, F});
        L.fc2_b = tensor_f32(ck, l + "mlp.fc2.bias", {D});
    }
    w.adapter_fc1 = tensor_f32(ck, v + "vision_adapter.mlp.fc1.weight", {P, c.shuffled_dim()});
    w.adapter_fc2 = tensor_f32(ck, v + "vision_adapter.mlp.fc2.weight", {P, P});
    w.projector = tensor_f32(ck, "multi_modal_projector.linear_1.weight", {c.text_hidden_size, P});
    return w;
}

}  // namespace scout::vision
