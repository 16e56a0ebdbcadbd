// A loaded text model: the mapped checkpoint, its config, the layer plan and the bound
// weights, owned together (views point into the checkpoint's mappings, so they must live
// and move together; Model is therefore held by unique_ptr and never copied).
#pragma once

#include <filesystem>
#include <memory>

#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::engine {

struct Model {
    io::HfCheckpoint checkpoint;
    model::ModelConfig config;
    model::LayerPlan plan;
    model::TextWeights weights;
};

// Opens a Hugging Face checkpoint directory and binds every text weight.
std::unique_ptr<Model> load_model(const std::filesystem::path& dir);

}  // namespace scout::engine
