// Sampling defaults from a checkpoint's generation_config.json, with transformers' semantics:
// do_sample=false means greedy; absent keys take transformers' GenerationConfig defaults
// (temperature 1, top_p 1, top_k 50, min_p off, repetition_penalty 1). Scout Instruct ships
// do_sample=true, temperature 0.6, top_p 0.9 and eos [200001, 200007, 200008].
// Without a generation_config.json: temperature 0.6, top_p 0.9 (Meta's recommended
// defaults for Llama 4 Instruct), top_k off.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "model/config.hpp"
#include "sample/sampling_params.hpp"

namespace scout::engine {

struct GenerationDefaults {
    SamplingParams sampling;
    std::vector<int32_t> eos_token_ids;  // from generation_config.json, else config.json
};

// generation_config may be null (file absent). Throws scout::Error on wrongly typed keys.
GenerationDefaults read_generation_defaults(const nlohmann::json& generation_config, const model::ModelConfig& config);

}  // namespace scout::engine
