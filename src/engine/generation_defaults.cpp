#include "engine/generation_defaults.hpp"

#include "base/error.hpp"
#include "io/json_read.hpp"

namespace scout::engine {

namespace {
template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out) {
    io::read_json_key(j, key, out, "generation_config.json");
}
}  // namespace

GenerationDefaults read_generation_defaults(const nlohmann::json& g, const model::ModelConfig& config) {
    GenerationDefaults d;
    d.eos_token_ids = config.eos_token_ids;
    SamplingParams& s = d.sampling;
    if (g.is_null()) {
        s.temperature = 0.6f;
        s.top_p = 0.9f;
        return d;
    }
    check(g.is_object(), "generation_config.json must hold a JSON object");
    bool do_sample = false;
    read_key(g, "do_sample", do_sample);
    s.temperature = 1.0f;
    s.top_k = 50;
    read_key(g, "temperature", s.temperature);
    read_key(g, "top_p", s.top_p);
    read_key(g, "top_k", s.top_k);
    read_key(g, "min_p", s.min_p);
    read_key(g, "repetition_penalty", s.repetition_penalty);
    if (g.contains("repetition_penalty")) s.penalty_last_n = -1;  // transformers penalises the whole history
    if (!do_sample) s.temperature = 0.0f;  // transformers: greedy unless do_sample
    if (g.contains("eos_token_id") && !g["eos_token_id"].is_null()) {
        d.eos_token_ids.clear();
        const auto& e = g["eos_token_id"];
        if (e.is_number_integer()) d.eos_token_ids.push_back(e.get<int32_t>());
        else if (e.is_array())
            for (const auto& v : e) {
                check(v.is_number_integer(), "generation_config.json: eos_token_id must hold integers");
                d.eos_token_ids.push_back(v.get<int32_t>());
            }
    }
    return d;
}

}  // namespace scout::engine
