#include "backend/cpu/ops/ffn.hpp"

#include <algorithm>
#include <numeric>

#include "backend/cpu/ops/matmul.hpp"
#include "base/error.hpp"

namespace scout::cpu {

namespace {

// Grows v to at least n elements (never shrinks: kept buffers make later calls allocation-free).
float* grow(std::vector<float>& v, int64_t n) {
    if (v.size() < static_cast<std::size_t>(n)) v.resize(static_cast<std::size_t>(n));
    return v.data();
}

}  // namespace

void swiglu_ffn(const float* x, int64_t T, const WeightMatrix& gate, const WeightMatrix& up,
                const WeightMatrix& down, float* y, ThreadPool& pool) {
    const int64_t F = gate.rows;
    thread_local FfnScratch scratch;  // the calling thread's buffers, kept between calls
    float* g = grow(scratch.g, T * F);
    float* u = grow(scratch.u, T * F);
    const MatmulOut gate_up[] = {{gate, g}, {up, u}};
    matmul_nt_group(x, T, gate_up, pool);
    for (int64_t i = 0; i < T * F; ++i) g[i] = silu(g[i]) * u[i];
    matmul_nt(g, T, down, y, pool);
}

void route_token_into(const float* logits, int64_t n_experts, int64_t k, int32_t* experts, float* scores) {
    // k passes of a max scan: the same k experts, in the same order, as a stable descending sort
    // (a strictly larger logit wins, so the lower index stays first on ties), without the sort's
    // buffers.
    for (int64_t i = 0; i < k; ++i) {
        int32_t best = -1;
        for (int32_t e = 0; e < n_experts; ++e) {
            bool taken = false;
            for (int64_t j = 0; j < i; ++j) taken |= experts[j] == e;
            if (!taken && (best < 0 || logits[e] > logits[best])) best = e;
        }
        experts[i] = best;
        scores[i] = 1.0f / (1.0f + std::exp(-logits[best]));
    }
}

Route route_token(const float* logits, int64_t n_experts, int64_t k) {
    Route r;
    r.experts.resize(static_cast<std::size_t>(k));
    r.scores.resize(static_cast<std::size_t>(k));
    route_token_into(logits, n_experts, k, r.experts.data(), r.scores.data());
    return r;
}

namespace {

// Expert e's matrix of a bound ExpertMatrix (model/weights.hpp) as a WeightMatrix view: the
// expert's slice, narrowed to the view's columns when it is stored [in, cols] (HF gate/up halves).
WeightMatrix expert_matrix(const model::ExpertMatrix& m, int64_t e) {
    WeightMatrix w = slice_matrix(*m.tensor, e);
    if (!m.transposed && (m.col0 != 0 || m.out != w.cols)) {
        const int64_t blk = dtype_block_elems(w.dtype);
        if (!(m.col0 % blk == 0 && m.out % blk == 0)) throw Error(cat(m.tensor->name, ": expert column view not block-aligned"));
        w.data = static_cast<const uint8_t*>(w.data) + static_cast<std::size_t>(m.col0 / blk) * dtype_size(w.dtype);
        w.cols = m.out;
    }
    return w;
}

// One expert on its gathered tokens: xe [n, D] -> ye [n, D]:  ye = down(silu(xe·gate) ⊙ (xe·up)).
// Each product runs as x·Wᵀ (matmul_t / matmul_group) or x·W (matmul_n) as the bound view says.
// MatNT(x, T, w, y), MatGroup(x, T, span<const MatmulOut>) (products sharing x), MatNN(x, T, w, y).
template <typename MatNT, typename MatGroup, typename MatNN>
void run_expert(const float* xe, int64_t n, const model::ExpertWeights& ew, int64_t e, float* ye, FfnScratch& scratch,
                MatNT&& matmul_t, MatGroup&& matmul_group, MatNN&& matmul_n) {
    const auto product = [&](const model::ExpertMatrix& m, const WeightMatrix& w, const float* x, float* y) {
        if (m.transposed) matmul_t(x, n, w, y);
        else matmul_n(x, n, w, y);
    };
    const int64_t F = ew.gate.out;
    float* g = grow(scratch.g, n * F);
    float* u = grow(scratch.u, n * F);
    if (ew.gate.transposed && ew.up.transposed) {
        // Both x·Wᵀ: one pass over the rows of both.
        const MatmulOut gate_up[] = {{expert_matrix(ew.gate, e), g}, {expert_matrix(ew.up, e), u}};
        matmul_group(xe, n, std::span<const MatmulOut>(gate_up));
    } else if (!ew.gate.transposed && !ew.up.transposed && ew.gate.tensor == ew.up.tensor && ew.gate.col0 == 0 &&
               ew.up.col0 == F) {
        // The two halves of one [in, 2F] matrix: one product over the whole rows (each weight row
        // is one contiguous read), then split.
        float* gu = grow(scratch.gu, n * 2 * F);
        matmul_n(xe, n, slice_matrix(*ew.gate.tensor, e), gu);
        for (int64_t t = 0; t < n; ++t) {
            std::copy_n(gu + t * 2 * F, F, g + t * F);
            std::copy_n(gu + t * 2 * F + F, F, u + t * F);
        }
    } else {
        product(ew.gate, expert_matrix(ew.gate, e), xe, g);
        product(ew.up, expert_matrix(ew.up, e), xe, u);
    }
    for (int64_t i = 0; i < n * F; ++i) g[i] = u[i] * silu(g[i]);
    product(ew.down, expert_matrix(ew.down, e), g, ye);
}

template <typename MatNT, typename MatGroup, typename MatNN>
void moe_impl(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, const MoeTaps& taps,
              MoeScratch& sc, MatNT&& matmul_t, MatGroup&& matmul_group, MatNN&& matmul_n) {
    const int64_t E = w.router->shape[0], D = w.router->shape[1];
    // Router logits and the shared expert's gate/up all read x: one pass.
    const WeightMatrix sg = as_matrix(*w.shared_gate), su = as_matrix(*w.shared_up), sd = as_matrix(*w.shared_down);
    const int64_t F = sg.rows;
    float* logits = grow(sc.logits, T * E);  // [T, E]
    float* g = grow(sc.shared_g, T * F);     // [T, F]
    float* u = grow(sc.shared_u, T * F);     // [T, F]
    const MatmulOut first[] = {{as_matrix(*w.router), logits}, {sg, g}, {su, u}};
    matmul_group(x, T, std::span<const MatmulOut>(first));
    if (taps.router_logits) std::copy_n(logits, T * E, taps.router_logits);

    // Route every token, then group the (token, score) pairs per expert (counting sort: the
    // pairs of expert e are order[start[e] .. start[e+1]), tokens ascending).
    if (sc.expert_of.size() < static_cast<std::size_t>(T * k)) {
        sc.expert_of.resize(static_cast<std::size_t>(T * k));
        sc.order.resize(static_cast<std::size_t>(T * k));
    }
    float* score_of = grow(sc.score_of, T * k);
    sc.start.assign(static_cast<std::size_t>(E + 1), 0);  // E + 1 <= capacity after the first call
    for (int64_t t = 0; t < T; ++t) {
        route_token_into(logits + t * E, E, k, sc.expert_of.data() + t * k, score_of + t * k);
        for (int64_t i = 0; i < k; ++i) ++sc.start[static_cast<std::size_t>(sc.expert_of[static_cast<std::size_t>(t * k + i)]) + 1];
    }
    for (int64_t e = 0; e < E; ++e) sc.start[static_cast<std::size_t>(e + 1)] += sc.start[static_cast<std::size_t>(e)];
    sc.fill.assign(sc.start.begin(), sc.start.end() - 1);
    for (int64_t p = 0; p < T * k; ++p)
        sc.order[static_cast<std::size_t>(sc.fill[static_cast<std::size_t>(sc.expert_of[static_cast<std::size_t>(p)])]++)] = p;

    // Routed outputs summed per token in expert-index order (transformers' order), then
    // added to the shared expert's output.
    float* routed = grow(sc.routed, T * D);
    std::fill_n(routed, T * D, 0.0f);
    for (int64_t e = 0; e < E; ++e) {
        const int64_t b = sc.start[static_cast<std::size_t>(e)], n = sc.start[static_cast<std::size_t>(e + 1)] - b;
        if (n == 0) continue;
        float* xe = grow(sc.xe, n * D);  // [n, D] the expert's tokens, scaled by their scores
        float* ye = grow(sc.ye, n * D);  // [n, D]
        for (int64_t i = 0; i < n; ++i) {
            const int64_t p = sc.order[static_cast<std::size_t>(b + i)], t = p / k;
            for (int64_t c = 0; c < D; ++c) xe[i * D + c] = x[t * D + c] * score_of[p];
        }
        run_expert(xe, n, w.experts, e, ye, sc.expert, matmul_t, matmul_group, matmul_n);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t t = sc.order[static_cast<std::size_t>(b + i)] / k;
            for (int64_t c = 0; c < D; ++c) routed[t * D + c] += ye[i * D + c];
        }
    }

