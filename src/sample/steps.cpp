// Pure sampling steps; contracts in steps.hpp, semantics and references in docs/sampling.md.
#include "sample/steps.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "base/error.hpp"
#include "sample/require.hpp"
#include "sample/exp.hpp"

namespace scout {

using sample_detail::require;

namespace {

// Total order used by every sorted result: higher logit first, then lower id. Being total over
// distinct ids makes partial_sort's output unique, hence identical across standard libraries.
bool by_logit_desc(const Candidate& a, const Candidate& b) {
    if (a.logit != b.logit) return a.logit > b.logit;
    return a.id < b.id;
}

// Probabilities are >= 0, where IEEE-754 bit patterns order like the values.
uint32_t p_bits(float p) { return std::bit_cast<uint32_t>(p); }

// Sum of p in double, in eight interleaved partial sums: independent chains keep the adder
// busy (one serial chain over 202,048 values is latency-bound) and can be vectorised without
// reassociation, so the result is the same with or without SIMD.
double total_mass(std::span<const Candidate> candidates) {
    constexpr size_t kLanes = 8;
    double partial[kLanes] = {};
    const size_t n = candidates.size();
    const size_t n_full = n - n % kLanes;
    for (size_t i = 0; i < n_full; i += kLanes) {
        for (size_t j = 0; j < kLanes; ++j) partial[j] += candidates[i + j].p;
    }
    for (size_t i = n_full; i < n; ++i) partial[i - n_full] += candidates[i].p;
    double total = 0.0;
    for (const double x : partial) total += x;
    return total;
}

}  // namespace

void validate(const SamplingParams& params) {
    require(std::isfinite(params.temperature) && params.temperature >= 0.0f,
            "sampling: temperature must be a finite number >= 0 (0 = greedy), got ",
            params.temperature);
    require(params.top_k >= 0, "sampling: top_k must be >= 0 (0 = off), got ", params.top_k);
    require(params.top_p > 0.0f && params.top_p <= 1.0f,
            "sampling: top_p must be in (0, 1] (1 = off), got ", params.top_p);
    require(params.min_p >= 0.0f && params.min_p <= 1.0f,
            "sampling: min_p must be in [0, 1] (0 = off), got ", params.min_p);
    require(std::isfinite(params.repetition_penalty) && params.repetition_penalty > 0.0f,
            "sampling: repetition_penalty must be a finite number > 0 (1 = off), got ",
            params.repetition_penalty);
    require(std::isfinite(params.frequency_penalty),
            "sampling: frequency_penalty must be finite, got ", params.frequency_penalty);
    require(std::isfinite(params.presence_penalty),
            "sampling: presence_penalty must be finite, got ", params.presence_penalty);
    require(params.penalty_last_n >= -1,
            "sampling: penalty_last_n must be -1 (whole history), 0 (off) or a window size, got ",
            params.penalty_last_n);
}

void check_logits(std::span<const float> logits) {
    require(!logits.empty(), "sampling: the logits span is empty (n_vocab must be > 0)");
    // Branch-free counting pass (vectorises); the index is only searched for on failure.
    constexpr float kInf = std::numeric_limits<float>::infinity();
    size_t n_bad = 0;     // NaN or +inf: !(x < inf) is true for both
    size_t n_finite = 0;  // x > -inf: finite (NaN and -inf compare false)
    for (const float x : logits) {
        n_bad += !(x < kInf);
        n_finite += (x > -kInf);
    }
    if (n_bad > 0) {
        for (size_t i = 0; i < logits.size(); ++i) {
            if (!(logits[i] < kInf)) {
                throw Error(cat("sampling: logit of token ", i, " is ", logits[i],
                                "; the forward pass produced a non-finite value"));
            }
        }
    }
    require(n_finite > 0, "sampling: every logit is -inf, so no token can be chosen");
}

int32_t argmax(std::span<const float> logits) {
    require(!logits.empty(), "sampling: argmax of an empty logits span");
    // Eight interleaved running maxima (lane j sees indices = j mod 8) so the loop has no
    // cross-iteration dependency and vectorises; strict > keeps each lane's first maximum, and
    // the merge prefers the lower index among equal values, so ties still go to the lowest id.
    constexpr size_t kLanes = 8;
    const size_t n = logits.size();
    const size_t n_full = n - n % kLanes;
    float lane_max[kLanes];
    uint32_t lane_idx[kLanes];
    for (size_t j = 0; j < kLanes; ++j) {
        lane_max[j] = -std::numeric_limits<float>::infinity();
        lane_idx[j] = static_cast<uint32_t>(n);  // "none yet": loses every index comparison
    }
    for (size_t i = 0; i < n_full; i += kLanes) {
        for (size_t j = 0; j < kLanes; ++j) {
            const float x = logits[i + j];
            const bool better = x > lane_max[j];
            lane_max[j] = better ? x : lane_max[j];
            lane_idx[j] = better ? static_cast<uint32_t>(i + j) : lane_idx[j];
        }
    }
    size_t best = 0;  // also the answer when every value is -inf
    float best_value = logits[0];
    for (size_t j = 0; j < kLanes; ++j) {
        if (lane_idx[j] == n) continue;
        if (lane_max[j] > best_value || (lane_max[j] == best_value && lane_idx[j] < best)) {
            best_value = lane_max[j];
            best = lane_idx[j];
        }
    }
    for (size_t i = n_full; i < n; ++i) {
        if (logits[i] > best_value) {  // tail indices are the highest: only a strict win counts
            best_value = logits[i];
            best = i;
        }
    }
    return static_cast<int32_t>(best);
}

int32_t argmax(std::span<const Candidate> candidates) {
    require(!candidates.empty(), "sampling: argmax of an empty candidate list");
    const Candidate* best = &candidates[0];
    for (const Candidate& c : candidates) {
        if (c.logit > best->logit || (c.logit == best->logit && c.id < best->id)) best = &c;
    }
    return best->id;
}

void fill_candidates(std::span<const float> logits, float temperature,
                     std::span<Candidate> candidates) {
    require(candidates.size() == logits.size(),
            "sampling: candidate list has ", candidates.size(), " entries for ", logits.size(),
            " logits");
    require(temperature > 0.0f, "sampling: fill_candidates needs a temperature > 0");
    for (size_t i = 0; i < logits.size(); ++i) {
        candidates[i] = Candidate{static_cast<int32_t>(i), logits[i] / temperature, 0.0f};
    }
}

std::span<Candidate> top_k_filter(std::span<Candidate> candidates, int k) {
    if (k <= 0 || static_cast<size_t>(k) >= candidates.size()) return candidates;
    std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(),
                      by_logit_desc);
    return candidates.first(static_cast<size_t>(k));
}

