// The Llama 4 text forward pass on the GPU, step by step as forward_cpu.cpp computes it:
// embedding; per layer RMSNorm -> q/k/v -> RoPE + QK norm (RoPE layers) or temperature (NoPE
// layers) -> KV write -> attention -> o_proj -> residual -> RMSNorm -> MoE (router, top-k,
// scaled expert inputs, routed experts + shared expert, summed in expert order) or dense SwiGLU
// -> residual; final RMSNorm and lm_head on the rows that need logits.
#include "backend/cuda/forward_cuda_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "backend/cuda/cuda_check.hpp"
#include "base/error.hpp"
#include "model/rope.hpp"

namespace scout::cuda {

namespace {

constexpr int64_t kLogitChunk = 128;  // lm_head rows per product (bounds the logits buffers; graphs up to this many sequences)

// Byte offsets of the per-pass metadata arrays in Workspace::meta (R = max_batch_rows).
struct MetaLayout {
    std::size_t tables, caps, tokens, positions, row_seq, phase_rows, logit_rows, temps, total;
};
MetaLayout meta_layout(int64_t R) {
    MetaLayout m{};
    const auto r = static_cast<std::size_t>(R);
    std::size_t off = 0;
    const auto take = [&](std::size_t bytes) {
        const std::size_t at = off;
        off += (bytes + 255) / 256 * 256;
        return at;
    };
    m.tables = take(r * sizeof(void*));
    m.caps = take(r * 4);
    m.tokens = take(r * 4);
    m.positions = take(r * 4);
    m.row_seq = take(r * 4);
    m.phase_rows = take(r * 4);
    m.logit_rows = take(r * 4);
    m.temps = take(r * 4);
    m.total = off;
    return m;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

DeviceKv& device_kv(kv::KvMemory* m) {
    auto* d = dynamic_cast<DeviceKv*>(m);
    check(d != nullptr, "forward: this KV memory was not made by the CUDA backend (use the backend's make_kv)");
    return *d;
}

}  // namespace

CudaForward::CudaForward(const model::TextConfig& config, const model::LayerPlan& plan,
                         const model::TextWeights& weights, const backend::BackendOptions& options,
                         const UploadProgress& progress)
    : config_(config), plan_(plan), weights_(weights), options_(options) {
    device_ = parse_device_index(options_.device);
    SCOUT_CUDA_CHECK(cudaSetDevice(device_));
    SCOUT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    try {
        arena_ = upload_weights(weights_, progress, stream_);
        weight_bytes_ = arena_.memory.bytes();
        model_ = bind_device_model(weights_, plan_, [this](const TensorView& t) { return arena_.resolve(t); });
        init_common();
    } catch (...) {
        cudaStreamDestroy(stream_);
        throw;
    }
}

CudaForward::CudaForward(const model::TextConfig& config, const model::LayerPlan& plan,
                         const model::TextWeights& weights, const backend::BackendOptions& options,
                         std::shared_ptr<void> owner, uint64_t weight_bytes)
    : owner_(std::move(owner)), config_(config), plan_(plan), weights_(weights), options_(options),
      weight_bytes_(weight_bytes) {
    device_ = parse_device_index(options_.device);
    SCOUT_CUDA_CHECK(cudaSetDevice(device_));
    SCOUT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    try {
        model_ = bind_device_model(weights_, plan_, [](const TensorView& t) { return t.data; });
        init_common();
    } catch (...) {
        cudaStreamDestroy(stream_);
        throw;
    }
}

CudaForward::~CudaForward() {
    cudaSetDevice(device_);
    release_graphs();
    if (stream_) {
        cudaStreamSynchronize(stream_);
        cudaStreamDestroy(stream_);
    }
}

void CudaForward::release_graphs() {
    for (auto& [rows, exec] : graphs_) cudaGraphExecDestroy(exec);
    graphs_.clear();
}

void CudaForward::init_common() {
    const auto& c = config_;
    const int64_t R = options_.max_batch_rows;
    check(R >= 1 && R <= (int64_t{1} << 20), "the batch size (rows per forward pass) must be in [1, 2^20]");
    kv::check_kv_type_fits(options_.kv_type, c.head_dim);
    check(options_.kv_ram_bytes == 0, "--kv-ram (KV beyond RAM) runs on the CPU only for now: use --device cpu");
    check(cuda_kv_type_supported(options_.kv_type),
          cat("--kv-type ", kv::kv_type_name(options_.kv_type), " runs on the CPU only for now: use --device cpu, ",
              "or f16, bf16, q8_0 or f32 on cuda"));
    // One KV type for all layers on the GPU: its attention kernels take the type per pass (KvView).
    check(options_.global_kv_type() == options_.kv_type,
          cat("--kv-type-global ", kv::kv_type_name(options_.global_kv_type()), " differs from --kv-type ",
              kv::kv_type_name(options_.kv_type), ": a separate type for the global layers runs on the CPU only ",
              "for now: use --device cpu, or leave --kv-type-global out on cuda"));
    check(c.head_dim % 2 == 0 && c.head_dim <= 256, cat("the CUDA backend needs an even head_dim <= 256, not ", c.head_dim));
    check(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0,
          "attention heads must be a multiple of the KV heads");

    const std::vector<float> inv = weights_.rope_inv_freq.empty() ? model::rope_inv_freq(c) : weights_.rope_inv_freq;
    check(static_cast<int64_t>(inv.size()) == c.head_dim / 2, "RoPE frequencies: expected head_dim / 2 of them");
    inv_freq_.resize(inv.size() * sizeof(float));
    SCOUT_CUDA_CHECK(cudaMemcpy(inv_freq_.get(), inv.data(), inv.size() * sizeof(float), cudaMemcpyHostToDevice));

    const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, d = c.head_dim;
    const int64_t E = std::max<int64_t>(1, c.num_local_experts), k = std::max<int64_t>(1, c.num_experts_per_tok);
    const int64_t F = c.intermediate_size, Fm = plan_.n_dense() > 0 ? c.intermediate_size_mlp : 0;
    const auto f32 = [](int64_t n) { return static_cast<std::size_t>(std::max<int64_t>(n, 1)) * sizeof(float); };
    Workspace& w = ws_;
    w.h.resize(f32(R * D));
    w.xn.resize(f32(R * D));
    w.branch.resize(f32(R * D));
    w.q.resize(f32(R * H * d));
    w.attn.resize(f32(R * H * d));
    w.k.resize(f32(R * Hkv * d));
    w.v.resize(f32(R * Hkv * d));
    w.router_logits.resize(f32(R * E));
    w.xs.resize(f32(R * k * D));
    w.ye.resize(f32(R * k * D));
    w.fa.resize(f32(R * std::max(k * F, Fm)));
    w.fb.resize(f32(R * std::max(k * F, Fm)));
    w.fc.resize(f32(R * std::max(k * F, Fm)));
    w.route_i32.resize(static_cast<std::size_t>(3 * R * k + 2 * E + 1) * sizeof(int32_t));
    w.route_f32.resize(f32(2 * R * k));
    w.logits.resize(f32(kLogitChunk * c.vocab_size));
    w.logits_host.resize(f32(kLogitChunk * c.vocab_size));
    w.attn_part.resize(attention_split_floats(H, d) * sizeof(float));
    w.top.resize(static_cast<std::size_t>(kLogitChunk) * (kMaxDeviceTopK * 8 + 1));
    w.top_host.resize(w.top.bytes());
    const MetaLayout ml = meta_layout(R);
    w.meta.resize(ml.total);
    w.meta_host.resize(ml.total);
    auto* ri = w.route_i32.as<int32_t>();
    auto* rf = w.route_f32.as<float>();
    w.route = {ri, rf, ri + 3 * R * k, ri + 3 * R * k + E, ri + R * k, rf + R * k, ri + 2 * R * k};
    w.bytes = 0;
    for (const DeviceBuffer* b : {&w.h, &w.xn, &w.branch, &w.q, &w.attn, &w.k, &w.v, &w.router_logits, &w.xs, &w.ye,
                                  &w.fa, &w.fb, &w.fc, &w.route_i32, &w.route_f32, &w.logits, &w.attn_part, &w.top, &w.meta})
        w.bytes += b->bytes();
    auto* base = w.meta.as<uint8_t>();
    d_tokens_ = reinterpret_cast<const int32_t*>(base + ml.tokens);
    d_positions_ = reinterpret_cast<const int32_t*>(base + ml.positions);
    d_row_seq_ = reinterpret_cast<const int32_t*>(base + ml.row_seq);
    d_phase_rows_ = reinterpret_cast<const int32_t*>(base + ml.phase_rows);
    d_logit_rows_ = reinterpret_cast<const int32_t*>(base + ml.logit_rows);
    d_temps_ = reinterpret_cast<const float*>(base + ml.temps);
    pool_ = std::make_shared<PagePool>();
    tc_ = options_.gpu_math == backend::GpuMath::Fast;
    SCOUT_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
}

std::unique_ptr<kv::KvMemory> CudaForward::make_kv() {
    return std::make_unique<DeviceKv>(plan_, config_.num_key_value_heads, config_.head_dim, options_.kv_type,
                                      options_.kv_page_size, pool_);
}

backend::Capabilities CudaForward::capabilities() const {
    const DeviceInfo info = device_info(device_);
    backend::Capabilities c;
    c.device = cat("cuda:", device_);
    c.description = cat(info.name, ", ", (info.total_bytes + (1u << 29)) >> 30, " GiB, ", info.sm_count, " SMs",
                        tc_ ? ", bf16 tensor cores for many rows (--gpu-math fast)" : "");
    c.max_batch_rows = options_.max_batch_rows;
    for (kv::KvType t : kv::all_kv_types())
        if (config_.head_dim % kv::kv_block_elems(t) == 0 && cuda_kv_type_supported(t)) c.kv_types.push_back(t);
    c.embedding_rows = true;
    c.device_top_k = kMaxDeviceTopK;
    return c;
}

backend::MemoryUse CudaForward::memory() const { return {weight_bytes_, ws_.bytes}; }

void CudaForward::mark(backend::Stage stage) {
    if (!profile_) return;
    SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));  // GPU time of the stage: wait for its kernels
    const double t = now_seconds();
    profile_->seconds[static_cast<std::size_t>(stage)] += t - clock_;
    clock_ = t;
}

