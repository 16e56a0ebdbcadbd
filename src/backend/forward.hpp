// The backend seam: what the engine, the scheduler and the apps see of a forward pass.
// A backend (backend/cpu, backend/cuda) implements Forward; backend/factory.hpp builds one from
// options. Nothing above this layer names a backend (tests/unit/test_layering checks it).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/batch.hpp"
#include "kv/kv_memory.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"

namespace scout::backend {

// Wall-clock seconds spent in each step of the forward pass, summed over calls: the per-stage
// breakdown `scout bench --profile` prints to show what limits a speed.
enum class Stage : int { Embed, Norms, AttnQkv, RopeScale, Attention, AttnOut, Moe, DenseFfn, LmHead, Count };
struct StageProfile {
    static constexpr std::size_t kStages = static_cast<std::size_t>(Stage::Count);
    std::array<double, kStages> seconds{};
    // How the worker threads shared each stage (CPU backend; zero where not measured), summed over
    // calls: the busiest thread's working seconds and the mean over threads. A stage whose mean is
    // far below its wall time ran partly on one thread, or unevenly. The calling thread counts as
    // working whenever it is not waiting for the others.
    std::array<double, kStages> busiest_seconds{};
    std::array<double, kStages> mean_busy_seconds{};
    std::array<uint64_t, kStages> regions{};  // parallel regions (one barrier each)
    int64_t passes = 0;                      // forward passes measured
    int threads = 0;                         // worker threads, the caller included
    static std::string_view name(Stage s);
};

// Receives named intermediate tensors (named like the Hugging Face modules whose output they
// are: "model.layers.3.self_attn.q_proj", "model.layers.3.feed_forward.router", ...; see
// docs/dumps.md). Float32, row-major; rows are the batch's rows in order.
class ActivationObserver {
public:
    virtual ~ActivationObserver() = default;
    virtual void on_tensor(std::string_view name, std::span<const float> data, std::span<const int64_t> shape) = 0;
};

// The largest logits of each row of a pass, for samplers that keep only the top tokens (greedy,
// top-k): on a GPU they are found on the device, so k numbers per row cross to the host instead
// of the whole vocabulary (0.8 MB per row at Scout's 202,048 tokens).
struct TopLogits {
    int k = 0;                    // entries per row (min(requested k, vocab))
    std::vector<int32_t> ids;     // [rows, k] largest logit first, lower id first among equals
    std::vector<float> values;    // [rows, k] the raw logits
    std::vector<uint8_t> usable;  // [rows] 0: the row has a NaN or +inf logit, or no finite one
};
// The host twin (and the default Forward::forward_top): top logits of rows [rows, V]; -0.0 and
// +0.0 count as equal (their order is by id).
void top_logits_of(std::span<const float> logits, int64_t rows, int64_t V, int k, TopLogits& out);

struct Capabilities {
    std::string device;                // "cpu", "cuda:0"
    std::string description;           // e.g. "2 threads, AVX-512", "NVIDIA H200, 139 GiB"
    int64_t max_batch_rows = 0;        // rows one forward call takes (longer batches: several calls)
    std::vector<kv::KvType> kv_types;  // types make_kv accepts
    bool embedding_rows = false;       // SequenceStep::embeddings supported
    // forward_top finds the top logits on the device for k up to this (0: it would only copy the
    // full logits and select on the host, so callers should use forward).
    int device_top_k = 0;
};

struct MemoryUse {
    uint64_t weight_bytes = 0;     // weights held by the backend (0 when read in place from the mapped file)
    uint64_t workspace_bytes = 0;  // activations, sized once for max_batch_rows
};

class Forward {
public:
    virtual ~Forward() = default;

    // Runs the batch, advances every step's KV memory and writes the logit rows [rows, vocab]
    // (batch_logit_rows) to `logits` (resized). Any batch size works: batches over
    // max_batch_rows run as several passes.
    virtual void forward(Batch batch, std::vector<float>& logits) = 0;

    // forward, returning only each logit row's k largest logits (1 <= k; k <= device_top_k where
    // the backend selects on the device). The default runs forward and top_logits_of.
    virtual void forward_top(Batch batch, int k, TopLogits& out);

    // One sequence: tokens at kv.n_past() ...; logits of every token or of the last.
    void forward(kv::KvMemory& kv, std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
        const SequenceStep step{&kv, tokens, {}, {}, all_logits};
        forward(Batch(&step, 1), logits);
    }

    // A new, empty KV memory for one sequence, of the backend's KV types.
    virtual std::unique_ptr<kv::KvMemory> make_kv() = 0;

    // Appends n positions of seeded pseudo-random K/V rows to kv (made by this backend) without
    // running the model, then advances it: `scout bench --depth N --fill random` measures speed at
    // a depth whose prefill would take too long. Attention costs the same whatever the values;
    // the logits that follow are meaningless. Backends that cannot throw scout::Error.
    virtual void fill_kv_random(kv::KvMemory& kv, int64_t n, uint64_t seed);

    virtual Capabilities capabilities() const = 0;
    virtual MemoryUse memory() const = 0;
    virtual const model::TextConfig& config() const = 0;
    virtual const model::LayerPlan& plan() const = 0;
    virtual kv::KvType kv_type() const = 0;  // the chunked layers' (and by default the global layers')
    virtual kv::KvType kv_type_global() const { return kv_type(); }  // the global layers' (--kv-type-global)

    // Start (or with nullptr stop) accumulating per-stage times / reporting named tensors.
    virtual void set_profile(StageProfile* profile) = 0;
    virtual void set_observer(ActivationObserver* observer) = 0;
};

}  // namespace scout::backend
