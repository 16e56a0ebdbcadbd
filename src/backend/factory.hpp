// Builds the forward pass a command asked for: the one place that names backends.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/forward.hpp"
#include "kv/kv_type.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::backend {

// How the GPU computes products of many rows (prompts, decode batches over 16 sequences):
// Exact: float32, as the CPU (results differ from the CPU's only in summation order);
// Fast: bf16 tensor cores, both operands rounded to bf16, float32 accumulation (docs/cuda.md
// gives its error against exact). Products of few rows (batch-1 decode) are float32 in both.
enum class GpuMath { Exact, Fast };

struct BackendOptions {
    std::string device = "cpu";          // "cpu", "cuda" / "cuda:N" (CUDA builds); "auto": resolve with choose_device first
    int threads = 0;                     // CPU worker threads; <= 0: one per physical core
    bool pin_threads = false;            // bind CPU worker i to physical core i (ThreadPoolOptions::pin)
    kv::KvType kv_type = kv::kDefaultKvType;  // all layers', or with kv_type_global the chunked layers'
    // The global (NoPE) layers' KV type (--kv-type-global): their KV grows with the context while
    // the chunk rings stay fixed, so it may be stored more compactly. Unset: kv_type.
    std::optional<kv::KvType> kv_type_global = std::nullopt;
    int64_t max_batch_rows = 512;        // workspace size: rows per forward pass
    int64_t kv_page_size = 256;          // positions per KV page (global layers)
    // KV beyond RAM (kv/page_store.hpp): the global layers' KV pages of all sequences held in RAM
    // stay within kv_ram_bytes, the rest go to a file in kv_dir. 0: no budget. CPU backend only.
    uint64_t kv_ram_bytes = 0;
    std::string kv_dir = {};             // empty: the system's temporary folder
    GpuMath gpu_math = GpuMath::Exact;   // CUDA backend only
    // Progress of the weights' upload to a GPU: (done, total) bytes. Empty: none.
    std::function<void(uint64_t, uint64_t)> upload_progress = {};

    kv::KvType global_kv_type() const { return kv_type_global.value_or(kv_type); }
};

// Devices compiled into this binary ("cpu", and "cuda" when built with SCOUT_CUDA).
std::vector<std::string> compiled_devices();

// ---- choosing the device (--device auto, scout info) -------------------------------------------
struct GpuSummary {
    std::string device;  // "cuda:N"
    std::string name;    // "NVIDIA H200"
    uint64_t total_bytes = 0, free_bytes = 0;
};
// The GPUs this scout can run on; empty when none, with *why_none saying why (built without CUDA,
// no driver, no device).
std::vector<GpuSummary> list_gpus(std::string* why_none = nullptr);
// Device memory the model's weights take on a GPU, as uploaded (0 in a build without CUDA).
uint64_t gpu_weight_bytes(const model::TextWeights& weights);

struct DeviceChoice {
    std::string device;        // "cpu" or "cuda:N"
    std::string reason;        // one line for the user: what was chosen and why
    bool gpu_present = false;  // "auto" only: a GPU was found (whether or not it was chosen)
};
// Resolves options.device. "auto": cuda:0 when this scout has CUDA, a GPU is present, the options
// are ones the GPU backend takes (KV type, no --kv-ram) and `need_bytes` (weights as
// gpu_weight_bytes counts them, KV, activations) fit in its free memory; else cpu. Any other
// device is kept as given.
DeviceChoice choose_device(const BackendOptions& options, uint64_t need_bytes);

// `scout bench --synthetic CONFIG --type T` on a GPU: random but valid weights of the config's real
// dimensions made directly in device memory (no file; types Q4_K_M, Q4_0, Q8_0, BF16, F16). GPU
// devices only (the CPU benchmarks a random GGUF file instead: model::write_random_llama4_gguf).
struct SyntheticForward {
    std::unique_ptr<Forward> forward;  // owns its config, plan and weights
    double bytes_per_token = 0;        // weight bytes a decode step reads
};
SyntheticForward make_synthetic_forward(const model::TextConfig& config, const std::string& type, uint64_t seed,
                                        const BackendOptions& options);
// Device memory such a model's weights take (0 in a build without CUDA).
uint64_t synthetic_gpu_bytes(const model::TextConfig& config, const std::string& type);

// The model objects must outlive the returned object. Throws scout::Error for an unknown
// device or a KV type the model's head size cannot store.
std::unique_ptr<Forward> make_forward(const model::TextConfig& config, const model::LayerPlan& plan,
                                      const model::TextWeights& weights, const BackendOptions& options);

}  // namespace scout::backend
