#include "backend/forward.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/error.hpp"

namespace scout::backend {

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

void top_logits_of(std::span<const float> logits, int64_t rows, int64_t V, int k, TopLogits& out) {
    check(k >= 1 && V >= 1 && static_cast<int64_t>(logits.size()) == rows * V, "top_logits_of: bad shape");
    const int kk = static_cast<int>(std::min<int64_t>(k, V));
    out.k = kk;
    out.ids.resize(static_cast<std::size_t>(rows * kk));
    out.values.resize(out.ids.size());
    out.usable.resize(static_cast<std::size_t>(rows));
    std::vector<int32_t> order(static_cast<std::size_t>(V));
    for (int64_t r = 0; r < rows; ++r) {
        const float* x = logits.data() + r * V;
        bool bad = false, any_finite = false;
        for (int64_t i = 0; i < V; ++i) {
            bad |= !(x[i] < std::numeric_limits<float>::infinity());
            any_finite |= x[i] > -std::numeric_limits<float>::infinity();
        }
        out.usable[static_cast<std::size_t>(r)] = !bad && any_finite;
        std::iota(order.begin(), order.end(), 0);
        // NaN rows are unusable; keep the comparison a strict weak order anyway (NaN last).
        const auto key = [&](int32_t i) { return std::isnan(x[i]) ? -std::numeric_limits<float>::infinity() : x[i]; };
        std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](int32_t a, int32_t b) {
            const float ka = key(a), kb = key(b);
            return ka != kb ? ka > kb : a < b;
        });
        for (int j = 0; j < kk; ++j) {
            out.ids[static_cast<std::size_t>(r * kk + j)] = order[static_cast<std::size_t>(j)];
            out.values[static_cast<std::size_t>(r * kk + j)] = x[order[static_cast<std::size_t>(j)]];
        }
    }
}

void Forward::forward_top(Batch batch, int k, TopLogits& out) {
    std::vector<float> logits;
    forward(batch, logits);
    const int64_t V = config().vocab_size;
    top_logits_of(logits, static_cast<int64_t>(logits.size()) / V, V, k, out);
}

void Forward::fill_kv_random(kv::KvMemory&, int64_t, uint64_t) {
    throw Error(cat("the ", capabilities().device, " backend cannot fill KV memory with random rows: use --fill prefill"));
}

}  // namespace scout::backend
