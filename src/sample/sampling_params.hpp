// Sampling parameters: plain values, no behaviour. Defaults mean "plain softmax sampling at
// temperature 1 with every filter and penalty off"; the CLI fills them from the checkpoint's
// generation_config.json (Scout: temperature 0.6, top_p 0.9) and then from user flags.
// Semantics and chain order: docs/sampling.md.
#pragma once

#include <cstdint>

namespace scout {

struct SamplingParams {
    // Logits are divided by this. <= kGreedyTemperature means greedy (argmax, lowest id on ties).
    float temperature = 1.0f;
    // Keep the k highest logits; 0 = off.
    int top_k = 0;
    // Keep the smallest set of most likely tokens whose mass is >= top_p; 1 = off. Range (0, 1].
    float top_p = 1.0f;
    // Keep tokens with p >= min_p * p_max; 0 = off. Range [0, 1].
    float min_p = 0.0f;
    // HF / llama.cpp style, once per distinct token in the window: positive logits are divided
    // by it, negative ones multiplied. 1 = off. Must be > 0.
    float repetition_penalty = 1.0f;
    // OpenAI style: logit -= frequency_penalty * count + presence_penalty * (count > 0),
    // count = occurrences of the token in the window. 0 = off.
    float frequency_penalty = 0.0f;
    float presence_penalty = 0.0f;
    // How many of the most recent history tokens the penalties look at:
    // -1 = the whole history, 0 = penalties off, n > 0 = the last n tokens.
    int penalty_last_n = 64;
    // Seed of the sampler's RNG (xoshiro256** seeded through splitmix64).
    uint64_t seed = 0;
};

// At or below this temperature the sampler is greedy: dividing by ~0 would only turn the
// softmax into an argmax with overflow risk, so we take the argmax directly.
inline constexpr float kGreedyTemperature = 1e-6f;

// Throws scout::Error naming the first out-of-range field.
void validate(const SamplingParams& params);

inline bool is_greedy(const SamplingParams& params) {
    return params.temperature <= kGreedyTemperature;
}

}  // namespace scout
