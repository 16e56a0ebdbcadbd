#include "backend/cpu/ops/ffn.hpp"

#include <algorithm>
#include <numeric>

#include "backend/cpu/ops/matmul.hpp"
#include "base/error.hpp"

namespace scout::cpu {

namespace {

// Grows v to at least n elements (never shrinks: kept buffers make later calls allocation-free).
template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
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

// Routes every token, then groups the (token, score) pairs per expert (counting sort: the pairs
// of expert e are order[start[e] .. start[e+1]), tokens ascending). Pair p = t·k + i is token t's
// i-th choice: expert_of[p], score_of[p].
void group_by_expert(const float* logits, int64_t T, int64_t E, int64_t k, MoeScratch& sc) {
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

    group_by_expert(logits, T, E, k, sc);
    const float* score_of = sc.score_of.data();

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


// Whether moe_grouped covers these experts: every product x·Wᵀ (GGUF's layout), and gate and
// up reading the same prepared rows.
bool grouped_fits(const model::LayerWeights& w) {
    const model::ExpertWeights& ew = w.experts;
    return ew.gate.transposed && ew.up.transposed && ew.down.transposed &&
           same_prepared_format(ew.gate.tensor->dtype, ew.up.tensor->dtype);
}

// Rows per work item of a product (a multiple of 16, where matmul_nt's threads start).
// Few tokens per expert (decode): the products stream weights, so each thread gets one long
// contiguous run, as matmul_nt's static split gives it. Many: about 8 items per thread, so that
// experts of unequal token counts still balance, each at most 256 rows (an item's slice of a
// Scout expert then stays in L2 while its tokens meet it).
int64_t panel_rows(int64_t total_rows, int threads, int64_t max_tokens) {
    const auto n = static_cast<int64_t>(threads);
    if (max_tokens <= 4) return std::max<int64_t>(16, ((total_rows + n - 1) / n + 15) / 16 * 16);
    const int64_t want = total_rows / (8 * n);
    return std::clamp<int64_t>((want + 15) / 16 * 16, 16, 256);
}

// Appends the items covering rows [0, rows) of expert e's product in panels of `panel`.
void add_panels(std::vector<MoeWorkItem>& items, int32_t e, int64_t rows, int64_t panel) {
    for (int64_t r = 0; r < rows; r += panel) items.push_back({e, r, std::min(rows, r + panel)});
}

// Rows per scheduling unit of the elementwise passes (gather, prepare, sum): about 16 K values,
// so that decode's few rows stay on the calling thread.
int64_t elementwise_grain(int64_t width) { return std::max<int64_t>(1, 16 * 1024 / std::max<int64_t>(1, width)); }

void moe_grouped(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, ThreadPool& pool,
                 const MoeTaps& taps, MoeScratch& sc) {
    const int64_t E = w.router->shape[0], D = w.router->shape[1];
    const model::ExpertWeights& ew = w.experts;
    const WeightMatrix sg = as_matrix(*w.shared_gate), su = as_matrix(*w.shared_up), sd = as_matrix(*w.shared_down);
    const int64_t F = sg.rows;        // the shared expert's width
    const int64_t Fe = ew.gate.out;   // a routed expert's width
    const int64_t P = T * k;          // (token, expert) pairs

    // (1) Router logits and the shared expert's gate/up all read x: one group.
    float* logits = grow(sc.logits, T * E);  // [T, E]
    float* g = grow(sc.shared_g, T * F);     // [T, F]
    float* u = grow(sc.shared_u, T * F);     // [T, F]
    const MatmulOut first[] = {{as_matrix(*w.router), logits}, {sg, g}, {su, u}};
    matmul_nt_group(x, T, first, pool);
    if (taps.router_logits) std::copy_n(logits, T * E, taps.router_logits);
    group_by_expert(logits, T, E, k, sc);  // serial: T·k·E comparisons
    const float* score_of = sc.score_of.data();
    const int64_t* start = sc.start.data();

    // (2) Row r < P: pair order[r]'s token row times its score (the score scales the expert's
    // input), prepared for gate/up. Row P + t: the shared expert's silu(g)·u of token t,
    // prepared for the shared down.
    const DType gate_type = ew.gate.tensor->dtype, down_type = ew.down.tensor->dtype;
    const std::size_t x_row = prepared_row_bytes(gate_type, D), h_row = prepared_row_bytes(down_type, Fe),
                      s_row = prepared_row_bytes(sd.dtype, F);
    float* xs = grow(sc.xe, P * D);  // [P, D] grouped by expert
    uint8_t* xq = grow(sc.xq, P * static_cast<int64_t>(x_row));
    uint8_t* sq = grow(sc.sq, T * static_cast<int64_t>(s_row));
    pool.parallel_for_grain(P + T, elementwise_grain(std::max(D, F)), [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) {
            if (r < P) {
                const int64_t p = sc.order[static_cast<std::size_t>(r)], t = p / k;
                float* row = xs + r * D;
                for (int64_t c = 0; c < D; ++c) row[c] = x[t * D + c] * score_of[p];
                if (x_row) prepare_row(gate_type, row, D, xq + static_cast<std::size_t>(r) * x_row);
            } else {
                const int64_t t = r - P;
                float* gt = g + t * F;
                const float* ut = u + t * F;
                for (int64_t i = 0; i < F; ++i) gt[i] = silu(gt[i]) * ut[i];
                if (s_row) prepare_row(sd.dtype, gt, F, sq + static_cast<std::size_t>(t) * s_row);
            }
        }
    });

    // Active experts, most tokens first (stable: lower index first on ties): the costly items
    // get claimed first and the cheap ones fill the gaps at the end.
    sc.active.clear();
    for (int64_t e = 0; e < E; ++e)
        if (start[e + 1] > start[e]) sc.active.push_back(e);
    std::sort(sc.active.begin(), sc.active.end(), [&](int64_t a, int64_t b) {  // (std::stable_sort would allocate)
        const int64_t na = start[a + 1] - start[a], nb = start[b + 1] - start[b];
        return na != nb ? na > nb : a < b;
    });
    const auto prepared = [](const float* rows, const uint8_t* q, std::size_t row_bytes, int64_t first) {
        return PreparedRows{rows, row_bytes ? q + static_cast<std::size_t>(first) * row_bytes : nullptr, row_bytes};
    };

    // (3) gate and up of every active expert over (expert, panel of its Fe rows), then h = up ·
    // silu(gate) in place on the panel.
    float* G = grow(sc.g_all, P * Fe);  // [P, Fe] gate, then h
    float* U = grow(sc.u_all, P * Fe);  // [P, Fe]
    sc.items.clear();
    const int64_t most_tokens = sc.active.empty() ? 0 : start[sc.active.front() + 1] - start[sc.active.front()];
    const int64_t gu_panel = panel_rows(static_cast<int64_t>(sc.active.size()) * Fe, pool.n_threads(), most_tokens);
    for (int64_t e : sc.active) add_panels(sc.items, static_cast<int32_t>(e), Fe, gu_panel);
    pool.for_each_claimed(static_cast<int64_t>(sc.items.size()), [&](int64_t i, int) {
        const MoeWorkItem it = sc.items[static_cast<std::size_t>(i)];
        const int64_t b = start[it.expert], n = start[it.expert + 1] - b;
        const PreparedRows in = prepared(xs + b * D, xq, x_row, b);
        matmul_nt_rows(in, n, expert_matrix(ew.gate, it.expert), G + b * Fe, it.r0, it.r1);
        matmul_nt_rows(in, n, expert_matrix(ew.up, it.expert), U + b * Fe, it.r0, it.r1);
        for (int64_t t = b; t < b + n; ++t)
            for (int64_t f = it.r0; f < it.r1; ++f) G[t * Fe + f] = U[t * Fe + f] * silu(G[t * Fe + f]);
    });

    // (4) The hidden rows prepared for down.
    uint8_t* hq = grow(sc.hq, P * static_cast<int64_t>(h_row));
    if (h_row)
        pool.parallel_for_grain(P, elementwise_grain(Fe), [&](int64_t r0, int64_t r1, int) {
            for (int64_t r = r0; r < r1; ++r) prepare_row(down_type, G + r * Fe, Fe, hq + static_cast<std::size_t>(r) * h_row);
        });

    // (5) down of every active expert into Y [P, D], and the shared expert's down into y, over
    // (expert, panel of D rows) items; the shared one (all T tokens) first.
    float* Y = grow(sc.ye, P * D);
    sc.items.clear();
    const int64_t d_panel = panel_rows((static_cast<int64_t>(sc.active.size()) + 1) * D, pool.n_threads(), T);
    add_panels(sc.items, -1, D, d_panel);
    for (int64_t e : sc.active) add_panels(sc.items, static_cast<int32_t>(e), D, d_panel);
    pool.for_each_claimed(static_cast<int64_t>(sc.items.size()), [&](int64_t i, int) {
        const MoeWorkItem it = sc.items[static_cast<std::size_t>(i)];
        if (it.expert < 0) {
            matmul_nt_rows(prepared(g, sq, s_row, 0), T, sd, y, it.r0, it.r1);
            return;
        }
        const int64_t b = start[it.expert], n = start[it.expert + 1] - b;
        matmul_nt_rows(prepared(G + b * Fe, hq, h_row, b), n, expert_matrix(ew.down, it.expert), Y + b * D, it.r0, it.r1);
    });

    // Per token: y = shared + (routed outputs summed from 0 in expert-index order, transformers'
    // order). A token's pairs sit in Y in expert order, so its k rows sorted by position are that order.
    sc.pos_of.resize(static_cast<std::size_t>(P));  // capacity kept: no allocation once grown
    for (int64_t r = 0; r < P; ++r) sc.pos_of[static_cast<std::size_t>(sc.order[static_cast<std::size_t>(r)])] = r;
    pool.parallel_for_grain(T, elementwise_grain(D * k), [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t) {
            int64_t* rows = sc.pos_of.data() + t * k;
            std::sort(rows, rows + k);
            if (taps.shared_expert) std::copy_n(y + t * D, D, taps.shared_expert + t * D);
            for (int64_t c = 0; c < D; ++c) {
                float routed = 0.0f;
                for (int64_t i = 0; i < k; ++i) routed += Y[rows[i] * D + c];
                y[t * D + c] += routed;
            }
        }
    });
}

}  // namespace

void moe_ffn(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, ThreadPool& pool,
             const MoeTaps& taps) {
    if (!grouped_fits(w)) {
        moe_ffn_per_expert(x, T, w, k, y, pool, taps);
        return;
    }
    thread_local MoeScratch scratch;  // the calling thread's buffers, kept between calls
    moe_grouped(x, T, w, k, y, pool, taps, scratch);
}

void moe_ffn_per_expert(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, ThreadPool& pool,
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
