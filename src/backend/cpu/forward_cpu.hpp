// The Llama 4 text forward pass on the CPU, step by step as transformers computes it
// (docs/llama4.md maps each step to the spec). Float32 activations; weights are read
// in their stored dtype from the mapped checkpoint.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::cpu {

// One sequence's share of a batched forward call.
struct SequenceStep {
    kv::SequenceKv* kv = nullptr;      // that sequence's KV memory (advanced by the call)
    std::span<const int32_t> tokens;  // new tokens, at positions kv->n_past() ...
    bool all_logits = false;          // logits for every token, else only for the last
};

// Wall-clock seconds spent in each step of the forward pass, summed over calls: the per-stage
// breakdown `scout bench --profile` prints to show what limits a speed.
enum class Stage : int { Embed, Norms, AttnQkv, RopeScale, Attention, AttnOut, Moe, DenseFfn, LmHead, Count };
struct StageProfile {
    std::array<double, static_cast<std::size_t>(Stage::Count)> seconds{};
    static std::string_view name(Stage s);
};

class CpuForward {
public:
    // The model objects must outlive this object (they are owned by the caller, e.g. engine::Model).
    CpuForward(const model::TextConfig& config, const model::LayerPlan& plan, const model::TextWeights& weights,
               ThreadPool& pool);

    // Processes `tokens` of one sequence at positions kv.n_past() ... and advances kv.
    // Writes logits [n_out, vocab] to `logits`: every token's row when all_logits, else
    // only the last token's. Any batch size works, including batches that cross chunk edges.
    void forward(kv::SequenceKv& kv, std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);

    // Several sequences in one pass (continuous batching): the matrix products and the experts
    // run over all their tokens together; attention runs per sequence on its own KV memory.
    // logits: the rows of each step in order ([n_tokens or 1, vocab] per step).
    void forward_batch(std::span<const SequenceStep> steps, std::vector<float>& logits);

    // Starts (or, with nullptr, stops) accumulating step times into *profile.
    void set_profile(StageProfile* profile) { profile_ = profile; }

    const model::TextConfig& config() const { return config_; }
    const model::LayerPlan& plan() const { return plan_; }
    // The pool the forward pass runs on; idle between passes, so callers may use it then
    // (the scheduler samples its sequences on it).
    ThreadPool& pool() const { return pool_; }

private:
    // Attention of layer il for all rows x [T, D] -> out [T, D]; rows of step s are
    // [row_begin[s], row_begin[s+1]).
    void attention_block(int64_t il, std::span<const SequenceStep> steps, std::span<const int64_t> row_begin,
                         std::span<const int64_t> positions, const float* x, float* out);

    const model::TextConfig& config_;
    const model::LayerPlan& plan_;
    const model::TextWeights& weights_;
    ThreadPool& pool_;
    std::vector<float> inv_freq_;
    StageProfile* profile_ = nullptr;
};

}  // namespace scout::cpu
