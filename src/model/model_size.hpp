// Parameter counts and memory arithmetic derived from the config alone
// (so `scout info` works on a directory holding only config.json). KV memory: kv/kv_size.hpp.
#pragma once

#include <cstdint>

#include "model/config.hpp"
#include "model/layer_plan.hpp"

namespace scout::model {

struct ModelSize {
    int64_t n_params_text = 0;         // every text weight (embedding, layers, norm, lm_head)
    int64_t n_params_active = 0;       // weights read per token: k routed experts + shared + the rest
    int64_t n_params_embedding = 0;    // embedding rows (one row is read per token, not the whole table)
    int64_t dtype_bytes = 2;
};

ModelSize compute_model_size(const TextConfig& config, const LayerPlan& plan);

}  // namespace scout::model