void CudaForward::report(const char* name, int64_t il, const float* device_data, int64_t rows, int64_t cols) {
    if (!observer_) return;
    std::vector<float> host(static_cast<std::size_t>(rows * cols));
    SCOUT_CUDA_CHECK(cudaMemcpyAsync(host.data(), device_data, host.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    const std::string full = il < 0 ? std::string(name) : cat("model.layers.", il, ".", name);
    const int64_t shape[2] = {rows, cols};
    observer_->on_tensor(full, host, shape);
}

void CudaForward::forward(backend::Batch batch, std::vector<float>& logits) { run_batch(batch, &logits, nullptr, 0); }

void CudaForward::forward_top(backend::Batch batch, int k, backend::TopLogits& out) {
    check(k >= 1 && k <= kMaxDeviceTopK, cat("forward_top: k must be in [1, ", kMaxDeviceTopK, "] on the GPU, not ", k));
    run_batch(batch, nullptr, &out, k);
}

void CudaForward::run_batch(backend::Batch batch, std::vector<float>* logits, backend::TopLogits* top, int k) {
    check(!batch.empty(), "forward: no sequences");
    SCOUT_CUDA_CHECK(cudaSetDevice(device_));
    const int64_t V = config_.vocab_size, R = options_.max_batch_rows;
    int64_t n_logit_rows = 0;  // as backend::batch_logit_rows (computed here: no link to the CPU backend)
    for (const backend::SequenceStep& st : batch) n_logit_rows += st.all_logits ? static_cast<int64_t>(st.tokens.size()) : 1;
    out_logits_ = logits;
    out_top_ = top;
    top_k_ = top ? static_cast<int>(std::min<int64_t>(k, V)) : 0;
    if (logits) logits->resize(static_cast<std::size_t>(n_logit_rows * V));
    if (top) {
        top->k = top_k_;
        top->ids.resize(static_cast<std::size_t>(n_logit_rows * top_k_));
        top->values.resize(top->ids.size());
        top->usable.resize(static_cast<std::size_t>(n_logit_rows));
    }
    // Passes of at most R rows (and R sequences); a longer step is cut into pieces that run in
    // successive passes, only the last piece producing the step's last-row logits.
    std::vector<Piece> pass;
    int64_t rows = 0, logit_row = 0;
    const auto flush = [&]() {
        if (pass.empty()) return;
        forward_pass(pass, logit_row);
        for (const Piece& p : pass) logit_row += p.all_logits ? p.end - p.begin : (p.last_logit ? 1 : 0);
        pass.clear();
        rows = 0;
    };
    for (const backend::SequenceStep& st : batch) {
        check(st.kv != nullptr && !st.tokens.empty(), "forward: every sequence needs a KV memory and tokens");
        DeviceKv& kv = device_kv(st.kv);
        const auto n = static_cast<int64_t>(st.tokens.size());
        check(st.embeddings.size() == st.embedding_rows.size() * static_cast<std::size_t>(config_.hidden_size),
              "forward: embeddings must hold hidden_size values per embedding row");
        for (int64_t b = 0; b < n;) {
            if (rows == R || static_cast<int64_t>(pass.size()) == R) flush();
            const int64_t len = std::min(n - b, R - rows);
            pass.push_back({&kv, &st, b, b + len, st.all_logits, b + len == n});
            rows += len;
            b += len;
        }
    }
    flush();
}

void CudaForward::forward_pass(std::span<const Piece> pieces, int64_t logit_row0) {
    const auto& c = config_;
    const int64_t V = c.vocab_size, R = options_.max_batch_rows;
    const MetaLayout ml = meta_layout(R);
    auto* mh = ws_.meta_host.as<uint8_t>();
    auto* tables = reinterpret_cast<void* const**>(mh + ml.tables);
    auto* caps = reinterpret_cast<int32_t*>(mh + ml.caps);
    auto* tokens = reinterpret_cast<int32_t*>(mh + ml.tokens);
    auto* positions = reinterpret_cast<int32_t*>(mh + ml.positions);
    auto* row_seq = reinterpret_cast<int32_t*>(mh + ml.row_seq);
    auto* phase_rows = reinterpret_cast<int32_t*>(mh + ml.phase_rows);
    auto* logit_rows = reinterpret_cast<int32_t*>(mh + ml.logit_rows);
    auto* temps = reinterpret_cast<float*>(mh + ml.temps);

    if (profile_) {
        SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        clock_ = now_seconds();
    }
    // Host metadata: rows in order, sequence after sequence; pages for the new positions.
    int64_t S = 0, n_logits = 0, max_phase = 0;
    std::vector<int32_t> phase_of;
    for (std::size_t si = 0; si < pieces.size(); ++si) {
        const Piece& p = pieces[si];
        const int64_t n_past = p.kv->n_past(), len = p.end - p.begin;
        check(n_past + len < std::numeric_limits<int32_t>::max(), "forward: position beyond 2^31");
        p.kv->reserve(n_past + len, stream_);
        tables[si] = p.kv->device_table();
        caps[si] = p.kv->capacity();
        const int64_t first_chunk = plan_.chunk_size > 0 ? n_past / plan_.chunk_size : 0;
        for (int64_t i = 0; i < len; ++i, ++S) {
            const int32_t tok = p.step->tokens[static_cast<std::size_t>(p.begin + i)];
            check(tok >= 0 && tok < V, cat("token id ", tok, " is outside the vocabulary [0, ", V, ")"));
            const int64_t pos = n_past + i;
            tokens[S] = tok;
            positions[S] = static_cast<int32_t>(pos);
            row_seq[S] = static_cast<int32_t>(si);
            temps[S] = model::attn_temperature(c, pos);
            // Chunk phase: how many chunk edges this row lies past its piece's first row.
            const int64_t ph = plan_.chunk_size > 0 ? pos / plan_.chunk_size - first_chunk : 0;
            phase_of.push_back(static_cast<int32_t>(ph));
            max_phase = std::max(max_phase, ph);
            if (p.all_logits || (p.last_logit && i == len - 1)) logit_rows[n_logits++] = static_cast<int32_t>(S);
        }
    }
    phase_offsets_.assign(1, 0);
    for (int64_t ph = 0, n = 0; ph <= max_phase; ++ph) {
        for (int64_t r = 0; r < S; ++r)
            if (phase_of[static_cast<std::size_t>(r)] == ph) phase_rows[n++] = static_cast<int32_t>(r);
        phase_offsets_.push_back(n);
    }
    bool embeddings = false;
    for (const Piece& p : pieces)
        for (int64_t r : p.step->embedding_rows) embeddings |= r >= p.begin && r < p.end;
    plan_tc_attention(pieces, max_phase);
    const int64_t first_rows = std::min(n_logits, kLogitChunk);
    // Decode steps replay a captured graph (same kernels, same arguments: the row metadata lives
    // at fixed addresses and is copied from the pinned buffer by the graph's first node).
    const bool graphable = S == static_cast<int64_t>(pieces.size()) && n_logits == S && S <= kLogitChunk &&
                           !embeddings && max_phase == 0 && profile_ == nullptr && observer_ == nullptr;
    if (graphable) {
        auto it = graphs_.find({S, top_k_});
        if (it == graphs_.end()) {
            cudaGraph_t graph = nullptr;
            SCOUT_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
            try {
                enqueue_pass(pieces, S, n_logits, false);
            } catch (...) {
                cudaStreamEndCapture(stream_, &graph);
                if (graph) cudaGraphDestroy(graph);
                throw;
            }
            SCOUT_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
            cudaGraphExec_t exec = nullptr;
            const cudaError_t st = cudaGraphInstantiate(&exec, graph, 0);
            cudaGraphDestroy(graph);
            check_cuda(st, "cudaGraphInstantiate (decode step)");
            it = graphs_.emplace(std::make_pair(S, top_k_), exec).first;
        }
        SCOUT_CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
    } else {
        enqueue_pass(pieces, S, n_logits, embeddings);
    }
    SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    take_logit_rows(logit_row0, first_rows);
    // More logit rows than one chunk (prefill with all_logits): the rest, a chunk at a time.
    for (int64_t r0 = first_rows; r0 < n_logits; r0 += kLogitChunk) {
        const int64_t n = std::min(kLogitChunk, n_logits - r0);
        enqueue_lm_head(r0, n);
        SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        take_logit_rows(logit_row0 + r0, n);
    }
    mark(backend::Stage::LmHead);
    for (const Piece& p : pieces) p.kv->advance(p.end - p.begin);
}

// The fast mode's prompt attention (attention_tensor_cores) when some piece of the pass has 16
// rows or more (a prompt, not decode steps): tiles of the global layers (list 0) and of each
// chunk phase of the chunked layers (lists 1 + phase), uploaded once per pass.
void CudaForward::plan_tc_attention(std::span<const Piece> pieces, int64_t max_phase) {
    tc_attention_ = false;
    if (!tc_ || !attention_tc_supported(config_.head_dim)) return;
    int64_t longest = 0;
    for (const Piece& p : pieces) longest = std::max(longest, p.end - p.begin);
    if (longest < 16) return;
    tc_attention_ = true;
    const int64_t C = plan_.chunk_size;
    std::vector<AttnTile> all, part;
    std::vector<AttnRun> runs;
    tile_lists_.clear();
    const auto add_list = [&](bool chunked) {
        const int64_t n = attention_tiles(runs, chunked, C, part);
        tile_lists_.push_back({static_cast<int64_t>(all.size()), n});
        all.insert(all.end(), part.begin(), part.end());
    };
    int32_t row0 = 0;
    for (std::size_t si = 0; si < pieces.size(); ++si) {  // global layers: every row, one run per piece
        const int64_t len = pieces[si].end - pieces[si].begin;
        runs.push_back({static_cast<int32_t>(si), row0, len, pieces[si].kv->n_past()});
        row0 += static_cast<int32_t>(len);
    }
    add_list(false);
    for (int64_t ph = 0; ph <= max_phase; ++ph) {  // chunked layers: each piece's rows of phase ph
        runs.clear();
        row0 = 0;
        for (std::size_t si = 0; si < pieces.size(); ++si) {
            const int64_t n_past = pieces[si].kv->n_past(), len = pieces[si].end - pieces[si].begin;
            const int64_t first = C > 0 ? (n_past / C + ph) * C : n_past;  // phase ph's first position
            const int64_t b = std::max(n_past, first), e = C > 0 ? std::min(n_past + len, first + C) : n_past + len;
            if (b < e) runs.push_back({static_cast<int32_t>(si), static_cast<int32_t>(row0 + b - n_past), e - b, b});
            row0 += static_cast<int32_t>(len);
        }
        add_list(C > 0);
    }
    const std::size_t bytes = std::max<std::size_t>(1, all.size()) * sizeof(AttnTile);
    if (tiles_.bytes() < bytes) tiles_.resize(bytes);
    SCOUT_CUDA_CHECK(cudaMemcpyAsync(tiles_.get(), all.data(), all.size() * sizeof(AttnTile), cudaMemcpyHostToDevice, stream_));
    SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream_));  // `all` is freed on return
}