void softmax(std::span<Candidate> candidates) {
    require(!candidates.empty(), "sampling: softmax of an empty candidate list");
    float max_logit = -std::numeric_limits<float>::infinity();
    for (const Candidate& c : candidates) max_logit = std::max(max_logit, c.logit);
    require(std::isfinite(max_logit), "sampling: softmax needs at least one finite logit");
    for (Candidate& c : candidates) {
        c.p = exp_nonpositive(c.logit - max_logit);  // in [0, 1]; exactly 0 for -inf
    }
    const double inv = 1.0 / total_mass(candidates);  // total >= 1: the max gives exp(0) = 1
    for (Candidate& c : candidates) c.p = static_cast<float>(c.p * inv);
}

std::span<Candidate> top_p_filter(std::span<Candidate> candidates, float top_p) {
    require(!std::isnan(top_p), "sampling: top_p is NaN");
    if (top_p >= 1.0f || candidates.size() <= 1) return candidates;
    // Find tau, the p of the last token a walk in descending p order would keep, without
    // sorting: a most-significant-digit-first radix select over p's bit pattern (p >= 0, so the
    // pattern orders like the value). Each level histograms the mass of the candidates that
    // share the digits fixed so far and finds the digit where the running mass crosses target.
    // O(n) whatever the distribution: a sort would cost O(n log n) on a flat distribution (high
    // temperature) where top-p keeps most of a 202,048-token vocabulary. The first level sees
    // every candidate, so it also yields the total mass; later levels only touch the candidates
    // of one digit and skip the rest.
    constexpr int kDigitBits[] = {11, 11, 10};  // 32 bits in all
    uint32_t tau_bits = 0;
    int shift = 32;          // bits below the fixed prefix
    double mass_above = 0.0;  // mass of candidates whose p is above the current prefix range
    double target = 0.0;
    for (const int digit_bits : kDigitBits) {
        const int next_shift = shift - digit_bits;
        const uint32_t mask = (1u << digit_bits) - 1;
        std::array<double, 1u << 11> digit_mass{};
        if (shift == 32) {
            for (const Candidate& c : candidates) digit_mass[p_bits(c.p) >> next_shift] += c.p;
            double total = 0.0;
            for (const double m : digit_mass) total += m;
            target = static_cast<double>(top_p) * total;
        } else {
            const uint32_t prefix = tau_bits >> shift;
            for (const Candidate& c : candidates) {
                const uint32_t key = p_bits(c.p);
                if ((key >> shift) == prefix) digit_mass[(key >> next_shift) & mask] += c.p;
            }
        }
        bool found = false;
        for (uint32_t d = mask + 1; d-- > 0;) {
            if (digit_mass[d] > 0.0 && mass_above + digit_mass[d] >= target) {
                tau_bits |= d << next_shift;
                found = true;
                break;
            }
            mass_above += digit_mass[d];
        }
        // Rounding can leave the total a hair below target when top_p is within an ulp of 1:
        // then every token is needed.
        if (!found) return candidates;
        shift = next_shift;
    }

    // Every p > tau is kept; of the candidates with p == tau, as many as the mass needs (at least
    // one), earliest in list order first.
    const float tau = std::bit_cast<float>(tau_bits);
    size_t n_tied_keep = 0;
    double mass = mass_above;
    do {
        mass += tau;
        ++n_tied_keep;
    } while (mass < target);
    // Branch-free compaction (always write, advance when kept): whether a token survives is
    // data-dependent and would mispredict often on flat distributions.
    size_t kept = 0;
    size_t tied_seen = 0;
    for (const Candidate& c : candidates) {
        const bool tied = c.p == tau;
        const bool keep = c.p > tau || (tied && tied_seen < n_tied_keep);
        tied_seen += tied;
        candidates[kept] = c;
        kept += keep;
    }
    return candidates.first(kept);
}

