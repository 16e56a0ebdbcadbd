// The built-in demo model: Llama 4 Scout's structure scaled down (16 routed experts, top-1,
// a shared expert, NoPE every 4th layer, chunked attention, QK norm, llama3 RoPE scaling,
// the real 202,048-token vocabulary) with deterministic random weights. It produces
// gibberish — the weights are random — but exercises every code path of a real checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

namespace scout::model {

struct DemoModelOptions {
    uint64_t seed = 0;
    std::filesystem::path tokenizer_model;  // the real tokenizer.model, copied into the checkpoint
};

nlohmann::json demo_model_config();             // config.json (Llama4ForCausalLM, bf16)
nlohmann::json demo_generation_config();        // generation_config.json (Scout Instruct's values)

// Writes config.json, generation_config.json, model.safetensors and tokenizer.model into dir.
// progress(done_bytes, total_bytes) is called while the weights are written.
void write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options,
                      const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace scout::model