// lm_head on logit rows [r0, r0 + n) and the copy to the host: whole rows, or in top mode the
// chunk's ids [n, kk], then values [n, kk], then n usable flags, packed in ws_.top / ws_.top_host.
void CudaForward::enqueue_lm_head(int64_t r0, int64_t n) {
    const int64_t D = config_.hidden_size, V = config_.vocab_size;
    matmul(ws_.xn.as<float>() + r0 * D, n, model_.lm_head, ws_.logits.as<float>(), {}, stream_, tc_);
    if (top_k_ == 0) {
        SCOUT_CUDA_CHECK(cudaMemcpyAsync(ws_.logits_host.get(), ws_.logits.get(), static_cast<std::size_t>(n * V) * sizeof(float),
                                         cudaMemcpyDeviceToHost, stream_));
        return;
    }
    const auto entries = static_cast<std::size_t>(n * top_k_);
    auto* ids = ws_.top.as<int32_t>();
    auto* values = reinterpret_cast<float*>(ids + entries);
    auto* usable = reinterpret_cast<uint8_t*>(values + entries);
    top_logits(ws_.logits.as<float>(), n, V, top_k_, ids, values, usable, stream_);
    SCOUT_CUDA_CHECK(cudaMemcpyAsync(ws_.top_host.get(), ws_.top.get(), entries * 8 + static_cast<std::size_t>(n),
                                     cudaMemcpyDeviceToHost, stream_));
}

