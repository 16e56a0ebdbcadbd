#include "backend/cuda/device_weights.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "backend/cuda/cuda_check.hpp"
#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::cuda {

namespace {

constexpr std::size_t kAlign = 256;
constexpr std::size_t kStagingBytes = std::size_t{64} << 20;  // per pinned buffer (two of them)

std::size_t aligned(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// nn.Linear weight [out, in] (the whole tensor viewed as [shape[0], numel / shape[0]]).
DeviceMatrix linear(const TensorView* t, const DeviceResolver& resolve) {
    check(t != nullptr, "CUDA weight binding: a required tensor is missing");
    check(!t->shape.empty(), cat(t->name, ": a matrix needs a shape"));
    DeviceMatrix m;
    m.data = resolve(*t);
    m.dtype = t->dtype;
    m.out = t->shape[0];
    m.in = t->numel() / t->shape[0];
    m.transposed = true;
    m.row_bytes = quant::row_size(t->dtype, m.in);
    return m;
}

DeviceVector vec(const TensorView* t, const DeviceResolver& resolve) {
    check(t != nullptr, "CUDA weight binding: a required norm weight is missing");
    return {resolve(*t), t->dtype, t->numel()};
}

DeviceMatrix expert(const model::ExpertMatrix& em, const DeviceResolver& resolve) {
    const TensorView* t = em.tensor;
    check(t != nullptr && t->shape.size() == 3, "CUDA weight binding: expert tensors must be [E, *, *]");
    DeviceMatrix m;
    m.data = resolve(*t);
    m.dtype = t->dtype;
    m.out = em.out;
    m.in = em.in;
    m.transposed = em.transposed;
    if (em.transposed) {  // [E, out, in]
        check(t->shape[1] == em.out && t->shape[2] == em.in, cat(t->name, ": expert shape ", shape_str(t->shape)));
        m.row_bytes = quant::row_size(t->dtype, em.in);
        m.expert_bytes = static_cast<std::size_t>(em.out) * m.row_bytes;
    } else {  // [E, in, cols], columns [col0, col0 + out)
        check(!dtype_is_quantized(t->dtype),
              cat(t->name, ": the x·W expert layout is read only from float weights, not ", dtype_name(t->dtype)));
        check(t->shape[1] == em.in && em.col0 + em.out <= t->shape[2], cat(t->name, ": expert shape ", shape_str(t->shape)));
        m.ld = t->shape[2];
        m.col0 = em.col0;
        m.expert_bytes = static_cast<std::size_t>(t->shape[1] * t->shape[2]) * dtype_size(t->dtype);
    }
    return m;
}

}  // namespace

DeviceModel bind_device_model(const model::TextWeights& w, const model::LayerPlan& plan, const DeviceResolver& resolve) {
    DeviceModel m;
    m.embed = linear(w.embed, resolve);
    m.norm = vec(w.norm, resolve);
    m.lm_head = linear(w.lm_head, resolve);
    check(w.layers.size() == plan.layers.size(), "CUDA weight binding: layer count differs from the plan");
    for (std::size_t il = 0; il < w.layers.size(); ++il) {
        const model::LayerWeights& L = w.layers[il];
        DeviceLayer d;
        d.attn_norm = vec(L.attn_norm, resolve);
        d.ffn_norm = vec(L.ffn_norm, resolve);
        d.wq = linear(L.wq, resolve);
        d.wk = linear(L.wk, resolve);
        d.wv = linear(L.wv, resolve);
        d.wo = linear(L.wo, resolve);
        if (plan.layers[il].moe) {
            d.router = linear(L.router, resolve);
            d.exp_gate = expert(L.experts.gate, resolve);
            d.exp_up = expert(L.experts.up, resolve);
            d.exp_down = expert(L.experts.down, resolve);
            d.sh_gate = linear(L.shared_gate, resolve);
            d.sh_up = linear(L.shared_up, resolve);
            d.sh_down = linear(L.shared_down, resolve);
        } else {
            d.mlp_gate = linear(L.mlp_gate, resolve);
            d.mlp_up = linear(L.mlp_up, resolve);
            d.mlp_down = linear(L.mlp_down, resolve);
        }
        m.layers.push_back(d);
    }
    return m;
}

std::vector<const TensorView*> weight_tensors(const model::TextWeights& w) {
    std::vector<const TensorView*> out;
    std::unordered_set<const void*> seen;
    const auto add = [&](const TensorView* t) {
        if (t != nullptr && seen.insert(t->data).second) out.push_back(t);
    };
    add(w.embed);
    add(w.norm);
    add(w.lm_head);
    for (const model::LayerWeights& L : w.layers) {
        for (const TensorView* t : {L.attn_norm, L.wq, L.wk, L.wv, L.wo, L.ffn_norm, L.router, L.shared_gate, L.shared_up,
                                    L.shared_down, L.mlp_gate, L.mlp_up, L.mlp_down})
            add(t);
        for (const model::ExpertMatrix* em : {&L.experts.gate, &L.experts.up, &L.experts.down}) add(em->tensor);
    }
    return out;
}

uint64_t arena_bytes(const std::vector<const TensorView*>& tensors) {
    uint64_t n = 0;
    for (const TensorView* t : tensors) n += aligned(t->nbytes());
    return n;
}

const void* WeightArena::resolve(const TensorView& t) const {
    const auto it = device_of.find(t.data);
    check(it != device_of.end(), cat("CUDA weights: tensor ", t.name, " was not uploaded"));
    return it->second;
}

WeightArena upload_weights(const model::TextWeights& weights, const std::function<void(uint64_t, uint64_t)>& progress,
                           cudaStream_t stream) {
    const std::vector<const TensorView*> tensors = weight_tensors(weights);
    const uint64_t total = arena_bytes(tensors);
    std::size_t free_b = 0, total_b = 0;
    SCOUT_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    check(total <= free_b, cat("the weights need ", total >> 20, " MiB of GPU memory but only ", free_b >> 20,
                               " MiB are free: use a smaller quantization (scout quantize --type Q4_K_M) or --device cpu"));
    WeightArena arena;
    arena.memory.resize(total);
    // Two pinned buffers: the host copies the next chunk out of the mapping while the previous
    // one is in flight to the device.
    PinnedBuffer staging[2] = {PinnedBuffer(kStagingBytes), PinnedBuffer(kStagingBytes)};
    cudaEvent_t done[2];
    for (auto& e : done) SCOUT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    bool used[2] = {false, false};
    uint64_t offset = 0, copied = 0;
    int which = 0;
    try {
        for (const TensorView* t : tensors) {
            auto* dst = arena.memory.as<uint8_t>() + offset;
            arena.device_of[t->data] = dst;
            const auto* src = static_cast<const uint8_t*>(t->data);
            const std::size_t n = t->nbytes();
            for (std::size_t pos = 0; pos < n; pos += kStagingBytes) {
                const std::size_t len = std::min(kStagingBytes, n - pos);
                if (used[which]) SCOUT_CUDA_CHECK(cudaEventSynchronize(done[which]));
                std::memcpy(staging[which].get(), src + pos, len);
                SCOUT_CUDA_CHECK(cudaMemcpyAsync(dst + pos, staging[which].get(), len, cudaMemcpyHostToDevice, stream));
                SCOUT_CUDA_CHECK(cudaEventRecord(done[which], stream));
                used[which] = true;
                which ^= 1;
                copied += len;
                if (progress) progress(copied, total);
            }
            offset += aligned(n);
        }
        SCOUT_CUDA_CHECK(cudaStreamSynchronize(stream));
    } catch (...) {
        cudaStreamSynchronize(stream);
        for (auto& e : done) cudaEventDestroy(e);
        throw;
    }
    for (auto& e : done) SCOUT_CUDA_CHECK(cudaEventDestroy(e));
    if (progress) progress(total, total);
    return arena;
}

}  // namespace scout::cuda
