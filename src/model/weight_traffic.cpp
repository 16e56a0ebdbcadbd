#include "model/weight_traffic.hpp"

namespace scout::model {

double weight_bytes_per_token(const TextWeights& w, const TextConfig& c, const LayerPlan& plan) {
    auto bytes = [](const TensorView* t) { return t ? static_cast<double>(t->nbytes()) : 0.0; };
    const double k_of_e = static_cast<double>(c.num_experts_per_tok) / static_cast<double>(c.num_local_experts);
    double total = bytes(w.norm) + bytes(w.lm_head) + bytes(w.embed) / static_cast<double>(c.vocab_size);
    for (std::size_t il = 0; il < w.layers.size(); ++il) {
        const LayerWeights& L = w.layers[il];
        total += bytes(L.attn_norm) + bytes(L.ffn_norm) + bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo);
        if (plan.layers[il].moe) {
            total += bytes(L.router) + bytes(L.shared_gate) + bytes(L.shared_up) + bytes(L.shared_down);
            // Each distinct tensor once (HF's gate and up views share gate_up_proj).
            const TensorView* gu = L.experts.gate.tensor;
            total += k_of_e * (bytes(gu) + (L.experts.up.tensor != gu ? bytes(L.experts.up.tensor) : 0.0) +
                               bytes(L.experts.down.tensor));
        } else {
            total += bytes(L.mlp_gate) + bytes(L.mlp_up) + bytes(L.mlp_down);
        }
    }
    return total;
}

}  // namespace scout::model
