// The llama.cpp llama4 tensor names <-> HF names and shapes (peers.md §1.4-1.5).
#include "base/error.hpp"
#include "model/gguf_config.hpp"
#include "model/layer_plan.hpp"

namespace scout::model {

std::vector<Llama4TensorName> llama4_tensor_names(const TextConfig& c) {
    const int64_t V = c.vocab_size, D = c.hidden_size, E = c.num_local_experts, F = c.intermediate_size,
                  Fm = c.intermediate_size_mlp, H = c.num_attention_heads, Hkv = c.num_key_value_heads,
                  d = c.head_dim;
    using S = GgufTensorSource;
    std::vector<Llama4TensorName> out;
    auto same = [&](std::string g, std::string hf, std::vector<int64_t> shape) {
        out.push_back({std::move(g), std::move(hf), S::Same, shape, shape});
    };
    same("token_embd.weight", "model.embed_tokens.weight", {V, D});
    same("output_norm.weight", "model.norm.weight", {D});
    if (!c.tie_word_embeddings) same("output.weight", "lm_head.weight", {V, D});
    out.push_back({"rope_freqs.weight", "", S::Generated, {d / 2}, {}});
    const LayerPlan plan = make_layer_plan(c);
    for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
        const std::string g = cat("blk.", il, "."), h = cat("model.layers.", il, ".");
        same(g + "attn_norm.weight", h + "input_layernorm.weight", {D});
        same(g + "attn_q.weight", h + "self_attn.q_proj.weight", {H * d, D});  // not permuted (NORM rope)
        same(g + "attn_k.weight", h + "self_attn.k_proj.weight", {Hkv * d, D});
        same(g + "attn_v.weight", h + "self_attn.v_proj.weight", {Hkv * d, D});
        same(g + "attn_output.weight", h + "self_attn.o_proj.weight", {D, H * d});
        same(g + "ffn_norm.weight", h + "post_attention_layernorm.weight", {D});
        const bool moe = plan.layers[static_cast<std::size_t>(il)].moe;  // the one MoE rule (layer_plan.cpp)
        const std::string ff = h + "feed_forward.";
        if (moe) {
            same(g + "ffn_gate_inp.weight", ff + "router.weight", {E, D});
            out.push_back({g + "ffn_gate_exps.weight", ff + "experts.gate_up_proj", S::ExpertsGateHalf, {E, F, D}, {E, D, 2 * F}});
            out.push_back({g + "ffn_up_exps.weight", ff + "experts.gate_up_proj", S::ExpertsUpHalf, {E, F, D}, {E, D, 2 * F}});
            out.push_back({g + "ffn_down_exps.weight", ff + "experts.down_proj", S::ExpertsTranspose, {E, D, F}, {E, F, D}});
            same(g + "ffn_gate_shexp.weight", ff + "shared_expert.gate_proj.weight", {F, D});
            same(g + "ffn_up_shexp.weight", ff + "shared_expert.up_proj.weight", {F, D});
            same(g + "ffn_down_shexp.weight", ff + "shared_expert.down_proj.weight", {D, F});
        } else {
            same(g + "ffn_gate.weight", ff + "gate_proj.weight", {Fm, D});
            same(g + "ffn_up.weight", ff + "up_proj.weight", {Fm, D});
            same(g + "ffn_down.weight", ff + "down_proj.weight", {D, Fm});
        }
    }
    return out;
}

void check_llama4_tensors(const io::GgufFile& file, const TextConfig& c) {
    std::string problems;
    int n = 0;
    for (const Llama4TensorName& t : llama4_tensor_names(c)) {
        const io::GgufTensorInfo* info = file.find_tensor(t.gguf);
        std::string p;
        if (!info) {
            // rope_freqs is optional: without it RoPE is unscaled, as in llama.cpp.
            if (t.source != GgufTensorSource::Generated) p = cat("missing tensor ", t.gguf);
        } else if (info->shape() != t.shape) {
            p = cat("tensor ", t.gguf, " has shape ", shape_str(info->shape()), ", expected ", shape_str(t.shape));
        } else if (!info->dtype) {
            p = cat("tensor ", t.gguf, " has type ", info->type_name, ", which scout does not support");
        }
        if (!p.empty() && n++ < 5) problems += "\n  " + p;
    }
    if (n > 0)
        throw Error(cat("GGUF file ", file.label(), ": ", n, " tensor problem", n > 1 ? "s" : "", " for the llama4 config:",
                        problems, n > 5 ? "\n  ..." : ""));
}

}  // namespace scout::model
