// The Llama 4 text forward pass on the CPU, step by step as transformers computes it
// (docs/llama4.md maps each step to the spec). Float32 activations; weights are read
// in their stored dtype from the mapped checkpoint.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::cpu {

class CpuForward {
public:
    // The model objects must outlive this object (they are owned by the caller, e.g. engine::Model).
    CpuForward(const model::TextConfig& config, const model::LayerPlan& plan, const model::TextWeights& weights,
               ThreadPool& pool);

    // Processes `tokens` of one sequence at positions kv.n_past() ... and advances kv.
    // Writes logits [n_out, vocab] to `logits`: every token's row when all_logits, else
    // only the last token's. Any batch size works, including batches that cross chunk edges.
    void forward(kv::SequenceKv& kv, std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);

    const model::TextConfig& config() const { return config_; }
    const model::LayerPlan& plan() const { return plan_; }

private:
    void attention_block(int64_t il, kv::SequenceKv& kv, std::span<const int64_t> positions, const float* x, float* out);

    const model::TextConfig& config_;
    const model::LayerPlan& plan_;
    const model::TextWeights& weights_;
    ThreadPool& pool_;
    std::vector<float> inv_freq_;
};

}  // namespace scout::cpu
