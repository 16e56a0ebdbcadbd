// Sampler: logits of one sequence position -> next token id, through the chain of pure steps in
// steps.hpp (order and reasons in docs/sampling.md). One Sampler per sequence: it owns that
// sequence's RNG stream and its scratch buffers (sized on the first call, reused after, so a
// steady-state call does not allocate). No global state: two Samplers with the same params and
// seed, fed the same logits and history, return the same tokens on every platform.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "sample/rng.hpp"
#include "sample/sampling_params.hpp"
#include "sample/steps.hpp"

namespace scout {

struct SampleResult {
    int32_t id;  // the sampled token
    // log p(id) under the full-vocabulary softmax of the penalised logits at temperature 1,
    // before top-k/top-p/min-p: how likely the model found the token, as OpenAI's logprobs
    // report it, independent of the truncation settings.
    float logprob;
    // The n_top most likely tokens under that same distribution, (id, logprob), most likely
    // first (lower id first among equals).
    std::vector<std::pair<int32_t, float>> top_logprobs;
};

class Sampler {
public:
    // Throws scout::Error when a parameter is out of range (see validate()).
    explicit Sampler(SamplingParams params);

    // logits: [n_vocab] raw scores for the next token. history: tokens so far (prompt and
    // generated, oldest first), used only by the penalties. Throws scout::Error on empty logits,
    // NaN / +inf logits, all -inf logits, or a history token in the penalty window that is not
    // in [0, n_vocab). Consumes exactly one RNG draw unless greedy (greedy consumes none).
    // `allowed`: the structured-output mask (apply_token_mask), applied after the penalties and
    // before everything else, greedy or not; empty = no mask. Throws scout::Error when the mask
    // leaves no token with a finite logit.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                   std::span<const uint64_t> allowed = {});

    // sample() plus log-probabilities (see SampleResult); n_top >= 0, clamped to n_vocab.
    // Draws the same token as sample() would from the same state.
    SampleResult sample_with_logprobs(std::span<const float> logits,
                                      std::span<const int32_t> history, int n_top,
                                      std::span<const uint64_t> allowed = {});

    // Whether sample_from_top, given a row's k largest logits, draws what sample() would draw from
    // the whole row (no output mask): greedy, or top_k in [1, k) — with no penalty active. Ties
    // keep the lower ids in both, so the top_k kept are the same; the one exception would be two
    // different logits that dividing by the temperature rounds to one float, one inside the list
    // and one past it, at the top_k-th place.
    static bool samples_from_top(const SamplingParams& params, int k);
    // sample() from a row's top logits (backend::TopLogits: largest first, lower id first among
    // equals); `usable` false (a NaN / +inf logit, or none finite) throws as sample() does.
    int32_t sample_from_top(std::span<const int32_t> ids, std::span<const float> values, bool usable);

    // Restarts the RNG stream from `seed` (as if constructed with it); params are kept.
    void reset(uint64_t seed);

    const SamplingParams& params() const { return params_; }

private:
    // Checks the logits and applies the penalties; returns the vocabulary-indexed logits the
    // rest of the chain reads (the input itself when no penalty applies, else penalised_).
    std::span<const float> penalised_logits(std::span<const float> logits,
                                            std::span<const int32_t> history,
                                            std::span<const uint64_t> allowed);
    // Greedy argmax, or temperature -> top-k -> softmax -> top-p -> min-p -> draw.
    int32_t choose(std::span<const float> logits);

    SamplingParams params_;
    Rng rng_;
    std::vector<float> penalised_;       // [n_vocab] penalised copy of the logits
    std::vector<Candidate> candidates_;  // [n_vocab] working candidate list
    std::vector<int32_t> scratch_;       // [penalty window] token counting
};

}  // namespace scout
