// What `scout run` and `scout chat` share: the model/tokenizer/sampling flags, loading with a
// progress bar, and the speed report printed after a reply.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/backend_flags.hpp"
#include "backend/forward.hpp"
#include "engine/generate.hpp"
#include "engine/generation_defaults.hpp"
#include "engine/model.hpp"
#include "sample/sampling_params.hpp"
#include "text/tokenizer.hpp"

namespace scout::apps {

struct GenerationFlags {
    std::string model_dir;
    std::string tokenizer;  // default: the one in the model directory
    BackendFlags backend;
    int64_t ctx = 0;        // 0: min(8192, the model's max_position_embeddings)
    int64_t max_tokens = -1;
    std::optional<float> temperature, top_p, min_p, repeat_penalty, frequency_penalty, presence_penalty;
    std::optional<int> top_k;
    std::optional<uint64_t> seed;
    std::vector<std::string> stop;
    std::string mmproj;     // llama.cpp's Llama 4 mmproj GGUF: the vision tower (else the checkpoint's own)
    int max_tiles = 0;      // tiles per picture at most (0: preprocessor_config.json's max_patches, else 16)
    bool no_prefault = false;
    bool quiet = false;     // no loading progress / stats
};

void add_generation_flags(CLI::App* cmd, GenerationFlags& flags, int64_t default_max_tokens);

struct Runner {
    std::unique_ptr<engine::Model> model;
    std::unique_ptr<text::Tokenizer> tokenizer;
    std::unique_ptr<backend::Forward> forward;
    SamplingParams sampling;
    engine::GenerateOptions generate_options;
    int64_t context_length = 0;
    double weight_bytes_per_token = 0;  // weights read per decoded token (active experts only)
};

std::unique_ptr<Runner> make_runner(const GenerationFlags& flags);

// "prompt 12 tok, 340.1 tok/s | generation 64 tok, 21.3 tok/s, 1.2 GB/s | stop: stop token"
void print_stats(const Runner& runner, const engine::GenerateResult& result);

}  // namespace scout::apps
