// Bytes of weights a decode step reads per token, from the bound tensors' actual sizes (so a
// quantized file counts its real bytes): every attention and norm weight, the router, the
// shared expert, k of the E routed experts, the lm_head and one embedding row.
// This is the numerator of "achieved memory bandwidth" (design.md, Performance).
#pragma once

#include <cstdint>

#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::model {

double weight_bytes_per_token(const TextWeights& weights, const TextConfig& config, const LayerPlan& plan);

}  // namespace scout::model