    // Shared expert (always on, weight 1, width F); gate/up computed above.
    for (int64_t i = 0; i < T * F; ++i) g[i] = silu(g[i]) * u[i];
    matmul_t(g, T, sd, y);
    if (taps.shared_expert) std::copy_n(y, T * D, taps.shared_expert);
    for (int64_t i = 0; i < T * D; ++i) y[i] += routed[i];
}

}  // namespace

void moe_ffn(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, ThreadPool& pool,
             const MoeTaps& taps) {
    thread_local MoeScratch scratch;  // the calling thread's buffers, kept between calls
    moe_impl(
        x, T, w, k, y, taps, scratch, [&](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nt(a, n, m, out, pool); },
        [&](const float* a, int64_t n, std::span<const MatmulOut> outs) { matmul_nt_group(a, n, outs, pool); },
        [&](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nn(a, n, m, out, pool); });
}

void moe_ffn_ref(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y) {
    MoeScratch scratch;
    moe_impl(
        x, T, w, k, y, MoeTaps{}, scratch, [](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nt_ref(a, n, m, out); },
        [](const float* a, int64_t n, std::span<const MatmulOut> outs) {
            for (const MatmulOut& o : outs) matmul_nt_ref(a, n, o.w, o.y);
        },
        [](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nn_ref(a, n, m, out); });
}

}  // namespace scout::cpu
