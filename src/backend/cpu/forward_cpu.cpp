#include "backend/cpu/forward_cpu.hpp"

#include <algorithm>
#include <cmath>

#include "backend/cpu/ops/attention.hpp"
#include "backend/cpu/ops/ffn.hpp"
#include "backend/cpu/ops/matmul.hpp"
#include "backend/cpu/ops/norm.hpp"
#include "backend/cpu/ops/rope.hpp"
#include "base/error.hpp"
#include "model/rope.hpp"

namespace scout::cpu {

std::string_view StageProfile::name(Stage s) {
    switch (s) {
        case Stage::Embed: return "embed";
        case Stage::Norms: return "norms + residuals";
        case Stage::AttnQkv: return "attn q/k/v proj";
        case Stage::RopeScale: return "rope, qk-norm, temp";
        case Stage::Attention: return "attention (kv)";
        case Stage::AttnOut: return "attn out proj";
        case Stage::Moe: return "moe (router+experts)";
        case Stage::DenseFfn: return "dense ffn";
        case Stage::LmHead: return "final norm + lm_head";
        case Stage::Count: break;
    }
    return "?";
}

namespace {

// Adds the time until the next mark (or destruction) to the stage given; free when profile is null.
class StageClock {
public:
    explicit StageClock(StageProfile* profile) : profile_(profile) {
        if (profile_) last_ = std::chrono::steady_clock::now();
    }
    void mark(Stage finished) {
        if (!profile_) return;
        const auto now = std::chrono::steady_clock::now();
        profile_->seconds[static_cast<std::size_t>(finished)] += std::chrono::duration<double>(now - last_).count();
        last_ = now;
    }

