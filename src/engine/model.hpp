// A loaded text model: the mapped file(s), the config, the layer plan and the bound weights,
// owned together (weight views point into the mappings, so they must live and move together;
// Model is therefore held by unique_ptr and never copied).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "io/gguf.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::engine {

struct Model {
    std::optional<io::HfCheckpoint> hf;  // a Hugging Face checkpoint directory, or
    std::optional<io::GgufFile> gguf;    // a llama.cpp `llama4` GGUF file
    model::ModelConfig config;
    model::LayerPlan plan;
    model::TextWeights weights;
    nlohmann::json generation_config;    // generation_config.json, null when absent

    uint64_t file_bytes() const;
    // Pages the weights in; on_progress(done_bytes, total_bytes).
    void prefault(const std::function<void(uint64_t, uint64_t)>& on_progress = {}) const;
};

// Opens a Hugging Face checkpoint directory or a GGUF file and binds every text weight.
std::unique_ptr<Model> load_model(const std::filesystem::path& path);

}  // namespace scout::engine
