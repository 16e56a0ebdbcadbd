// Repetition (HF / llama.cpp) and frequency / presence (OpenAI) penalties; contract in steps.hpp.
#include <algorithm>

#include "base/error.hpp"
#include "sample/require.hpp"
#include "sample/steps.hpp"

namespace scout {

using sample_detail::require;

bool penalties_active(const SamplingParams& params) {
    return params.penalty_last_n != 0 &&
           (params.repetition_penalty != 1.0f || params.frequency_penalty != 0.0f ||
            params.presence_penalty != 0.0f);
}

void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplingParams& params, std::vector<int32_t>& scratch) {
    if (!penalties_active(params) || history.empty()) return;
    const size_t window = params.penalty_last_n < 0
                              ? history.size()
                              : std::min(history.size(), static_cast<size_t>(params.penalty_last_n));
    const std::span<const int32_t> recent = history.last(window);

    // Count occurrences by sorting a copy of the window: the window is small (64 by default)
    // while the vocabulary is 202,048, so this beats a vocab-sized count array.
    scratch.assign(recent.begin(), recent.end());
    std::sort(scratch.begin(), scratch.end());
    const int64_t n_vocab = static_cast<int64_t>(logits.size());
    for (size_t i = 0; i < scratch.size();) {
        const int32_t token = scratch[i];
        size_t j = i;
        while (j < scratch.size() && scratch[j] == token) ++j;
        const auto count = static_cast<float>(j - i);
        i = j;
        require(token >= 0 && token < n_vocab,
                "sampling: history token ", token, " is outside the vocabulary [0, ", n_vocab,
                ")");

        float& logit = logits[static_cast<size_t>(token)];
        // Once per distinct token, as HF's RepetitionPenaltyLogitsProcessor and llama.cpp do.
        // Zero stays zero either way; -inf stays -inf.
        logit = logit > 0.0f ? logit / params.repetition_penalty
                             : logit * params.repetition_penalty;
        logit -= params.frequency_penalty * count + params.presence_penalty;
    }
}

}  // namespace scout