    // Forgets the time since the last mark (a callee timed it itself).
    void restart() {
        if (profile_) last_ = std::chrono::steady_clock::now();
    }

private:
    StageProfile* profile_;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace

CpuForward::CpuForward(const model::TextConfig& config, const model::LayerPlan& plan,
                       const model::TextWeights& weights, ThreadPool& pool)
    : config_(config), plan_(plan), weights_(weights), pool_(pool), inv_freq_(weights.rope_inv_freq.empty() ? model::rope_inv_freq(config) : weights.rope_inv_freq) {}

void CpuForward::attention_block(int64_t il, std::span<const SequenceStep> steps, std::span<const int64_t> row_begin,
                                 std::span<const int64_t> positions, const float* x, float* out) {
    const model::LayerRule& rule = plan_.layers[static_cast<std::size_t>(il)];
    const model::LayerWeights& w = weights_.layers[static_cast<std::size_t>(il)];
    const int64_t S = static_cast<int64_t>(positions.size());
    const int64_t H = config_.num_attention_heads, Hkv = config_.num_key_value_heads, d = config_.head_dim;

    StageClock clock(profile_);
    // Projections of all rows: q [S, H, d], k/v [S, Hkv, d].
    std::vector<float> q(static_cast<std::size_t>(S * H * d)), k(static_cast<std::size_t>(S * Hkv * d)),
        v(static_cast<std::size_t>(S * Hkv * d));
    const MatmulOut qkv[] = {{as_matrix(*w.wq), q.data()}, {as_matrix(*w.wk), k.data()}, {as_matrix(*w.wv), v.data()}};
    matmul_nt_group(x, S, qkv, pool_);
    clock.mark(Stage::AttnQkv);

    if (rule.rope) {
        const RopeTable table = make_rope_table(positions, inv_freq_);
        apply_rope(q.data(), S, H, d, table);
        apply_rope(k.data(), S, Hkv, d, table);
        if (rule.qk_norm) {  // after RoPE, per head, no weight
            rms_norm_noweight(q.data(), S * H, d, config_.rms_norm_eps);
            rms_norm_noweight(k.data(), S * Hkv, d, config_.rms_norm_eps);
        }
    }
    if (rule.temperature) {  // NoPE layers: scale q by the position's temperature
        for (int64_t i = 0; i < S; ++i) {
            const float s = model::attn_temperature(config_, positions[static_cast<std::size_t>(i)]);
            for (int64_t c = 0; c < H * d; ++c) q[static_cast<std::size_t>(i * H * d + c)] *= s;
        }
    }
    clock.mark(Stage::RopeScale);

    // Per sequence: write keys and attend. A chunk ring holds one chunk, so rows crossing chunk
    // edges are processed segment by segment: each segment's keys are written, then its queries
    // attend (they only see their own chunk).
    AttentionShape shape{H, Hkv, d, rule.chunked, plan_.chunk_size, 1.0f / std::sqrt(static_cast<float>(d))};
    std::vector<float> attn(static_cast<std::size_t>(S * H * d));
    for (std::size_t si = 0; si < steps.size(); ++si) {
        kv::LayerKv& lkv = steps[si].kv->layer(il);
        const int64_t end = row_begin[si + 1];
        int64_t seg_begin = row_begin[si];
        while (seg_begin < end) {
            int64_t seg_end = end;
            if (rule.chunked) {
                const int64_t pos0 = positions[static_cast<std::size_t>(seg_begin)];
                const int64_t chunk_end = (pos0 / plan_.chunk_size + 1) * plan_.chunk_size;
                seg_end = std::min(end, seg_begin + (chunk_end - pos0));
            }
            for (int64_t i = seg_begin; i < seg_end; ++i) {
                const int64_t pos = positions[static_cast<std::size_t>(i)];
                std::copy_n(k.data() + i * Hkv * d, Hkv * d, lkv.k_row(pos));
                std::copy_n(v.data() + i * Hkv * d, Hkv * d, lkv.v_row(pos));
            }
            attention(q.data() + seg_begin * H * d,
                      positions.subspan(static_cast<std::size_t>(seg_begin), static_cast<std::size_t>(seg_end - seg_begin)),
                      lkv, shape, attn.data() + seg_begin * H * d, pool_);
            seg_begin = seg_end;
        }
    }
    clock.mark(Stage::Attention);
    matmul_nt(attn.data(), S, as_matrix(*w.wo), out, pool_);
    clock.mark(Stage::AttnOut);
}

void CpuForward::forward(kv::SequenceKv& kv, std::span<const int32_t> tokens, bool all_logits,
                         std::vector<float>& logits) {
    const SequenceStep step{&kv, tokens, all_logits};
    forward_batch(std::span<const SequenceStep>(&step, 1), logits);
}

void CpuForward::forward_batch(std::span<const SequenceStep> steps, std::vector<float>& logits) {
    check(!steps.empty(), "forward: no sequences");
    const int64_t D = config_.hidden_size, V = config_.vocab_size;
    std::vector<int64_t> row_begin{0};
    std::vector<int64_t> positions;
    std::vector<int32_t> tokens;
    for (const SequenceStep& st : steps) {
        check(st.kv != nullptr && !st.tokens.empty(), "forward: every sequence needs a KV cache and tokens");
        for (std::size_t i = 0; i < st.tokens.size(); ++i) {
            const int32_t t = st.tokens[i];
            check(t >= 0 && t < V, cat("token id ", t, " is outside the vocabulary [0, ", V, ")"));
            tokens.push_back(t);
            positions.push_back(st.kv->n_past() + static_cast<int64_t>(i));
        }
        row_begin.push_back(static_cast<int64_t>(tokens.size()));
    }
    const auto S = static_cast<int64_t>(tokens.size());
    StageClock clock(profile_);

    // h [S, D]: token embeddings (no scaling).
    std::vector<float> h(static_cast<std::size_t>(S * D)), xn(static_cast<std::size_t>(S * D)),
        branch(static_cast<std::size_t>(S * D));
    const WeightMatrix embed = as_matrix(*weights_.embed);
    for (int64_t i = 0; i < S; ++i) embed.row_to_f32(tokens[static_cast<std::size_t>(i)], 0, D, h.data() + i * D);
    clock.mark(Stage::Embed);

    for (int64_t il = 0; il < plan_.n_layers(); ++il) {
        const model::LayerWeights& w = weights_.layers[static_cast<std::size_t>(il)];
        // h = h + Attn(RMSNorm_in(h))
        rms_norm(h.data(), S, D, as_matrix(*w.attn_norm), config_.rms_norm_eps, xn.data());
        clock.mark(Stage::Norms);
        attention_block(il, steps, row_begin, positions, xn.data(), branch.data());
        clock.restart();  // attention_block timed its own steps
        for (std::size_t i = 0; i < h.size(); ++i) h[i] += branch[i];
        // h = h + FFN(RMSNorm_post(h))
        rms_norm(h.data(), S, D, as_matrix(*w.ffn_norm), config_.rms_norm_eps, xn.data());
        clock.mark(Stage::Norms);
        if (plan_.layers[static_cast<std::size_t>(il)].moe) {
            moe_ffn(xn.data(), S, w, config_.num_experts_per_tok, branch.data(), pool_);
            clock.mark(Stage::Moe);
        } else {
            swiglu_ffn(xn.data(), S, as_matrix(*w.mlp_gate), as_matrix(*w.mlp_up), as_matrix(*w.mlp_down),
                       branch.data(), pool_);
            clock.mark(Stage::DenseFfn);
        }
        for (std::size_t i = 0; i < h.size(); ++i) h[i] += branch[i];
    }
    for (const SequenceStep& st : steps) st.kv->advance(static_cast<int64_t>(st.tokens.size()));

    // Final norm and lm_head on the rows whose logits are wanted.
    std::vector<int64_t> out_rows;
    for (std::size_t si = 0; si < steps.size(); ++si)
        for (int64_t r = steps[si].all_logits ? row_begin[si] : row_begin[si + 1] - 1; r < row_begin[si + 1]; ++r)
            out_rows.push_back(r);
    const auto n_out = static_cast<int64_t>(out_rows.size());
    std::vector<float> sel(static_cast<std::size_t>(n_out * D));
    for (int64_t i = 0; i < n_out; ++i)
        std::copy_n(h.data() + out_rows[static_cast<std::size_t>(i)] * D, D, sel.data() + i * D);
    rms_norm(sel.data(), n_out, D, as_matrix(*weights_.norm), config_.rms_norm_eps, xn.data());
    logits.resize(static_cast<std::size_t>(n_out * V));
    matmul_nt(xn.data(), n_out, as_matrix(*weights_.lm_head), logits.data(), pool_);
    clock.mark(Stage::LmHead);
}

}  // namespace scout::cpu
