// The CUDA backend as the rest of scout sees it: plain C++ (no CUDA headers), so that the
// factory, the apps and the tests compile with any C++20 compiler. Everything CUDA lives in
// the .cu files of this folder (docs/cuda.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backend/factory.hpp"
#include "backend/forward.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::cuda {

// What `scout info` prints about a GPU.
struct DeviceInfo {
    int index = 0;
    std::string name;             // "NVIDIA H200"
    uint64_t total_bytes = 0;     // global memory
    uint64_t free_bytes = 0;      // free now
    int sm_count = 0;
    int cc_major = 0, cc_minor = 0;  // compute capability
};

// True when a CUDA device can be used (driver present, at least one device). When false,
// *description (if given) says why ("no CUDA device: ..."); when true, it names device 0.
bool device_available(std::string* description = nullptr);

// Device `index` (0 for "cuda", N for "cuda:N"). Throws scout::Error when there is none.
DeviceInfo device_info(int index = 0);

// Parses "cuda" / "cuda:N" into N; throws scout::Error for anything else.
int parse_device_index(const std::string& device);

// Progress of the weight upload: on_progress(done_bytes, total_bytes).
using UploadProgress = std::function<void(uint64_t, uint64_t)>;

// The forward pass on the GPU named by options.device ("cuda" or "cuda:N"). Uploads every weight
// once, in its file format, from the mapped file into one device arena. The model objects must
// outlive the returned object (as for the CPU backend). Throws scout::Error when no device is
// present, when the weights and workspace do not fit, or for a KV type the head size cannot store.
std::unique_ptr<backend::Forward> make_cuda_forward(const model::TextConfig& config, const model::LayerPlan& plan,
                                                    const model::TextWeights& weights,
                                                    const backend::BackendOptions& options,
                                                    const UploadProgress& progress = {});

// Bytes the weights take on the device (the arena make_cuda_forward allocates): what
// `scout info` / device selection compare with the free memory.
uint64_t device_weight_bytes(const model::TextWeights& weights);

// A model of a config's real dimensions with random but valid weights built directly in device
// memory (no file): for `scout bench --synthetic CONFIG.json --type Q4_K_M`. Types:
//   "Q4_K_M": llama.cpp's mix as `scout quantize` writes it (model/gguf_export.cpp pick_type):
//             Q4_K everywhere (embedding included), Q6_K for output and for attn_v / ffn_down
//             (routed and shared) in the layers of llama.cpp's use_more_bits; norms and router F32.
//   "Q4_0", "Q8_0", "BF16", "F16": that type for every matrix (norms and router F32).
// Experts use the GGUF layout (x·Wᵀ, [E, out, in]).
struct SyntheticOptions {
    std::string type = "Q4_K_M";
    uint64_t seed = 1;
};
// The returned object owns its config, plan and weights.
std::unique_ptr<backend::Forward> make_synthetic_forward(const model::TextConfig& config,
                                                         const SyntheticOptions& synthetic,
                                                         const backend::BackendOptions& options,
                                                         const UploadProgress& progress = {});
// Bytes a synthetic model of this config and type would take on the device, and the weight bytes
// a decode step reads per token (model::weight_bytes_per_token of its tensors).
uint64_t synthetic_weight_bytes(const model::TextConfig& config, const std::string& type);
double synthetic_bytes_per_token(const model::TextConfig& config, const std::string& type);

}  // namespace scout::cuda
