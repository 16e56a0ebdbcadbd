#include "model/model_size.hpp"

#include "base/dtype.hpp"

namespace scout::model {

ModelSize compute_model_size(const TextConfig& c, const LayerPlan& plan) {
    const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, d = c.head_dim;
    const int64_t F = c.intermediate_size, Fm = c.intermediate_size_mlp, E = c.num_local_experts,
                  k = c.num_experts_per_tok, V = c.vocab_size;
    ModelSize s;
    s.dtype_bytes = static_cast<int64_t>(dtype_size(c.dtype));
    const int64_t attn = D * H * d + 2 * D * Hkv * d + H * d * D;
    const int64_t norms = 2 * D;
    int64_t total = 0, active = 0;
    for (const LayerRule& r : plan.layers) {
        total += attn + norms;
        active += attn + norms;
        if (r.moe) {
            total += E * D + E * D * 2 * F + E * F * D + 3 * D * F;
            active += E * D + k * (D * 2 * F + F * D) + 3 * D * F;
        } else {
            total += 3 * D * Fm;
            active += 3 * D * Fm;
        }
    }
    const int64_t embed = V * D, head = c.tie_word_embeddings ? 0 : V * D;
    s.n_params_text = total + embed + head + D;
    s.n_params_active = active + D + V * D + D;  // one embedding row + lm_head (V*D) + final norm
    s.n_params_embedding = embed;
    return s;
}

}  // namespace scout::model
