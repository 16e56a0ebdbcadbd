#include "model/weights.hpp"

#include <set>

#include "base/error.hpp"

namespace scout::model {

namespace {

class Binder {
public:
    Binder(const io::HfCheckpoint& ckpt, std::string prefix) : ckpt_(ckpt), prefix_(std::move(prefix)) {}

    const TensorView* bind(const std::string& name, std::vector<int64_t> shape, bool optional = false) {
        const TensorView* t = ckpt_.find(name);
        if (!t) {
            if (optional) return nullptr;
            throw Error(cat("checkpoint ", ckpt_.dir(), " lacks tensor \"", name, "\" (expected shape ",
                            shape_str(shape), "); the weights do not match config.json"));
        }
        check(t->shape == shape, cat("tensor \"", name, "\" in ", t->file, " has shape ", shape_str(t->shape),
                                     " but config.json implies ", shape_str(shape)));
        check(t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16,
              cat("tensor \"", name, "\" in ", t->file, " has dtype ", dtype_name(t->dtype),
                  "; supported weight dtypes are F32, BF16 and F16"));
        used_.insert(name);
        return t;
    }

    // Every tensor under the text prefix must have been bound: anything else means the
    // checkpoint and config.json disagree (e.g. a router in a layer the config calls dense).
    void check_all_used(const std::vector<std::string>& text_prefixes) const {
        for (const auto& [name, view] : ckpt_.tensors()) {
            bool is_text = false;
            for (const auto& p : text_prefixes) is_text |= name.rfind(p, 0) == 0;
            if (is_text && !used_.count(name))
                throw Error(cat("tensor \"", name, "\" in ", view->file,
                                " is not expected by config.json (check moe_layers / interleave_moe_layer_step / "
                                "num_hidden_layers)"));
        }
    }

private:
    const io::HfCheckpoint& ckpt_;
    std::string prefix_;
    std::set<std::string> used_;
};

}  // namespace

ExpertWeights hf_expert_weights(const TensorView& gate_up, const TensorView& down) {
    check(gate_up.shape.size() == 3 && down.shape.size() == 3 && gate_up.shape[2] % 2 == 0,
          cat("expert tensors ", gate_up.name, " ", shape_str(gate_up.shape), " and ", down.name, " ",
              shape_str(down.shape), " are not [E, D, 2F] and [E, F, D]"));
    const int64_t D = gate_up.shape[1], F = gate_up.shape[2] / 2;
    return {{&gate_up, false, 0, D, F}, {&gate_up, false, F, D, F}, {&down, false, 0, F, D}};
}

ExpertWeights gguf_expert_weights(const TensorView& gate, const TensorView& up, const TensorView& down) {
    check(gate.shape.size() == 3 && up.shape == gate.shape && down.shape.size() == 3,
          cat("expert tensors ", gate.name, " ", shape_str(gate.shape), ", ", up.name, " ", shape_str(up.shape), ", ",
              down.name, " ", shape_str(down.shape), " are not [E, F, D], [E, F, D], [E, D, F]"));
    const int64_t F = gate.shape[1], D = gate.shape[2];
    return {{&gate, true, 0, D, F}, {&up, true, 0, D, F}, {&down, true, 0, F, D}};
}

TextWeights bind_text_weights(const io::HfCheckpoint& ckpt, const TextConfig& c, const LayerPlan& plan) {
    check(ckpt.has_weights(), cat("no weights in ", ckpt.dir(),
                                  ": expected model.safetensors or model.safetensors.index.json with its shards"));
    TextWeights w;
    std::string head_name;
    if (ckpt.find("language_model.model.embed_tokens.weight")) {
        w.prefix = "language_model.model.";
        head_name = "language_model.lm_head.weight";
    } else if (ckpt.find("model.embed_tokens.weight")) {
        w.prefix = "model.";
        head_name = "lm_head.weight";
    } else {
        throw Error(cat("checkpoint ", ckpt.dir(), " has neither language_model.model.embed_tokens.weight nor ",
                        "model.embed_tokens.weight: not a Llama 4 text checkpoint"));
    }
    Binder b(ckpt, w.prefix);
    const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, d = c.head_dim,
                  V = c.vocab_size, E = c.num_local_experts, F = c.intermediate_size, Fm = c.intermediate_size_mlp;
    const std::string& p = w.prefix;
    w.embed = b.bind(p + "embed_tokens.weight", {V, D});
    w.norm = b.bind(p + "norm.weight", {D});
    w.lm_head = b.bind(head_name, {V, D}, /*optional=*/c.tie_word_embeddings);
    if (!w.lm_head) w.lm_head = w.embed;

    w.layers.resize(plan.layers.size());
    for (std::size_t il = 0; il < plan.layers.size(); ++il) {
        const std::string lp = p + "layers." + std::to_string(il) + ".";
        LayerWeights& L = w.layers[il];
        L.attn_norm = b.bind(lp + "input_layernorm.weight", {D});
        L.wq = b.bind(lp + "self_attn.q_proj.weight", {H * d, D});
        L.wk = b.bind(lp + "self_attn.k_proj.weight", {Hkv * d, D});
        L.wv = b.bind(lp + "self_attn.v_proj.weight", {Hkv * d, D});
        L.wo = b.bind(lp + "self_attn.o_proj.weight", {D, H * d});
        L.ffn_norm = b.bind(lp + "post_attention_layernorm.weight", {D});
        const std::string fp = lp + "feed_forward.";
        if (plan.layers[il].moe) {
            L.router = b.bind(fp + "router.weight", {E, D});
            L.experts = hf_expert_weights(*b.bind(fp + "experts.gate_up_proj", {E, D, 2 * F}),
                                          *b.bind(fp + "experts.down_proj", {E, F, D}));
            L.shared_gate = b.bind(fp + "shared_expert.gate_proj.weight", {F, D});
            L.shared_up = b.bind(fp + "shared_expert.up_proj.weight", {F, D});
            L.shared_down = b.bind(fp + "shared_expert.down_proj.weight", {D, F});
        } else {
            L.mlp_gate = b.bind(fp + "gate_proj.weight", {Fm, D});
            L.mlp_up = b.bind(fp + "up_proj.weight", {Fm, D});
            L.mlp_down = b.bind(fp + "down_proj.weight", {D, Fm});
        }
    }
    b.check_all_used({p, head_name});
    return w;
}

}  // namespace scout::model
