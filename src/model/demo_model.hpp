// The built-in demo model: Llama 4 Scout's structure scaled down (16 routed experts, top-1,
// a shared expert, NoPE every 4th layer, chunked attention, QK norm, llama3 RoPE scaling,
// the real 202,048-token vocabulary) with deterministic random weights. It produces
// gibberish — the weights are random — but exercises every code path of a real checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <nlohmann/json.hpp>

namespace scout::model {

// Small: the quick-start demo (8 layers, hidden 256, 0.13 B parameters, mostly the two
// vocabulary matrices; chunk 64 so short prompts cross chunk edges). B1: the benchmark size
// (16 layers, hidden 1024, 16 experts of 1024, 1.31 B parameters, 0.35 B active per token;
// chunk 8192, the value llama.cpp hard-codes, so both engines compute the same function).
enum class DemoSize { Small, B1 };
DemoSize parse_demo_size(const std::string& name);  // "small" or "1b"; throws scout::Error otherwise
const char* demo_size_name(DemoSize size);

struct DemoModelOptions {
    uint64_t seed = 0;
    std::filesystem::path tokenizer_model;  // the real tokenizer.model, copied into the checkpoint
    DemoSize size = DemoSize::Small;
    // Also a small vision tower (Llama4ForConditionalGeneration layout: language_model.*,
    // vision_model.*, multi_modal_projector.*): Scout's 336-pixel tiles, 14-pixel patches and
    // 144 tokens per tile, with hidden 64, 2 heads and 1 encoder layer.
    bool vision = false;
};

// config.json (Llama4ForCausalLM, bf16; with vision Llama4ForConditionalGeneration, the text part
// under text_config). The Small config (and its weights for a seed) never change.
nlohmann::json demo_model_config(DemoSize size = DemoSize::Small, bool vision = false);
nlohmann::json demo_generation_config();        // generation_config.json (Scout Instruct's values)

// Writes config.json, generation_config.json, model.safetensors and tokenizer.model into dir.
// progress(done_bytes, total_bytes) is called while the weights are written.
void write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options,
                      const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace scout::model