void CudaForward::take_logit_rows(int64_t row0, int64_t n) {
    const int64_t V = config_.vocab_size;
    if (top_k_ == 0) {
        std::memcpy(out_logits_->data() + row0 * V, ws_.logits_host.get(), static_cast<std::size_t>(n * V) * sizeof(float));
        return;
    }
    const auto entries = static_cast<std::size_t>(n * top_k_), at = static_cast<std::size_t>(row0 * top_k_);
    const auto* ids = ws_.top_host.as<int32_t>();
    const auto* values = reinterpret_cast<const float*>(ids + entries);
    const auto* usable = reinterpret_cast<const uint8_t*>(values + entries);
    std::memcpy(out_top_->ids.data() + at, ids, entries * sizeof(int32_t));
    std::memcpy(out_top_->values.data() + at, values, entries * sizeof(float));
    std::memcpy(out_top_->usable.data() + row0, usable, static_cast<std::size_t>(n));
}

void CudaForward::enqueue_pass(std::span<const Piece> pieces, int64_t S, int64_t n_logits, bool embeddings) {
    const auto& c = config_;
    const int64_t D = c.hidden_size;
    const MetaLayout ml = meta_layout(options_.max_batch_rows);
    const cudaStream_t s = stream_;
    SCOUT_CUDA_CHECK(cudaMemcpyAsync(ws_.meta.get(), ws_.meta_host.get(), ml.total, cudaMemcpyHostToDevice, s));
    float* h = ws_.h.as<float>();
    float* xn = ws_.xn.as<float>();
    float* branch = ws_.branch.as<float>();

    // h [S, D]: token embeddings (no scaling); rows given as embeddings replace their lookups.
    embed_rows(model_.embed, d_tokens_, S, h, s);
    if (embeddings) {
        int64_t row0 = 0;
        for (const Piece& p : pieces) {
            const auto& er = p.step->embedding_rows;
            for (std::size_t j = 0; j < er.size(); ++j)
                if (er[j] >= p.begin && er[j] < p.end)
                    SCOUT_CUDA_CHECK(cudaMemcpyAsync(h + (row0 + er[j] - p.begin) * D, p.step->embeddings.data() + j * D,
                                                     static_cast<std::size_t>(D) * sizeof(float), cudaMemcpyHostToDevice, s));
            row0 += p.end - p.begin;
        }
    }
    mark(backend::Stage::Embed);

    KvView view;
    view.tables = reinterpret_cast<void* const* const*>(ws_.meta.as<uint8_t>() + ml.tables);
    view.caps = reinterpret_cast<const int32_t*>(ws_.meta.as<uint8_t>() + ml.caps);
    view.type = options_.kv_type;
    view.n_kv_heads = c.num_key_value_heads;
    view.head_dim = c.head_dim;
    view.chunk_size = plan_.chunk_size;
    const kv::KvLayout& layout = pieces.front().kv->layout();
    // Each residual add runs fused with the RMSNorm after it (residual_norm); the MoE's combine of
    // shared and routed outputs runs inside the add after the MoE.
    const int64_t L = plan_.n_layers();
    if (L > 0) rms_norm(h, S, D, model_.layers.front().attn_norm, c.rms_norm_eps, xn, s);
    mark(backend::Stage::Norms);
    for (int64_t il = 0; il < L; ++il) {
        const DeviceLayer& w = model_.layers[static_cast<std::size_t>(il)];
        // h = h + Attn(RMSNorm_in(h)); xn = RMSNorm_post(h)
        view.il = static_cast<int>(il);
        view.chunked = layout.chunked(il);
        view.page_slots = layout.page_slots(il);
        attention_block(il, S, view);
        residual_norm(h, branch, nullptr, nullptr, 0, S, D, w.ffn_norm, c.rms_norm_eps, xn, s);
        mark(backend::Stage::Norms);
        // h = h + FFN(xn); xn = RMSNorm_in of the next layer (none after the last)
        const DeviceVector next_norm = il + 1 < L ? model_.layers[static_cast<std::size_t>(il) + 1].attn_norm : DeviceVector{};
        if (plan_.layers[static_cast<std::size_t>(il)].moe) {
            moe_block(il, S);
            mark(backend::Stage::Moe);
            residual_norm(h, branch, ws_.ye.as<float>(), ws_.route.token_assign, c.num_experts_per_tok, S, D, next_norm,
                          c.rms_norm_eps, xn, s);
        } else {
            dense_block(il, S);
            mark(backend::Stage::DenseFfn);
            residual_norm(h, branch, nullptr, nullptr, 0, S, D, next_norm, c.rms_norm_eps, xn, s);
        }
        mark(backend::Stage::Norms);
    }

    // Final norm on the rows whose logits are wanted (xn [n_logits, D]), then the first lm_head chunk.
    gather_rows(h, D, d_logit_rows_, n_logits, branch, s);
    rms_norm(branch, n_logits, D, model_.norm, c.rms_norm_eps, xn, s);
    enqueue_lm_head(0, std::min(n_logits, kLogitChunk));
}

