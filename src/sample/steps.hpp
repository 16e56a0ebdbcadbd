// The sampler's pure steps. Each one takes its inputs explicitly, touches nothing else, and can
// be tested on its own; Sampler (sampler.hpp) composes them in the order given in
// docs/sampling.md:
//   check_logits -> apply_penalties -> [argmax if greedy] -> fill_candidates (temperature)
//   -> top_k_filter -> softmax -> top_p_filter -> min_p_filter -> draw
//
// Filters work on a candidate list and return the kept prefix of the span they were given
// (they reorder in place, never allocate). A filter that is off returns its input unchanged.
// Every result is a pure function of the inputs, whatever the standard library: top-k sorts by
// a total order (higher logit first, then lower id); top-p and min-p keep list order. The list
// is in id order when it comes from fill_candidates, and in top-k's order after top-k.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sample/sampling_params.hpp"

namespace scout {

// One vocabulary entry under consideration. p is only meaningful after softmax().
struct Candidate {
    int32_t id;
    float logit;
    float p;
};

// Rejects logits the chain cannot give a meaning to: throws scout::Error for an empty span,
// any NaN or +inf (a broken forward pass must not be hidden by sampling), or when no logit is
// finite. -inf is allowed and means "never pick this token" (probability 0).
void check_logits(std::span<const float> logits);

// Penalties on vocabulary-indexed logits (logits[t] belongs to token t; they run first, before
// anything is reordered). Looks at the last penalty_last_n tokens of `history` (-1: all of it,
// 0: nothing) and, for each distinct token t there with count c:
//   repetition:  logits[t] = logits[t] > 0 ? logits[t] / rep : logits[t] * rep   (once, not per c)
//   then:        logits[t] -= frequency_penalty * c + presence_penalty
// Tokens outside the window are untouched. Throws scout::Error when a token in the window is
// outside [0, logits.size()). `scratch` is reused working memory (no allocation once it is big
// enough).
void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplingParams& params, std::vector<int32_t>& scratch);

// The structured-output mask step (docs/structured-output.md): logits[t] = -inf for every token t
// whose bit is clear in `allowed` (64 tokens per word, bit t % 64 of word t / 64; tokens beyond
// the words are disallowed). Returns how many tokens keep a finite logit.
size_t apply_token_mask(std::span<float> logits, std::span<const uint64_t> allowed);

// True when apply_penalties would change anything for these params.
bool penalties_active(const SamplingParams& params);

// Index of the largest value; lowest index on ties. Throws scout::Error on an empty span.
int32_t argmax(std::span<const float> logits);
// Id of the candidate with the largest logit; lowest id on ties.
int32_t argmax(std::span<const Candidate> candidates);

// Fills candidates[i] = {i, logits[i] / temperature, 0}. `candidates` must have logits.size()
// entries. Division (not multiplication by 1/T) matches HF's TemperatureLogitsWarper bit for bit.
void fill_candidates(std::span<const float> logits, float temperature,
                     std::span<Candidate> candidates);

// Keeps exactly the k highest logits, returned sorted (logit descending, id ascending): among
// tokens tied at the k-th value, the lower ids are kept. k <= 0 or k >= size: unchanged.
// Cost O(n log k) (partial sort), not a full sort.
std::span<Candidate> top_k_filter(std::span<Candidate> candidates, int k);

// Sets p = exp(logit - max) / sum over the span (accumulated in double). Order unchanged.
// Throws scout::Error on an empty span or when no logit is finite.
void softmax(std::span<Candidate> candidates);

// Keeps the smallest set of most likely candidates whose summed p is >= top_p (HF's
// TopPLogitsWarper and llama.cpp's top-p both reduce to this); the kept ones stay in list
// order. Mass is measured against the sum of p over the span, so it needs softmax() first but
// not a renormalised one. Ties at the boundary are split: of the candidates whose p equals the
// last kept p, only as many as the mass needs are kept, the earliest in list order (lowest ids
// for a list in id order). At least one candidate is always kept. top_p >= 1: unchanged.
// O(n): a radix select on p finds the cutoff, nothing is sorted.
std::span<Candidate> top_p_filter(std::span<Candidate> candidates, float top_p);

// Keeps candidates with p >= min_p * max p (HF's MinPLogitsWarper; the most likely token is
// always kept). Order of the kept ones is preserved. min_p <= 0: unchanged. Needs softmax() first
// (normalisation does not matter: only the ratio to the max does).
std::span<Candidate> min_p_filter(std::span<Candidate> candidates, float min_p);

// Inverse-CDF draw: walks the candidates in order accumulating p and returns the id of the first
// one where the running sum exceeds u * (sum of p). u must be in [0, 1). Candidates with p == 0
// are never returned. Throws scout::Error on an empty span or zero total mass.
int32_t draw(std::span<const Candidate> candidates, double u);

}  // namespace scout
