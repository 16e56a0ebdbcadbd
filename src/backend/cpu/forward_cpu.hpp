// The Llama 4 text forward pass on the CPU, step by step as transformers computes it
// (docs/llama4.md maps each step to the spec). Float32 activations; weights are read
// in their stored dtype from the mapped checkpoint; KV rows in the configured KvType.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/cpu/workspace.hpp"
#include "backend/factory.hpp"
#include "backend/forward.hpp"
#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::cpu {

class CpuForward final : public backend::Forward {
public:
    // The model objects must outlive this object (they are owned by the caller, e.g. engine::Model).
    // Owns its thread pool (options.threads) and its activation workspace (options.max_batch_rows).
    CpuForward(const model::TextConfig& config, const model::LayerPlan& plan, const model::TextWeights& weights,
               const backend::BackendOptions& options = {});

    using backend::Forward::forward;
    // Several sequences in one pass (continuous batching): the matrix products and the experts
    // run over all their tokens together; attention runs per sequence on its own KV memory.
    // Batches over max_batch_rows run as several passes (results do not depend on the split).
    void forward(backend::Batch batch, std::vector<float>& logits) override;

    std::unique_ptr<kv::KvMemory> make_kv() override;
    void fill_kv_random(kv::KvMemory& kv, int64_t n, uint64_t seed) override;  // kv_random_fill.cpp
    backend::Capabilities capabilities() const override;
    backend::MemoryUse memory() const override;
    const model::TextConfig& config() const override { return config_; }
    const model::LayerPlan& plan() const override { return plan_; }
    kv::KvType kv_type() const override { return options_.kv_type; }
    kv::KvType kv_type_global() const override { return options_.global_kv_type(); }
    void set_profile(backend::StageProfile* profile) override {
        profile_ = profile;
        pool_.set_work_metering(profile != nullptr);
    }
    void set_observer(backend::ActivationObserver* observer) override { observer_ = observer; }

    ThreadPool& pool() { return pool_; }

private:
    // One pass over at most max_batch_rows rows (and sequences); writes its logit rows to `logits`.
    void forward_pass(backend::Batch steps, std::span<float> logits);
    // Attention of layer il for all rows x [S, D] -> out [S, D].
    void attention_block(int64_t il, backend::Batch steps, const float* x, float* out);
    void report(const char* name, int64_t il, const float* data, int64_t rows, int64_t cols);

    const model::TextConfig& config_;
    const model::LayerPlan& plan_;
    const model::TextWeights& weights_;
    backend::BackendOptions options_;
    ThreadPool pool_;
    std::vector<float> inv_freq_;
    Workspace ws_;
    std::shared_ptr<kv::PageStore> kv_store_;  // global-layer KV pages under --kv-ram (else null)
    backend::StageProfile* profile_ = nullptr;
    backend::ActivationObserver* observer_ = nullptr;
};

}  // namespace scout::cpu