void CudaForward::attention_block(int64_t il, int64_t S, const KvView& view) {
    const auto& c = config_;
    const model::LayerRule& rule = plan_.layers[static_cast<std::size_t>(il)];
    const DeviceLayer& w = model_.layers[static_cast<std::size_t>(il)];
    const int64_t H = c.num_attention_heads, Hkv = c.num_key_value_heads, d = c.head_dim;
    const cudaStream_t s = stream_;
    float* xn = ws_.xn.as<float>();
    float* q = ws_.q.as<float>();  // [S, H, d]
    float* k = ws_.k.as<float>();  // [S, Hkv, d]
    float* v = ws_.v.as<float>();  // [S, Hkv, d]
    float* attn = ws_.attn.as<float>();  // [S, H, d]
    const MatvecJob qkv[3] = {{&w.wq, nullptr, xn, S, q, {}}, {&w.wk, nullptr, xn, S, k, {}}, {&w.wv, nullptr, xn, S, v, {}}};
    run_products(qkv, 3, nullptr, s, tc_);  // one launch at decode when the three share a format
    report("self_attn.q_proj", il, q, S, H * d);
    report("self_attn.k_proj", il, k, S, Hkv * d);
    report("self_attn.v_proj", il, v, S, Hkv * d);
    mark(backend::Stage::AttnQkv);

    // RoPE layers: RoPE, then the QK norm (per head, no weight); NoPE layers: temperature on q.
    attn_prep(q, k, S, H, Hkv, d, d_positions_, rule.rope ? inv_freq_.as<float>() : nullptr, rule.rope && rule.qk_norm,
              c.rms_norm_eps, rule.temperature ? d_temps_ : nullptr, s);
    mark(backend::Stage::RopeScale);

    // A chunk ring holds one chunk: rows past a chunk edge run in later phases, each phase's keys
    // written before its queries attend (they see only their own chunk). Global layers: one phase.
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    const int64_t n_phases = static_cast<int64_t>(phase_offsets_.size()) - 1;
    if (tc_attention_) {  // prompts in the fast mode: tensor cores, tiles planned for this pass
        const auto* tiles = tiles_.as<AttnTile>();
        if (!view.chunked || n_phases <= 1) {
            kv_write(k, v, nullptr, S, d_positions_, d_row_seq_, view, s);
            const TileList& tl = tile_lists_[view.chunked ? 1 : 0];
            attention_tensor_cores(q, attn, tiles + tl.offset, tl.count, view, H, scale, s);
        } else {
            for (int64_t ph = 0; ph < n_phases; ++ph) {
                const int64_t b = phase_offsets_[static_cast<std::size_t>(ph)], n = phase_offsets_[static_cast<std::size_t>(ph) + 1] - b;
                kv_write(k, v, d_phase_rows_ + b, n, d_positions_, d_row_seq_, view, s);
                const TileList& tl = tile_lists_[static_cast<std::size_t>(1 + ph)];
                attention_tensor_cores(q, attn, tiles + tl.offset, tl.count, view, H, scale, s);
            }
        }
    } else if (!view.chunked || n_phases <= 1) {
        kv_write(k, v, nullptr, S, d_positions_, d_row_seq_, view, s);
        // Few rows (decode) leave most SMs idle with a warp per (row, head): split the keys.
        const int splits = attention_splits(S, H, sm_count_);
        attention(q, attn, nullptr, S, d_positions_, d_row_seq_, view, H, scale, s, splits, ws_.attn_part.as<float>());
    } else {
        for (int64_t ph = 0; ph < n_phases; ++ph) {
            const int64_t b = phase_offsets_[static_cast<std::size_t>(ph)], n = phase_offsets_[static_cast<std::size_t>(ph) + 1] - b;
            kv_write(k, v, d_phase_rows_ + b, n, d_positions_, d_row_seq_, view, s);
            attention(q, attn, d_phase_rows_ + b, n, d_positions_, d_row_seq_, view, H, scale, s);
        }
    }
    mark(backend::Stage::Attention);
    matmul(attn, S, w.wo, ws_.branch.as<float>(), {}, s, tc_);
    report("self_attn.o_proj", il, ws_.branch.as<float>(), S, c.hidden_size);
    mark(backend::Stage::AttnOut);
}

