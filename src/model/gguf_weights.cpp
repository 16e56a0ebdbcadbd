#include "model/gguf_weights.hpp"

#include "base/error.hpp"
#include "model/gguf_config.hpp"

namespace scout::model {

TextWeights bind_gguf_text_weights(const io::GgufFile& file, const TextConfig& c, const LayerPlan& plan) {
    check_llama4_tensors(file, c);  // every tensor present, shaped as the config implies, of a known type
    TextWeights w;
    auto bind = [&](const std::string& name) -> const TensorView* {
        w.owned_views.push_back(file.view(name));
        return &w.owned_views.back();
    };
    w.embed = bind("token_embd.weight");
    w.norm = bind("output_norm.weight");
    w.lm_head = c.tie_word_embeddings ? w.embed : bind("output.weight");
    w.layers.resize(plan.layers.size());
    for (std::size_t il = 0; il < plan.layers.size(); ++il) {
        const std::string b = cat("blk.", il, ".");
        LayerWeights& L = w.layers[il];
        L.attn_norm = bind(b + "attn_norm.weight");
        L.wq = bind(b + "attn_q.weight");
        L.wk = bind(b + "attn_k.weight");
        L.wv = bind(b + "attn_v.weight");
        L.wo = bind(b + "attn_output.weight");
        L.ffn_norm = bind(b + "ffn_norm.weight");
        if (plan.layers[il].moe) {
            L.router = bind(b + "ffn_gate_inp.weight");
            const TensorView* gate = bind(b + "ffn_gate_exps.weight");
            const TensorView* up = bind(b + "ffn_up_exps.weight");
            L.experts = gguf_expert_weights(*gate, *up, *bind(b + "ffn_down_exps.weight"));
            L.shared_gate = bind(b + "ffn_gate_shexp.weight");
            L.shared_up = bind(b + "ffn_up_shexp.weight");
            L.shared_down = bind(b + "ffn_down_shexp.weight");
        } else {
            L.mlp_gate = bind(b + "ffn_gate.weight");
            L.mlp_up = bind(b + "ffn_up.weight");
            L.mlp_down = bind(b + "ffn_down.weight");
        }
    }
    // Kernels read norm weights and the router as float rows; the embedding row by row.
    for (const TensorView* t : {w.norm}) check(!dtype_is_quantized(t->dtype), cat(t->name, " must not be quantized"));
    return w;
}

}  // namespace scout::model
