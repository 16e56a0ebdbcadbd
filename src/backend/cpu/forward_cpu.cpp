#include "backend/cpu/forward_cpu.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "backend/cpu/ops/attention.hpp"
#include "backend/cpu/ops/ffn.hpp"
#include "backend/cpu/ops/matmul.hpp"
#include "backend/cpu/ops/norm.hpp"
#include "backend/cpu/ops/rope.hpp"
#include "base/cpu_features.hpp"
#include "base/error.hpp"
#include "model/rope.hpp"

namespace scout::cpu {

namespace {

using backend::Stage;
using backend::StageProfile;

// Adds the time until the next mark (or destruction) to the stage given, with how the pool's
// threads shared it; free when profile is null.
class StageClock {
public:
    StageClock(StageProfile* profile, const ThreadPool& pool) : profile_(profile), pool_(pool) {
        if (!profile_) return;
        profile_->threads = pool_.n_threads();
        last_work_ = pool_.work();
        last_ = std::chrono::steady_clock::now();
    }
    void mark(Stage finished) {
        if (!profile_) return;
        const auto now = std::chrono::steady_clock::now();
        const double wall = std::chrono::duration<double>(now - last_).count();
        PoolWork work = pool_.work();
        // The caller worked all along except while it waited for the workers.
        double busiest = wall - (work.caller_wait_seconds - last_work_.caller_wait_seconds), sum = busiest;
        for (std::size_t i = 1; i < work.busy_seconds.size(); ++i) {
            const double b = work.busy_seconds[i] - last_work_.busy_seconds[i];
            busiest = std::max(busiest, b);
            sum += b;
        }
        const auto s = static_cast<std::size_t>(finished);
        profile_->seconds[s] += wall;
        profile_->busiest_seconds[s] += busiest;
        profile_->mean_busy_seconds[s] += sum / static_cast<double>(work.busy_seconds.size());
        profile_->regions[s] += work.regions - last_work_.regions;
        last_work_ = std::move(work);
        last_ = now;
    }
    // Forgets the time since the last mark (a callee timed it itself).
    void restart() {
        if (!profile_) return;
        last_work_ = pool_.work();
        last_ = std::chrono::steady_clock::now();
    }

private:
    StageProfile* profile_;
    const ThreadPool& pool_;
    PoolWork last_work_;
    std::chrono::steady_clock::time_point last_;
};

// The host storage behind a batch's KV handle (the CPU backend made it in make_kv).
kv::SequenceKv& host_kv(kv::KvMemory* m) {
    auto* s = dynamic_cast<kv::SequenceKv*>(m);
    check(s != nullptr, "forward: this KV memory was not made by the CPU backend");
    return *s;
}

}  // namespace

CpuForward::CpuForward(const model::TextConfig& config, const model::LayerPlan& plan,
                       const model::TextWeights& weights, const backend::BackendOptions& options)
    : config_(config), plan_(plan), weights_(weights), options_(options), pool_(ThreadPoolOptions{options.threads, options.pin_threads}),
      inv_freq_(weights.rope_inv_freq.empty() ? model::rope_inv_freq(config) : weights.rope_inv_freq) {
    check(options_.max_batch_rows >= 1, "the batch size (rows per forward pass) must be at least 1");
    kv::check_kv_type_fits(options_.kv_type, config_.head_dim);
    kv::check_kv_type_fits(options_.global_kv_type(), config_.head_dim, "--kv-type-global");
    ws_.reserve(config_, options_.max_batch_rows, pool_);
    if (options_.kv_ram_bytes > 0) {  // the store holds global-layer pages only: rows of their type
        const int64_t row_bytes =
            kv::kv_row_bytes(options_.global_kv_type(), config_.num_key_value_heads * config_.head_dim);
        kv_store_ = std::make_shared<kv::PageStore>(static_cast<std::size_t>(options_.kv_page_size * row_bytes),
                                                    kv::PageStoreOptions{options_.kv_ram_bytes, options_.kv_dir});
    }
}

std::unique_ptr<kv::KvMemory> CpuForward::make_kv() {
    return std::make_unique<kv::SequenceKv>(plan_, config_.num_key_value_heads, config_.head_dim,
                                            kv::KvOptions{options_.kv_type, options_.kv_page_size, kv_store_,
                                                          options_.global_kv_type()});
}

backend::Capabilities CpuForward::capabilities() const {
    backend::Capabilities c;
    c.device = "cpu";
    c.description = cat(pool_.n_threads(), " threads", pool_.pinned() ? " pinned to cores" : "", ", ",
                        simd_level_name(default_simd_level()));
    c.max_batch_rows = options_.max_batch_rows;
    c.kv_types = kv::all_kv_types();
    c.embedding_rows = true;
    return c;
}

backend::MemoryUse CpuForward::memory() const {
    return {0, ws_.bytes()};  // weights are read in place from the mapped file
}

void CpuForward::report(const char* name, int64_t il, const float* data, int64_t rows, int64_t cols) {
    if (!observer_) return;
    // Hugging Face module names (docs/dumps.md): "model.embed_tokens", "model.layers.3" (a layer's
    // output), "model.layers.3.self_attn.q_proj", ..., "model.norm", "lm_head".
    const std::string full = il < 0 ? std::string(name) : *name ? cat("model.layers.", il, ".", name) : cat("model.layers.", il);
    const int64_t shape[2] = {rows, cols};
    observer_->on_tensor(full, std::span<const float>(data, static_cast<std::size_t>(rows * cols)), shape);
}

void CpuForward::attention_block(int64_t il, backend::Batch steps, const float* x, float* out) {
    const model::LayerRule& rule = plan_.layers[static_cast<std::size_t>(il)];
    const model::LayerWeights& w = weights_.layers[static_cast<std::size_t>(il)];
    const int64_t S = static_cast<int64_t>(ws_.row_begin[steps.size()]);
    const int64_t H = config_.num_attention_heads, Hkv = config_.num_key_value_heads, d = config_.head_dim;
    const std::span<const int64_t> positions(ws_.positions.data(), static_cast<std::size_t>(S));
    float* q = ws_.q.data();  // [S, H, d]
    float* k = ws_.k.data();  // [S, Hkv, d]
    float* v = ws_.v.data();  // [S, Hkv, d]

    StageClock clock(profile_, pool_);
    const MatmulOut qkv[] = {{as_matrix(*w.wq), q}, {as_matrix(*w.wk), k}, {as_matrix(*w.wv), v}};
    matmul_nt_group(x, S, qkv, pool_);
    report("self_attn.q_proj", il, q, S, H * d);
    report("self_attn.k_proj", il, k, S, Hkv * d);
    report("self_attn.v_proj", il, v, S, Hkv * d);
    clock.mark(Stage::AttnQkv);

    // RoPE (angles of the row's position), the QK norm and the temperature, row by row in one
    // pass over threads; per row, the same steps in the same order as transformers.
    const std::span<const float> inv_freq(inv_freq_);
    const int64_t n_pairs = static_cast<int64_t>(inv_freq.size());
    if (rule.rope) {  // [S, d/2] each; capacity reserved for max_batch_rows, so no allocation
        ws_.rope.n_pairs = n_pairs;
        ws_.rope.cos.resize(static_cast<std::size_t>(S * n_pairs));
        ws_.rope.sin.resize(static_cast<std::size_t>(S * n_pairs));
    }
    if (rule.rope || rule.temperature)
        pool_.parallel_for(S, [&](int64_t i0, int64_t i1, int) {
            for (int64_t i = i0; i < i1; ++i) {
                float* qi = q + i * H * d;  // [H, d]
                float* ki = k + i * Hkv * d;  // [Hkv, d]
                const int64_t pos = positions[static_cast<std::size_t>(i)];
                if (rule.rope) {
                    float* c = ws_.rope.cos.data() + i * n_pairs;
                    float* sn = ws_.rope.sin.data() + i * n_pairs;
                    rope_angles(pos, inv_freq, c, sn);
                    rope_token(qi, H, d, c, sn);
                    rope_token(ki, Hkv, d, c, sn);
                    if (rule.qk_norm) {  // after RoPE, per head, no weight
                        rms_norm_noweight(qi, H, d, config_.rms_norm_eps);
                        rms_norm_noweight(ki, Hkv, d, config_.rms_norm_eps);
                    }
                }
                if (rule.temperature) {  // NoPE layers: scale q by the position's temperature
                    const float sc = model::attn_temperature(config_, pos);
                    for (int64_t c = 0; c < H * d; ++c) qi[c] *= sc;
                }
            }
        });
    clock.mark(Stage::RopeScale);

    // Per sequence: write keys and attend. A chunk ring holds one chunk, so rows crossing chunk
    // edges are processed segment by segment: each segment's keys are written, then its queries
    // attend (they only see their own chunk).
    const AttentionShape shape{H, Hkv, d, rule.chunked, plan_.chunk_size, 1.0f / std::sqrt(static_cast<float>(d))};
    float* attn = ws_.attn.data();  // [S, H, d]
    for (std::size_t si = 0; si < steps.size(); ++si) {
        kv::SequenceKv& seq = host_kv(steps[si].kv);
        kv::LayerKv& lkv = seq.layer(il);
        const kv::KvLayout& layout = seq.layout();
        const int64_t end = ws_.row_begin[si + 1];
        int64_t seg_begin = ws_.row_begin[si];
        while (seg_begin < end) {
            int64_t seg_end = end;
            if (rule.chunked) {
                const int64_t pos0 = positions[static_cast<std::size_t>(seg_begin)];
                const int64_t chunk_end = (pos0 / plan_.chunk_size + 1) * plan_.chunk_size;
                seg_end = std::min(end, seg_begin + (chunk_end - pos0));
            }
            // The segment's pages first (allocation is single-threaded), then its rows encoded
            // over the threads: a prompt's KV writes were the one serial part of attention.
            for (int64_t i = seg_begin; i < seg_end; ++i) lkv.reserve_slot(layout.slot(il, positions[static_cast<std::size_t>(i)]));
            pool_.parallel_for_grain(seg_end - seg_begin, kv::kKTile, [&](int64_t r0, int64_t r1, int) {
                for (int64_t i = seg_begin + r0; i < seg_begin + r1; ++i)
                    lkv.write(layout.slot(il, positions[static_cast<std::size_t>(i)]), k + i * Hkv * d, v + i * Hkv * d);
            });
            attention(q + seg_begin * H * d,
                      positions.subspan(static_cast<std::size_t>(seg_begin), static_cast<std::size_t>(seg_end - seg_begin)),
                      lkv, shape, attn + seg_begin * H * d, pool_);
            seg_begin = seg_end;
        }
    }
    // KV beyond RAM: the file pages this layer's attention read leave the process before the
    // next layer reads its own, so RSS grows by one layer's file KV at most, not all layers'.
    if (kv_store_ && !rule.chunked) kv_store_->drop_resident();
    clock.mark(Stage::Attention);
    matmul_nt(attn, S, as_matrix(*w.wo), out, pool_);
    report("self_attn.o_proj", il, out, S, config_.hidden_size);
    clock.mark(Stage::AttnOut);
}

void CpuForward::forward(backend::Batch batch, std::vector<float>& logits) {
    check(!batch.empty(), "forward: no sequences");
    const int64_t V = config_.vocab_size, R = options_.max_batch_rows;
    logits.resize(static_cast<std::size_t>(backend::batch_logit_rows(batch) * V));
    if (backend::batch_rows(batch) <= R && static_cast<int64_t>(batch.size()) <= R) {
        forward_pass(batch, logits);
        return;
    }
    // Longer than the workspace: passes of at most R rows; a long sequence is cut into pieces in
    // successive passes (results do not depend on the cut). A piece that does not end its
    // sequence still yields its last row's logits (one row of lm_head), which are dropped.
    std::vector<backend::SequenceStep> pass;
    std::vector<bool> keep;                           // per piece of the pass: its logits are wanted
    std::vector<std::vector<int64_t>> shifted_rows;   // embedding_rows relative to each piece
    std::vector<float> piece_logits;
    int64_t rows = 0, out = 0;
    const auto run = [&]() {
        piece_logits.resize(static_cast<std::size_t>(backend::batch_logit_rows(pass) * V));
        forward_pass(pass, piece_logits);
        int64_t src = 0;
        for (std::size_t i = 0; i < pass.size(); ++i) {
            const int64_t n = pass[i].all_logits ? static_cast<int64_t>(pass[i].tokens.size()) : 1;
            if (keep[i]) {
                std::copy_n(piece_logits.begin() + src * V, n * V, logits.begin() + out * V);
                out += n;
            }
            src += n;
        }
        pass.clear();
        keep.clear();
        shifted_rows.clear();
        rows = 0;
    };
    for (const backend::SequenceStep& st : batch) {
        const auto n = static_cast<int64_t>(st.tokens.size());
        const int64_t D = config_.hidden_size;
        std::size_t e = 0;  // next embedding row of st
        for (int64_t a = 0; a < n;) {
            if (rows == R || static_cast<int64_t>(pass.size()) == R) run();
            const int64_t len = std::min(n - a, R - rows);
            backend::SequenceStep p = st;
            p.tokens = st.tokens.subspan(static_cast<std::size_t>(a), static_cast<std::size_t>(len));
            std::vector<int64_t>& sr = shifted_rows.emplace_back();
            const std::size_t e0 = e;
            while (e < st.embedding_rows.size() && st.embedding_rows[e] < a + len) sr.push_back(st.embedding_rows[e++] - a);
            p.embedding_rows = sr;
            p.embeddings = st.embeddings.empty() ? st.embeddings : st.embeddings.subspan(e0 * static_cast<std::size_t>(D), (e - e0) * static_cast<std::size_t>(D));
            pass.push_back(p);
            keep.push_back(st.all_logits || a + len == n);
            rows += len;
            a += len;
        }
    }
    if (!pass.empty()) run();
}

void CpuForward::forward_pass(backend::Batch steps, std::span<float> logits) {
    const int64_t D = config_.hidden_size, V = config_.vocab_size;
    Workspace& ws = ws_;
    int64_t S = 0;
    ws.row_begin[0] = 0;
    for (std::size_t si = 0; si < steps.size(); ++si) {
        const backend::SequenceStep& st = steps[si];
        check(st.kv != nullptr && !st.tokens.empty(), "forward: every sequence needs a KV memory and tokens");
        if (!(st.embedding_rows.size() * static_cast<std::size_t>(D) == st.embeddings.size())) throw Error(cat("forward: ", st.embedding_rows.size(), " embedding rows need ", st.embedding_rows.size() * D,
                  " values, got ", st.embeddings.size()));
        const int64_t n_past = host_kv(st.kv).n_past();
        for (std::size_t i = 0; i < st.tokens.size(); ++i, ++S) {
            const int32_t t = st.tokens[i];
            if (!(t >= 0 && t < V)) throw Error(cat("token id ", t, " is outside the vocabulary [0, ", V, ")"));
            ws.tokens[static_cast<std::size_t>(S)] = t;
            ws.positions[static_cast<std::size_t>(S)] = n_past + static_cast<int64_t>(i);
        }
        ws.row_begin[si + 1] = S;
    }
    StageClock clock(profile_, pool_);
    if (profile_) ++profile_->passes;

    // h [S, D]: token embeddings (no scaling), or the given rows.
    float* h = ws.h.data();
    float* xn = ws.xn.data();
    float* branch = ws.branch.data();
    const WeightMatrix embed = as_matrix(*weights_.embed);
    for (std::size_t si = 0; si < steps.size(); ++si) {
        const backend::SequenceStep& st = steps[si];
        const int64_t r0 = ws.row_begin[si];
        std::size_t e = 0;
        for (int64_t i = 0; i < static_cast<int64_t>(st.tokens.size()); ++i) {
            float* row = h + (r0 + i) * D;
            if (e < st.embedding_rows.size() && st.embedding_rows[e] == i) {
                std::copy_n(st.embeddings.data() + e * static_cast<std::size_t>(D), D, row);
                ++e;
            } else {
                embed.row_to_f32(st.tokens[static_cast<std::size_t>(i)], 0, D, row);
            }
        }
        check(e == st.embedding_rows.size(), "forward: embedding_rows must be increasing indices of the step's tokens");
    }
    report("model.embed_tokens", -1, h, S, D);
    clock.mark(Stage::Embed);

    // Each residual add is fused into the norm that reads its result (add_rms_norm): one pass over
    // the rows, split over the threads, instead of a serial add and a serial norm.
    for (int64_t il = 0; il < plan_.n_layers(); ++il) {
        const model::LayerWeights& w = weights_.layers[static_cast<std::size_t>(il)];
        // h = h + FFN_prev (the previous layer's branch), then xn = RMSNorm_in(h)
        add_rms_norm(h, il == 0 ? nullptr : branch, S, D, as_matrix(*w.attn_norm), config_.rms_norm_eps, xn, pool_);
        if (il > 0) report("", il - 1, h, S, D);
        report("input_layernorm", il, xn, S, D);
        clock.mark(Stage::Norms);
        // h = h + Attn(xn), then xn = RMSNorm_post(h)
        attention_block(il, steps, xn, branch);
        clock.restart();  // attention_block timed its own steps
        add_rms_norm(h, branch, S, D, as_matrix(*w.ffn_norm), config_.rms_norm_eps, xn, pool_);
        report("post_attention_layernorm", il, xn, S, D);
        clock.mark(Stage::Norms);
        if (plan_.layers[static_cast<std::size_t>(il)].moe) {
            const MoeTaps taps = observer_ ? MoeTaps{ws.router.data(), ws.shared_expert.data()} : MoeTaps{};
            moe_ffn(xn, S, w, config_.num_experts_per_tok, branch, pool_, taps);
            report("feed_forward.router", il, ws.router.data(), S, config_.num_local_experts);
            report("feed_forward.shared_expert", il, ws.shared_expert.data(), S, D);
            clock.mark(Stage::Moe);
        } else {
            swiglu_ffn(xn, S, as_matrix(*w.mlp_gate), as_matrix(*w.mlp_up), as_matrix(*w.mlp_down), branch, pool_);
            clock.mark(Stage::DenseFfn);
        }
        report("feed_forward", il, branch, S, D);
    }
    // The last layer's residual add (no norm follows directly: the final norm reads only the
    // rows whose logits are wanted).
    add_in_place(h, branch, S * D, pool_);
    report("", plan_.n_layers() - 1, h, S, D);
    clock.mark(Stage::Norms);
    for (const backend::SequenceStep& st : steps) st.kv->advance(static_cast<int64_t>(st.tokens.size()));

    // Final norm and lm_head on the rows whose logits are wanted (gathered into branch).
    int64_t n_out = 0;
    for (std::size_t si = 0; si < steps.size(); ++si)
        for (int64_t r = steps[si].all_logits ? ws.row_begin[si] : ws.row_begin[si + 1] - 1; r < ws.row_begin[si + 1]; ++r)
            std::copy_n(h + r * D, D, branch + (n_out++) * D);
    rms_norm(branch, n_out, D, as_matrix(*weights_.norm), config_.rms_norm_eps, xn);
    report("model.norm", -1, xn, n_out, D);
    check(static_cast<int64_t>(logits.size()) >= n_out * V, "forward: logits buffer too small");
    matmul_nt(xn, n_out, as_matrix(*weights_.lm_head), logits.data(), pool_);
    report("lm_head", -1, logits.data(), n_out, V);
    clock.mark(Stage::LmHead);
}

}  // namespace scout::cpu