void CudaForward::moe_block(int64_t il, int64_t S) {
    const auto& c = config_;
    const DeviceLayer& w = model_.layers[static_cast<std::size_t>(il)];
    const int64_t D = c.hidden_size, E = w.router.out, k = c.num_experts_per_tok;
    const cudaStream_t s = stream_;
    float* xn = ws_.xn.as<float>();
    float* xs = ws_.xs.as<float>();
    float* fa = ws_.fa.as<float>();
    float* fb = ws_.fb.as<float>();
    float* ye = ws_.ye.as<float>();
    float* branch = ws_.branch.as<float>();
    const RouteBuffers& r = ws_.route;
    // Router logits [S, E] and the routing, on the device (float32 in the fast mode too: a bf16
    // router would change which experts a token goes to), with the routed experts' grouped,
    // score-scaled inputs xs [S*k, D].
    matmul(xn, S, w.router, ws_.router_logits.as<float>(), {}, s);
    const int64_t n_assign = S * k;
    route_and_gather(ws_.router_logits.as<float>(), S, E, k, r, xn, D, xs, s);
    // Routed experts (empty experts skipped) and the shared expert (unscaled input), each SwiGLU
    // as a gate/up pair: fa [S*k, F] routed, fb [S, F] shared; then the down products into
    // ye [S*k, D] and branch [S, D]. At decode each stage is one launch. The caller's
    // residual_norm sums y = shared + routed (expert-index order) into h.
    const RowGroups groups{r.slot_expert, r.slot_offset, static_cast<int>(std::min(E, n_assign))};
    const MatvecJob gate_up[2] = {{&w.exp_gate, &w.exp_up, xs, n_assign, fa, groups}, {&w.sh_gate, &w.sh_up, xn, S, fb, {}}};
    run_products(gate_up, 2, ws_.fc.as<float>(), s, tc_);
    const MatvecJob down[2] = {{&w.exp_down, nullptr, fa, n_assign, ye, groups}, {&w.sh_down, nullptr, fb, S, branch, {}}};
    run_products(down, 2, nullptr, s, tc_);
}

void CudaForward::dense_block(int64_t il, int64_t S) {
    const DeviceLayer& w = model_.layers[static_cast<std::size_t>(il)];
    const cudaStream_t s = stream_;
    float* fa = ws_.fa.as<float>();
    const MatvecJob gate_up{&w.mlp_gate, &w.mlp_up, ws_.xn.as<float>(), S, fa, {}};  // fa [S, Fm]
    run_products(&gate_up, 1, ws_.fb.as<float>(), s, tc_);
    matmul(fa, S, w.mlp_down, ws_.branch.as<float>(), {}, s, tc_);  // [S, D]
}

std::unique_ptr<backend::Forward> make_cuda_forward(const model::TextConfig& config, const model::LayerPlan& plan,
                                                    const model::TextWeights& weights,
                                                    const backend::BackendOptions& options,
                                                    const UploadProgress& progress) {
    std::string why;
    check(device_available(&why), cat("--device cuda: ", why));
    return std::make_unique<CudaForward>(config, plan, weights, options, progress);
}

uint64_t device_weight_bytes(const model::TextWeights& weights) { return arena_bytes(weight_tensors(weights)); }

}  // namespace scout::cuda
