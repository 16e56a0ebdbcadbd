#include "backend/cpu/ops/ffn.hpp"

#include <algorithm>
#include <numeric>

#include "backend/cpu/ops/matmul.hpp"
#include "base/error.hpp"

namespace scout::cpu {

void swiglu_ffn(const float* x, int64_t T, const WeightMatrix& gate, const WeightMatrix& up,
                const WeightMatrix& down, float* y, ThreadPool& pool) {
    const int64_t F = gate.rows;
    std::vector<float> g(static_cast<std::size_t>(T * F)), u(static_cast<std::size_t>(T * F));
    const MatmulOut gate_up[] = {{gate, g.data()}, {up, u.data()}};
    matmul_nt_group(x, T, gate_up, pool);
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    matmul_nt(g.data(), T, down, y, pool);
}

Route route_token(const float* logits, int64_t n_experts, int64_t k) {
    std::vector<int32_t> order(static_cast<std::size_t>(n_experts));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    Route r;
    for (int64_t i = 0; i < k; ++i) {
        const int32_t e = order[static_cast<std::size_t>(i)];
        r.experts.push_back(e);
        r.scores.push_back(1.0f / (1.0f + std::exp(-logits[e])));
    }
    return r;
}

namespace {

// Expert e's matrix of a bound ExpertMatrix (model/weights.hpp) as a WeightMatrix view: the
// expert's slice, narrowed to the view's columns when it is stored [in, cols] (HF gate/up halves).
WeightMatrix expert_matrix(const model::ExpertMatrix& m, int64_t e) {
    WeightMatrix w = slice_matrix(*m.tensor, e);
    if (!m.transposed && (m.col0 != 0 || m.out != w.cols)) {
        const int64_t blk = dtype_block_elems(w.dtype);
        check(m.col0 % blk == 0 && m.out % blk == 0, cat(m.tensor->name, ": expert column view not block-aligned"));
        w.data = static_cast<const uint8_t*>(w.data) + static_cast<std::size_t>(m.col0 / blk) * dtype_size(w.dtype);
        w.cols = m.out;
    }
    return w;
}

// One expert on its gathered tokens: xe [n, D] -> ye [n, D]:  ye = down(silu(xe·gate) ⊙ (xe·up)).
// Each product runs as x·Wᵀ (matmul_t / matmul_group) or x·W (matmul_n) as the bound view says.
// MatNT(x, T, w, y), MatGroup(x, T, span<const MatmulOut>) (products sharing x), MatNN(x, T, w, y).
template <typename MatNT, typename MatGroup, typename MatNN>
void run_expert(const float* xe, int64_t n, const model::ExpertWeights& ew, int64_t e, float* ye, MatNT&& matmul_t,
                MatGroup&& matmul_group, MatNN&& matmul_n) {
    const auto product = [&](const model::ExpertMatrix& m, const WeightMatrix& w, const float* x, float* y) {
        if (m.transposed) matmul_t(x, n, w, y);
        else matmul_n(x, n, w, y);
    };
    const int64_t F = ew.gate.out;
    std::vector<float> g(static_cast<std::size_t>(n * F)), u(static_cast<std::size_t>(n * F));
    if (ew.gate.transposed && ew.up.transposed) {
        // Both x·Wᵀ: one pass over the rows of both.
        const MatmulOut gate_up[] = {{expert_matrix(ew.gate, e), g.data()}, {expert_matrix(ew.up, e), u.data()}};
        matmul_group(xe, n, std::span<const MatmulOut>(gate_up));
    } else if (!ew.gate.transposed && !ew.up.transposed && ew.gate.tensor == ew.up.tensor && ew.gate.col0 == 0 &&
               ew.up.col0 == F) {
        // The two halves of one [in, 2F] matrix: one product over the whole rows (each weight row
        // is one contiguous read), then split.
        std::vector<float> gu(static_cast<std::size_t>(n * 2 * F));
        matmul_n(xe, n, slice_matrix(*ew.gate.tensor, e), gu.data());
        for (int64_t t = 0; t < n; ++t) {
            std::copy_n(gu.data() + t * 2 * F, F, g.data() + t * F);
            std::copy_n(gu.data() + t * 2 * F + F, F, u.data() + t * F);
        }
    } else {
        product(ew.gate, expert_matrix(ew.gate, e), xe, g.data());
        product(ew.up, expert_matrix(ew.up, e), xe, u.data());
    }
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = u[i] * silu(g[i]);
    product(ew.down, expert_matrix(ew.down, e), g.data(), ye);
}

template <typename MatNT, typename MatGroup, typename MatNN>
void moe_impl(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, MatNT&& matmul_t,
              MatGroup&& matmul_group, MatNN&& matmul_n) {
    const int64_t E = w.router->shape[0], D = w.router->shape[1];
    // Router logits and the shared expert's gate/up all read x: one pass.
    const WeightMatrix sg = as_matrix(*w.shared_gate), su = as_matrix(*w.shared_up), sd = as_matrix(*w.shared_down);
    const int64_t F = sg.rows;
    std::vector<float> logits(static_cast<std::size_t>(T * E));
    std::vector<float> g(static_cast<std::size_t>(T * F)), u(static_cast<std::size_t>(T * F));
    const MatmulOut first[] = {{as_matrix(*w.router), logits.data()}, {sg, g.data()}, {su, u.data()}};
    matmul_group(x, T, std::span<const MatmulOut>(first));

    // Group (token, score) pairs per expert.
    std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<std::size_t>(E));
    for (int64_t t = 0; t < T; ++t) {
        const Route r = route_token(logits.data() + t * E, E, k);
        for (int64_t i = 0; i < k; ++i)
            assigned[static_cast<std::size_t>(r.experts[static_cast<std::size_t>(i)])].emplace_back(
                t, r.scores[static_cast<std::size_t>(i)]);
    }

