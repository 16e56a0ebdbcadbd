// The model's weights as the kernels see them: device pointers with shapes and layouts
// (ops.hpp DeviceMatrix / DeviceVector), bound from model::TextWeights through a resolver that
// maps each TensorView to its device copy. Two sources:
//  - upload_weights: one cudaMalloc'd arena, every tensor copied once from the mapped file in its
//    file format (no dequantized copies), through pinned double buffers, with progress;
//  - synthetic models (synthetic.cu): TensorViews whose data already points to device memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "backend/cuda/device_buffer.hpp"
#include "backend/cuda/ops.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::cuda {

struct DeviceLayer {
    DeviceVector attn_norm, ffn_norm;  // [D]
    DeviceMatrix wq;                   // out H*d, in D
    DeviceMatrix wk, wv;               // out Hkv*d, in D
    DeviceMatrix wo;                   // out D, in H*d
    // MoE layers
    DeviceMatrix router;                       // out E, in D
    DeviceMatrix exp_gate, exp_up, exp_down;   // per expert: D -> F, D -> F, F -> D (expert_bytes apart)
    DeviceMatrix sh_gate, sh_up, sh_down;      // shared expert: D -> F, D -> F, F -> D
    // dense layers
    DeviceMatrix mlp_gate, mlp_up, mlp_down;   // D -> Fm, D -> Fm, Fm -> D
};

struct DeviceModel {
    DeviceMatrix embed;    // [V, D] rows
    DeviceVector norm;     // [D]
    DeviceMatrix lm_head;  // out V, in D
    std::vector<DeviceLayer> layers;
};

// Maps a bound host tensor to the device address of its data.
using DeviceResolver = std::function<const void*(const TensorView&)>;

DeviceModel bind_device_model(const model::TextWeights& weights, const model::LayerPlan& plan,
                              const DeviceResolver& resolve);

// Every distinct tensor of the weights (a tied lm_head counts once), in binding order.
std::vector<const TensorView*> weight_tensors(const model::TextWeights& weights);
// Arena bytes for those tensors (each 256-byte aligned).
uint64_t arena_bytes(const std::vector<const TensorView*>& tensors);

// The uploaded weights: the arena and where each host tensor's data went.
struct WeightArena {
    DeviceBuffer memory;
    std::unordered_map<const void*, const void*> device_of;  // host data pointer -> device pointer
    const void* resolve(const TensorView& t) const;          // throws for a tensor not uploaded
};

// Copies every tensor of `weights` into one new device arena; progress(done, total) per chunk.
WeightArena upload_weights(const model::TextWeights& weights, const std::function<void(uint64_t, uint64_t)>& progress,
                           cudaStream_t stream);

}  // namespace scout::cuda
