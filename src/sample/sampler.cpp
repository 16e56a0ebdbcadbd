// Sampler: composes the pure steps of steps.cpp; see sampler.hpp and docs/sampling.md.
#include "sample/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.hpp"
#include "sample/require.hpp"

namespace scout {

using sample_detail::require;

Sampler::Sampler(SamplingParams params) : params_(params), rng_(params.seed) {
    validate(params_);
}

void Sampler::reset(uint64_t seed) {
    params_.seed = seed;
    rng_.reseed(seed);
}

std::span<const float> Sampler::penalised_logits(std::span<const float> logits,
                                                 std::span<const int32_t> history,
                                                 std::span<const uint64_t> allowed) {
    check_logits(logits);
    const bool penalise = penalties_active(params_) && !history.empty();
    if (!penalise && allowed.empty()) return logits;
    penalised_.assign(logits.begin(), logits.end());
    if (penalise) apply_penalties(penalised_, history, params_, scratch_);
    if (!allowed.empty())
        require(apply_token_mask(penalised_, allowed) > 0, "sampling: the output constraint allows no token here");
    return penalised_;
}

int32_t Sampler::choose(std::span<const float> logits) {
    if (is_greedy(params_)) return argmax(logits);
    // Always take the draw, even if the filters leave one token: the stream then advances once
    // per call, so later draws do not depend on how many tokens earlier filters kept.
    const double u = rng_.next_unit();
    candidates_.resize(logits.size());
    fill_candidates(logits, params_.temperature, candidates_);  // temperature first, as in HF
    std::span<Candidate> kept = top_k_filter(candidates_, params_.top_k);
    softmax(kept);
    kept = top_p_filter(kept, params_.top_p);
    kept = min_p_filter(kept, params_.min_p);
    // No second softmax: draw scales u by the survivors' total mass, which is exactly the
    // renormalised distribution, and saves a pass of exp over what may be most of the vocab.
    return draw(kept, u);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history,
                        std::span<const uint64_t> allowed) {
    return choose(penalised_logits(logits, history, allowed));
}

bool Sampler::samples_from_top(const SamplingParams& params, int k) {
    if (penalties_active(params) || k < 1) return false;
    return is_greedy(params) || (params.top_k >= 1 && params.top_k < k);
}

int32_t Sampler::sample_from_top(std::span<const int32_t> ids, std::span<const float> values, bool usable) {
    require(samples_from_top(params_, static_cast<int>(ids.size())),
            "sampling: these parameters need the whole logit row (sample_from_top)");
    require(ids.size() == values.size() && !ids.empty(), "sampling: top logits of mismatched sizes");
    require(usable, "sampling: the forward pass produced a non-finite logit (NaN or +inf), or none finite");
    if (is_greedy(params_)) return ids[0];  // largest first, lowest id among equals: argmax's rule
    // The chain of choose() on the k candidates: top_k_filter keeps the same top_k tokens in the
    // same order as it would over the whole row (see samples_from_top), so the draw is the same.
    const double u = rng_.next_unit();
    candidates_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) candidates_[i] = Candidate{ids[i], values[i] / params_.temperature, 0.0f};
    std::span<Candidate> kept = top_k_filter(candidates_, params_.top_k);
    softmax(kept);
    kept = top_p_filter(kept, params_.top_p);
    kept = min_p_filter(kept, params_.min_p);
    return draw(kept, u);
}

SampleResult Sampler::sample_with_logprobs(std::span<const float> logits,
                                           std::span<const int32_t> history, int n_top,
                                           std::span<const uint64_t> allowed) {
    require(n_top >= 0, "sampling: n_top must be >= 0, got ", n_top);
    const std::span<const float> scores = penalised_logits(logits, history, allowed);
    SampleResult result{};
    result.id = choose(scores);

    // log-softmax at temperature 1 over the whole vocabulary: x - max - log(sum exp(x - max)).
    const float max_score = scores[static_cast<size_t>(argmax(scores))];
    double sum = 0.0;
    for (const float x : scores) sum += std::exp(static_cast<double>(x) - max_score);
    const double log_sum = std::log(sum);
    auto logprob_of = [&](float x) {
        return static_cast<float>(static_cast<double>(x) - max_score - log_sum);
    };
    result.logprob = logprob_of(scores[static_cast<size_t>(result.id)]);

    const size_t n_keep = std::min(static_cast<size_t>(n_top), scores.size());
    if (n_keep > 0) {
        candidates_.resize(scores.size());
        fill_candidates(scores, 1.0f, candidates_);
        std::partial_sort(candidates_.begin(), candidates_.begin() + n_keep, candidates_.end(),
                          [](const Candidate& a, const Candidate& b) {
                              return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
                          });
        result.top_logprobs.reserve(n_keep);
        for (size_t i = 0; i < n_keep; ++i) {
            result.top_logprobs.emplace_back(candidates_[i].id, logprob_of(candidates_[i].logit));
        }
    }
    return result;
}

}  // namespace scout