    // Routed outputs summed per token in expert-index order (transformers' order), then
    // added to the shared expert's output.
    std::vector<float> routed(static_cast<std::size_t>(T * D), 0.0f);
    std::vector<float> xe, ye;
    for (int64_t e = 0; e < E; ++e) {
        const auto& list = assigned[static_cast<std::size_t>(e)];
        if (list.empty()) continue;
        const auto n = static_cast<int64_t>(list.size());
        xe.assign(static_cast<std::size_t>(n * D), 0.0f);
        ye.assign(static_cast<std::size_t>(n * D), 0.0f);
        for (int64_t i = 0; i < n; ++i) {
            const auto [t, score] = list[static_cast<std::size_t>(i)];
            for (int64_t c = 0; c < D; ++c) xe[static_cast<std::size_t>(i * D + c)] = x[t * D + c] * score;
        }
        run_expert(xe.data(), n, w.experts, e, ye.data(), matmul_t, matmul_group, matmul_n);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t t = list[static_cast<std::size_t>(i)].first;
            for (int64_t c = 0; c < D; ++c) routed[static_cast<std::size_t>(t * D + c)] += ye[static_cast<std::size_t>(i * D + c)];
        }
    }

    // Shared expert (always on, weight 1, width F); gate/up computed above.
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    matmul_t(g.data(), T, sd, y);
    for (int64_t i = 0; i < T * D; ++i) y[i] += routed[static_cast<std::size_t>(i)];
}

}  // namespace

void moe_ffn(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y, ThreadPool& pool) {
    moe_impl(
        x, T, w, k, y, [&](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nt(a, n, m, out, pool); },
        [&](const float* a, int64_t n, std::span<const MatmulOut> outs) { matmul_nt_group(a, n, outs, pool); },
        [&](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nn(a, n, m, out, pool); });
}

void moe_ffn_ref(const float* x, int64_t T, const model::LayerWeights& w, int64_t k, float* y) {
    moe_impl(
        x, T, w, k, y, [](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nt_ref(a, n, m, out); },
        [](const float* a, int64_t n, std::span<const MatmulOut> outs) {
            for (const MatmulOut& o : outs) matmul_nt_ref(a, n, o.w, o.y);
        },
        [](const float* a, int64_t n, const WeightMatrix& m, float* out) { matmul_nn_ref(a, n, m, out); });
}

}  // namespace scout::cpu
