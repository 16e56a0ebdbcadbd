#include "vision/vision_weights.hpp"

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/error.hpp"

namespace scout::vision {
namespace {

std::vector<float> tensor_f32(const VisionTensorLookup& find, const std::string& source, const std::string& name,
                              std::vector<int64_t> shape) {
    const std::optional<TensorView> t = find(name);
    if (!t) throw Error(cat("vision weights: tensor ", name, " is missing from ", source));
    if (t->shape != shape)
        throw Error(cat("vision weights: ", name, " has shape ", shape_str(t->shape), ", the config needs ", shape_str(shape)));
    if (!(t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16 || dtype_is_quantized(t->dtype)))
        throw Error(cat("vision weights: ", name, " is ", dtype_name(t->dtype), ", which scout cannot read"));
    // Rows of the innermost dimension, widened by the CPU kernels' own reader (block formats
    // come in whole rows, so their blocks stay aligned).
    const int64_t cols = shape.back(), rows = t->numel() / cols;
    if (dtype_is_quantized(t->dtype) && cols % dtype_block_elems(t->dtype) != 0)
        throw Error(cat("vision weights: ", name, " rows of ", cols, " are not whole ", dtype_name(t->dtype), " blocks"));
    const cpu::WeightMatrix m{t->data, t->dtype, rows, cols, cols};
    std::vector<float> out(static_cast<size_t>(t->numel()));
    for (int64_t r = 0; r < rows; ++r) m.row_to_f32(r, 0, cols, out.data() + r * cols);
    return out;
}

}  // namespace

VisionWeights load_vision_weights(const io::HfCheckpoint& ck, const VisionConfig& c) {
    return load_vision_weights(
        [&](const std::string& name) -> std::optional<TensorView> {
            const TensorView* t = ck.find(name);
            return t ? std::optional<TensorView>(*t) : std::nullopt;
        },
        ck.dir().string(), c);
}

VisionWeights load_vision_weights(const VisionTensorLookup& find, const std::string& source, const VisionConfig& c) {
    const int64_t D = c.hidden_size, F = c.intermediate_size, P = c.projector_output_dim;
    const std::string v = "vision_model.";
    VisionWeights w;
    w.patch_embed = tensor_f32(find, source, v + "patch_embedding.linear.weight", {D, c.patch_dim()});
    w.class_embedding = tensor_f32(find, source, v + "class_embedding", {D});
    w.positions = tensor_f32(find, source, v + "positional_embedding_vlm", {c.patches() + 1, D});
    w.ln_pre_w = tensor_f32(find, source, v + "layernorm_pre.weight", {D});
    w.ln_pre_b = tensor_f32(find, source, v + "layernorm_pre.bias", {D});
    w.ln_post_w = tensor_f32(find, source, v + "layernorm_post.weight", {D});
    w.ln_post_b = tensor_f32(find, source, v + "layernorm_post.bias", {D});
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string l = cat(v, "model.layers.", i, ".");
        VisionLayerWeights& L = w.layers.emplace_back();
        L.ln1_w = tensor_f32(find, source, l + "input_layernorm.weight", {D});
        L.ln1_b = tensor_f32(find, source, l + "input_layernorm.bias", {D});
        L.wq = tensor_f32(find, source, l + "self_attn.q_proj.weight", {D, D});
        L.bq = tensor_f32(find, source, l + "self_attn.q_proj.bias", {D});
        L.wk = tensor_f32(find, source, l + "self_attn.k_proj.weight", {D, D});
        L.bk = tensor_f32(find, source, l + "self_attn.k_proj.bias", {D});
        L.wv = tensor_f32(find, source, l + "self_attn.v_proj.weight", {D, D});
        L.bv = tensor_f32(find, source, l + "self_attn.v_proj.bias", {D});
        L.wo = tensor_f32(find, source, l + "self_attn.o_proj.weight", {D, D});
        L.bo = tensor_f32(find, source, l + "self_attn.o_proj.bias", {D});
        L.ln2_w = tensor_f32(find, source, l + "post_attention_layernorm.weight", {D});
        L.ln2_b = tensor_f32(find, source, l + "post_attention_layernorm.bias", {D});
        L.fc1_w = tensor_f32(find, source, l + "mlp.fc1.weight", {F, D});
        L.fc1_b = tensor_f32(find, source, l + "mlp.fc1.bias", {F});
        L.fc2_w = tensor_f32(find, source, l + "mlp.fc2.weight", {D, F});
        L.fc2_b = tensor_f32(find, source, l + "mlp.fc2.bias", {D});
    }
    w.adapter_fc1 = tensor_f32(find, source, v + "vision_adapter.mlp.fc1.weight", {P, c.shuffled_dim()});
    w.adapter_fc2 = tensor_f32(find, source, v + "vision_adapter.mlp.fc2.weight", {P, P});
    w.projector = tensor_f32(find, source, "multi_modal_projector.linear_1.weight", {c.text_hidden_size, P});
    return w;
}

}  // namespace scout::vision
