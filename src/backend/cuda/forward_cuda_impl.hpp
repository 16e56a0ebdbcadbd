// The CUDA forward pass (the class behind make_cuda_forward). Mirrors cpu::CpuForward step by
// step (docs/cuda.md lists the kernels per step); float32 activations, weights in their file
// format on the device, KV in device pages. One CUDA stream; a forward call returns when its
// logits are on the host.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <span>
#include <vector>

#include "backend/cuda/device_buffer.hpp"
#include "backend/cuda/device_kv.hpp"
#include "backend/cuda/device_weights.hpp"
#include "backend/cuda/forward_cuda.hpp"
#include "backend/cuda/ops.hpp"

namespace scout::cuda {

// Activations for max_batch_rows rows, allocated once (a decode step allocates nothing).
struct Workspace {
    DeviceBuffer h, xn, branch;  // [R, D] residual stream, normed input, block output
    DeviceBuffer q, attn;        // [R, H*d]
    DeviceBuffer k, v;           // [R, Hkv*d]
    DeviceBuffer router_logits;  // [R, E]
    DeviceBuffer xs, ye;         // [R*k, D] expert inputs (scaled, grouped) and outputs
    DeviceBuffer fa, fb, fc;     // [R * max(k*F, Fm)] SwiGLU activations (routed, shared) and scratch
    DeviceBuffer route_i32;      // selected, assign_token, token_assign [R*k each], slot_expert [E], slot_offset [E+1]
    DeviceBuffer route_f32;      // selected_score, assign_score [R*k each]
    DeviceBuffer logits;         // [kLogitChunk, V]
    PinnedBuffer logits_host;    // [kLogitChunk, V]
    DeviceBuffer attn_part;      // split attention's partial results (attention_split_floats)
    DeviceBuffer top;            // forward_top: ids, values [kLogitChunk, kMaxDeviceTopK], usable [kLogitChunk]
    PinnedBuffer top_host;       // the same on the host
    DeviceBuffer meta;           // per-pass row metadata (see forward_cuda.cu: MetaLayout)
    PinnedBuffer meta_host;
    RouteBuffers route;          // views into route_i32 / route_f32
    std::size_t bytes = 0;
};

class CudaForward final : public backend::Forward {
public:
    // Uploads the weights from the mapped file (their owners must outlive this object).
    CudaForward(const model::TextConfig& config, const model::LayerPlan& plan, const model::TextWeights& weights,
                const backend::BackendOptions& options, const UploadProgress& progress);
    // Weights whose TensorView data already point to device memory (synthetic models); `owner`
    // keeps config, plan, weights and their device memory alive as long as this object.
    CudaForward(const model::TextConfig& config, const model::LayerPlan& plan, const model::TextWeights& weights,
                const backend::BackendOptions& options, std::shared_ptr<void> owner, uint64_t weight_bytes);
    ~CudaForward() override;

    using backend::Forward::forward;
    void forward(backend::Batch batch, std::vector<float>& logits) override;
    // The top logits are selected on the device (top_logits): kk ids and values per row cross to
    // the host instead of the vocabulary's logits.
    void forward_top(backend::Batch batch, int k, backend::TopLogits& out) override;
    std::unique_ptr<kv::KvMemory> make_kv() override;
    backend::Capabilities capabilities() const override;
    backend::MemoryUse memory() const override;
    const model::TextConfig& config() const override { return config_; }
    const model::LayerPlan& plan() const override { return plan_; }
    kv::KvType kv_type() const override { return options_.kv_type; }
    void set_profile(backend::StageProfile* profile) override { profile_ = profile; }
    void set_observer(backend::ActivationObserver* observer) override { observer_ = observer; }

private:
    // A run of one sequence's rows inside a pass: tokens [begin, end) of its step.
    struct Piece {
        DeviceKv* kv = nullptr;
        const backend::SequenceStep* step = nullptr;
        int64_t begin = 0, end = 0;
        bool all_logits = false;  // logits of every row
        bool last_logit = false;  // else: of the last row (the step's last piece)
    };

    void init_common();
    // forward / forward_top: the batch cut into passes; results into out_logits_ or out_top_.
    void run_batch(backend::Batch batch, std::vector<float>* logits, backend::TopLogits* top, int k);
    void forward_pass(std::span<const Piece> pieces, int64_t logit_row0);
    // Copies n logit rows (or their top entries) from the host staging buffers to rows row0.. of the output.
    void take_logit_rows(int64_t row0, int64_t n);
    // The device work of a pass: metadata upload, embedding, the layers, final norm of the logit
    // rows and the first lm_head chunk (logits of rows [0, min(n_logits, kLogitChunk)) copied to
    // ws_.logits_host). Free of host synchronization, so that it can be captured as a graph.
    void enqueue_pass(std::span<const Piece> pieces, int64_t S, int64_t n_logits, bool embeddings);
    void enqueue_lm_head(int64_t r0, int64_t n);
    void plan_tc_attention(std::span<const Piece> pieces, int64_t max_phase);
    void release_graphs();
    void attention_block(int64_t il, int64_t S, const KvView& view);
    void moe_block(int64_t il, int64_t S);
    void dense_block(int64_t il, int64_t S);
    void report(const char* name, int64_t il, const float* device_data, int64_t rows, int64_t cols);
    void mark(backend::Stage stage);

    std::shared_ptr<void> owner_;  // synthetic models: declared first, destroyed last
    const model::TextConfig& config_;
    const model::LayerPlan& plan_;
    const model::TextWeights& weights_;
    backend::BackendOptions options_;
    bool tc_ = false;              // products of many rows on bf16 tensor cores (GpuMath::Fast)
    int sm_count_ = 1;             // streaming multiprocessors (how far to split decode attention)
    int device_ = 0;
    cudaStream_t stream_ = nullptr;
    WeightArena arena_;            // uploaded weights (empty for synthetic models)
    uint64_t weight_bytes_ = 0;
    DeviceModel model_;
    DeviceBuffer inv_freq_;        // [d/2]
    std::shared_ptr<PagePool> pool_;
    Workspace ws_;
    // Pass state: device pointers into ws_.meta and the chunk phases (host).
    const int32_t* d_tokens_ = nullptr;
    const int32_t* d_positions_ = nullptr;
    const int32_t* d_row_seq_ = nullptr;
    const int32_t* d_phase_rows_ = nullptr;
    const int32_t* d_logit_rows_ = nullptr;
    const float* d_temps_ = nullptr;
    std::vector<int64_t> phase_offsets_;  // rows of chunk phase p: phase_rows[offsets[p] .. offsets[p+1])
    // Prompt attention on tensor cores (fast mode): whether this pass uses it, and its tile lists
    // in tiles_ (list 0: global layers; 1 + p: chunk phase p).
    struct TileList {
        int64_t offset = 0, count = 0;
    };
    bool tc_attention_ = false;
    std::vector<TileList> tile_lists_;
    DeviceBuffer tiles_;
    // Decode steps (one row per sequence, no embeddings) replay a CUDA graph captured once per
    // number of sequences: ~25 kernels per layer launch as one graph instead of one by one.
    std::map<std::pair<int64_t, int>, cudaGraphExec_t> graphs_;  // by (sequences, top k or 0)
    // The current forward / forward_top call's outputs.
    std::vector<float>* out_logits_ = nullptr;
    backend::TopLogits* out_top_ = nullptr;
    int top_k_ = 0;  // entries per row in top mode (min(k, V)); 0: whole rows
    backend::StageProfile* profile_ = nullptr;
    backend::ActivationObserver* observer_ = nullptr;
    double clock_ = 0.0;
};

}  // namespace scout::cuda
