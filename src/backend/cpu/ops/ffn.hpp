// Feed-forward blocks: the dense SwiGLU and the Llama 4 mixture of experts.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/thread_pool.hpp"
#include "model/weights.hpp"

namespace scout::cpu {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// y[T, D] = down( silu(x·gateᵀ) ⊙ (x·upᵀ) ); gate/up: [F, D], down: [D, F].
void swiglu_ffn(const float* x, int64_t T, const WeightMatrix& gate, const WeightMatrix& up,
                const WeightMatrix& down, float* y, ThreadPool& pool);

// Routing decision for one token: the k experts with the largest raw router logits
// (descending; lower index first on ties) and their sigmoid scores.
struct Route {
    std::vector<int32_t> experts;  // k entries
    std::vector<float> scores;     // sigmoid(logit), k entries
};
Route route_token(const float* router_logits, int64_t n_experts, int64_t k);
// The same into experts[k], scores[k] (no allocation).
void route_token_into(const float* router_logits, int64_t n_experts, int64_t k, int32_t* experts, float* scores);

// Buffers of the feed-forward blocks, grown on first use and kept, so that a forward pass in
// steady state allocates nothing.
struct FfnScratch {
    std::vector<float> g, u, gu;
};
// One work item of the grouped MoE: rows [r0, r1) of one product of one expert (-1: the shared one).
struct MoeWorkItem {
    int32_t expert = 0;
    int64_t r0 = 0, r1 = 0;
};
struct MoeScratch {
    std::vector<float> logits, shared_g, shared_u, score_of, routed, xe, ye, g_all, u_all;
    std::vector<int32_t> expert_of;
    std::vector<int64_t> order, start, fill, pos_of;
    std::vector<int64_t> active;      // experts with tokens, most tokens first (grouped path)
    std::vector<uint8_t> xq, hq, sq;  // rows prepared for the products (matmul.hpp PreparedRows)
    std::vector<MoeWorkItem> items;
    FfnScratch expert;
};

// Llama 4 MoE over T tokens x: [T, D] -> y: [T, D]
//   y = shared(x) + Σ_{e ∈ topk} expert_e(sigmoid(logit_e) · x)   (the score scales the expert INPUT)
// Only routed experts are computed; tokens are grouped per expert so each expert's
// weights are read once per call.
// Intermediate results a caller may ask for (named activation dumps); null: not written.
struct MoeTaps {
    float* router_logits = nullptr;  // [T, E] the router's logits
    float* shared_expert = nullptr;  // [T, D] the shared expert's output, before the routed sum is added
};
//
// Work split (GGUF's x·Wᵀ expert layout): five parallel regions whatever the routing, each over
// all active experts at once: (1) router + shared gate/up, (2) the routed rows gathered, scaled
// and prepared + the shared silu·mul, (3) gate/up/silu over (expert, panel of rows) items,
// (4) the hidden rows prepared for down, (5) down over (expert or shared, panel) items, then the
// per-token sum. Items are claimed dynamically, largest experts first, so any routing keeps
// every thread busy. Other layouts (HF's [in, out] experts) run moe_ffn_per_expert.
void moe_ffn(const float* x, int64_t T, const model::LayerWeights& w, int64_t n_experts_per_tok, float* y,
             ThreadPool& pool, const MoeTaps& taps = {});

// The same, one expert after another, each product split over the threads by itself (about
// four regions per active expert). Results are bit-identical to moe_ffn's; it serves layouts
// the grouped split does not cover and is its twin in the tests.
void moe_ffn_per_expert(const float* x, int64_t T, const model::LayerWeights& w, int64_t n_experts_per_tok, float* y,
                        ThreadPool& pool, const MoeTaps& taps = {});

// Plain twin: every token, every selected expert, computed one by one with the *_ref matmuls.
void moe_ffn_ref(const float* x, int64_t T, const model::LayerWeights& w, int64_t n_experts_per_tok, float* y);

}  // namespace scout::cpu