std::span<Candidate> min_p_filter(std::span<Candidate> candidates, float min_p) {
    require(!std::isnan(min_p), "sampling: min_p is NaN");
    if (min_p <= 0.0f || candidates.empty()) return candidates;
    float p_max = 0.0f;
    for (const Candidate& c : candidates) p_max = std::max(p_max, c.p);
    const float cutoff = min_p * p_max;  // float product, as HF computes it
    size_t kept = 0;
    for (const Candidate& c : candidates) {
        // The max itself always passes when min_p <= 1; the explicit test keeps it for min_p > 1.
        const bool keep = c.p >= cutoff || c.p == p_max;
        candidates[kept] = c;  // branch-free compaction, as in top_p_filter
        kept += keep;
    }
    return candidates.first(kept);
}

int32_t draw(std::span<const Candidate> candidates, double u) {
    require(!candidates.empty(), "sampling: draw from an empty candidate list");
    require(u >= 0.0 && u < 1.0, "sampling: draw needs u in [0, 1), got ", u);
    const double total = total_mass(candidates);
    require(total > 0.0, "sampling: draw from candidates whose probabilities sum to 0");
    const double target = u * total;
    double mass = 0.0;
    const Candidate* last_positive = nullptr;
    for (const Candidate& c : candidates) {
        if (c.p <= 0.0f) continue;
        mass += c.p;
        if (target < mass) return c.id;
        last_positive = &c;
    }
    // Only reachable when rounding puts target a hair above the running sum's last value.
    return last_positive->id;
}

size_t apply_token_mask(std::span<float> logits, std::span<const uint64_t> allowed) {
    size_t n_finite = 0;
    for (size_t t = 0; t < logits.size(); ++t) {
        const size_t w = t / 64;
        const bool ok = w < allowed.size() && ((allowed[w] >> (t % 64)) & 1u);
        if (!ok) logits[t] = -std::numeric_limits<float>::infinity();
        else if (std::isfinite(logits[t])) ++n_finite;
    }
    return n_finite;
}

}  // namespace scout
