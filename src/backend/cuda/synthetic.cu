// Synthetic full-size models for benchmarks (`scout bench --synthetic CONFIG.json --type T`):
// every tensor of the config's real dimensions, in the type mix asked for, filled on the device
// with random but valid data (finite fp16 scales, random quants). Nothing is read from a file,
// so the real Scout (48 layers, ~61 GB at Q4_K_M) can be timed on one GPU. The forward pass runs
// on these weights exactly as on uploaded ones (the TensorViews point to device memory).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <deque>
#include <string>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/forward_cuda_impl.hpp"
#include "backend/cuda/ops.hpp"
#include "model/weight_traffic.hpp"
#include "quant/quant.hpp"

namespace scout::cuda {

namespace {

__device__ __forceinline__ uint32_t hash32(uint64_t seed, uint64_t i) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<uint32_t>(z ^ (z >> 31));
}
// Uniform in [-1, 1).
__device__ __forceinline__ float unit(uint64_t seed, uint64_t i) {
    return static_cast<float>(hash32(seed, i) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

__global__ void random_words_kernel(uint32_t* w, uint64_t n, uint64_t seed) {
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x)
        w[i] = hash32(seed, i);
}

// Float tensors: uniform values of standard deviation `scale`; scale < 0: norm weights 1 ± 0.1.
template <DType DT>
__global__ void random_floats_kernel(uint8_t* data, uint64_t n, float scale, uint64_t seed) {
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const float u = unit(seed, i);
        const float v = scale < 0.0f ? 1.0f + 0.1f * u : scale * 1.7320508f * u;
        if constexpr (DT == DType::F32) reinterpret_cast<float*>(data)[i] = v;
        else if constexpr (DT == DType::F16) reinterpret_cast<__half*>(data)[i] = __float2half_rn(v);
        else reinterpret_cast<__nv_bfloat16*>(data)[i] = __float2bfloat16_rn(v);
    }
}

// Block tensors: the bytes are already random; set each block's fp16 scale(s) so that a weight's
// standard deviation is about `scale` (d jittered by ±50% per block) and the K-quant mins centre it.
template <DType DT>
__global__ void fix_scales_kernel(uint8_t* data, uint64_t n_blocks, float scale, uint64_t seed) {
    for (uint64_t b = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; b < n_blocks;
         b += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const float jitter = 1.0f + 0.5f * unit(seed ^ 0x5ca1e, b);
        if constexpr (DT == DType::Q8_0) {
            *reinterpret_cast<__half*>(data + b * 34) = __float2half_rn(jitter * scale / 73.6f);
        } else if constexpr (DT == DType::Q4_0) {
            *reinterpret_cast<__half*>(data + b * 18) = __float2half_rn(jitter * scale / 4.6f);
        } else if constexpr (DT == DType::Q4_K || DT == DType::Q5_K) {
            constexpr bool k5 = DT == DType::Q5_K;
            uint8_t* blk = data + b * (k5 ? 176 : 144);
            const float d = jitter * scale / (31.5f * (k5 ? 9.2f : 4.6f));
            reinterpret_cast<__half*>(blk)[0] = __float2half_rn(d);
            reinterpret_cast<__half*>(blk)[1] = __float2half_rn(d * (k5 ? 15.5f : 7.5f));
        } else if constexpr (DT == DType::Q6_K) {
            *reinterpret_cast<__half*>(data + b * 210 + 208) = __float2half_rn(jitter * scale / (73.6f * 18.5f));
        }
    }
}

unsigned fill_grid(uint64_t n) { return static_cast<unsigned>(std::min<uint64_t>((n + 255) / 256, 65536)); }

// llama.cpp's use_more_bits(): the first and last eighth of the layers and every third between.
bool more_bits(int64_t il, int64_t n) { return il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2; }

// The type mix: a matrix's type from its role (as model/gguf_export.cpp pick_type decides it).
struct Mix {
    DType base = DType::Q4_K;
    bool k_m = false;  // Q4_K_M: Q6_K for output and for attn_v / ffn_down in more_bits layers

    DType pick(bool is_output, bool v_or_down, int64_t il, int64_t n_layers, int64_t in) const {
        DType t = base;
        if (k_m && (is_output || (v_or_down && more_bits(il, n_layers)))) t = DType::Q6_K;
        if (in % dtype_block_elems(t) == 0) return t;
        if (dtype_is_quantized(t) && in % 32 == 0) return DType::Q8_0;
        return DType::F16;
    }
};

Mix parse_mix(const std::string& type) {
    if (type == "Q4_K_M") return {DType::Q4_K, true};
    if (type == "Q4_0") return {DType::Q4_0, false};
    if (type == "Q8_0") return {DType::Q8_0, false};
    if (type == "BF16") return {DType::BF16, false};
    if (type == "F16") return {DType::F16, false};
    throw Error(cat("--synthetic: unknown type \"", type, "\"; choose one of Q4_K_M, Q4_0, Q8_0, BF16, F16"));
}

struct Spec {
    TensorView* view;
    float scale;  // < 0: norm weights
};

struct SyntheticModel {
    model::TextConfig config;
    model::LayerPlan plan;
    model::TextWeights weights;
    DeviceBuffer arena;
    uint64_t bytes = 0;
};

// Declares every tensor (views without data) and returns them with their fill scales.
std::vector<Spec> declare(SyntheticModel& m, const Mix& mix) {
    const model::TextConfig& c = m.config;
    model::TextWeights& w = m.weights;
    std::vector<Spec> specs;
    const auto add = [&](std::string name, DType t, std::vector<int64_t> shape, float scale) {
        w.owned_views.push_back(TensorView{std::move(name), "synthetic", t, std::move(shape), nullptr});
        specs.push_back({&w.owned_views.back(), scale});
        return &w.owned_views.back();
    };
    const int64_t D = c.hidden_size, V = c.vocab_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads,
                  d = c.head_dim, E = c.num_local_experts, F = c.intermediate_size, Fm = c.intermediate_size_mlp,
                  L = c.num_hidden_layers;
    const auto mat = [&](const std::string& name, int64_t out, int64_t in, bool v_or_down, int64_t il) {
        return add(name, mix.pick(false, v_or_down, il, L, in), {out, in}, 1.0f / std::sqrt(static_cast<float>(in)));
    };
    w.embed = add("token_embd.weight", mix.pick(false, false, 0, L, D), {V, D}, 0.02f);
    w.norm = add("output_norm.weight", DType::F32, {D}, -1.0f);
    w.lm_head = c.tie_word_embeddings ? w.embed
                                      : add("output.weight", mix.pick(true, false, 0, L, D), {V, D},
                                            1.0f / std::sqrt(static_cast<float>(D)));
    w.layers.resize(static_cast<std::size_t>(L));
    for (int64_t il = 0; il < L; ++il) {
        const std::string b = cat("blk.", il, ".");
        model::LayerWeights& lw = w.layers[static_cast<std::size_t>(il)];
        lw.attn_norm = add(b + "attn_norm.weight", DType::F32, {D}, -1.0f);
        lw.ffn_norm = add(b + "ffn_norm.weight", DType::F32, {D}, -1.0f);
        lw.wq = mat(b + "attn_q.weight", H * d, D, false, il);
        lw.wk = mat(b + "attn_k.weight", Hkv * d, D, false, il);
        lw.wv = mat(b + "attn_v.weight", Hkv * d, D, true, il);
        lw.wo = mat(b + "attn_output.weight", D, H * d, false, il);
        if (m.plan.layers[static_cast<std::size_t>(il)].moe) {
            lw.router = add(b + "ffn_gate_inp.weight", DType::F32, {E, D}, 1.0f / std::sqrt(static_cast<float>(D)));
            const float sd = 1.0f / std::sqrt(static_cast<float>(D)), sf = 1.0f / std::sqrt(static_cast<float>(F));
            const TensorView* gate = add(b + "ffn_gate_exps.weight", mix.pick(false, false, il, L, D), {E, F, D}, sd);
            const TensorView* up = add(b + "ffn_up_exps.weight", mix.pick(false, false, il, L, D), {E, F, D}, sd);
            const TensorView* down = add(b + "ffn_down_exps.weight", mix.pick(false, true, il, L, F), {E, D, F}, sf);
            lw.experts = model::gguf_expert_weights(*gate, *up, *down);
            lw.shared_gate = mat(b + "ffn_gate_shexp.weight", F, D, false, il);
            lw.shared_up = mat(b + "ffn_up_shexp.weight", F, D, false, il);
            lw.shared_down = mat(b + "ffn_down_shexp.weight", D, F, true, il);
        } else {
            lw.mlp_gate = mat(b + "ffn_gate.weight", Fm, D, false, il);
            lw.mlp_up = mat(b + "ffn_up.weight", Fm, D, false, il);
            lw.mlp_down = mat(b + "ffn_down.weight", D, Fm, true, il);
        }
    }
    return specs;
}

uint64_t total_bytes(const std::vector<Spec>& specs) {
    uint64_t n = 0;
    for (const Spec& s : specs) n += (s.view->nbytes() + 255) / 256 * 256;
    return n;
}

}  // namespace

void fill_random(void* data, DType dtype, int64_t n_rows, int64_t in, float scale, uint64_t seed, cudaStream_t stream) {
    const std::size_t bytes = quant::row_size(dtype, in) * static_cast<std::size_t>(n_rows);
    if (bytes == 0) return;
    auto* p = static_cast<uint8_t*>(data);
    if (!dtype_is_quantized(dtype)) {
        dispatch_float_dtype(dtype, "fill_random", [&](auto tag) {
            constexpr DType DT = decltype(tag)::value;
            const uint64_t n = static_cast<uint64_t>(n_rows) * static_cast<uint64_t>(in);
            random_floats_kernel<DT><<<fill_grid(n), 256, 0, stream>>>(p, n, scale, seed);
            check_launch("random_floats_kernel");
        });
        return;
    }
    check(reinterpret_cast<std::uintptr_t>(data) % 4 == 0, "fill_random: data must be 4-byte aligned");
    random_words_kernel<<<fill_grid(bytes / 4), 256, 0, stream>>>(reinterpret_cast<uint32_t*>(p), bytes / 4, seed);
    check_launch("random_words_kernel");
    // The last bytes when the size is not a multiple of 4 keep whatever was there: still valid quants.
    const uint64_t n_blocks = bytes / dtype_size(dtype);
    dispatch_weight_dtype(dtype, "fill_random", [&](auto tag) {
        constexpr DType DT = decltype(tag)::value;
        fix_scales_kernel<DT><<<fill_grid(n_blocks), 256, 0, stream>>>(p, n_blocks, scale, seed);
        check_launch("fix_scales_kernel");
    });
}

uint64_t synthetic_weight_bytes(const model::TextConfig& config, const std::string& type) {
    SyntheticModel m;
    m.config = config;
    m.plan = model::make_layer_plan(config);
    return total_bytes(declare(m, parse_mix(type)));
}

double synthetic_bytes_per_token(const model::TextConfig& config, const std::string& type) {
    SyntheticModel m;
    m.config = config;
    m.plan = model::make_layer_plan(config);
    declare(m, parse_mix(type));
    return model::weight_bytes_per_token(m.weights, m.config, m.plan);
}

std::unique_ptr<backend::Forward> make_synthetic_forward(const model::TextConfig& config,
                                                         const SyntheticOptions& synthetic,
                                                         const backend::BackendOptions& options,
                                                         const UploadProgress& progress) {
    std::string why;
    check(device_available(&why), cat("--synthetic needs a GPU: ", why));
    const int device = parse_device_index(options.device);
    SCOUT_CUDA_CHECK(cudaSetDevice(device));
    auto m = std::make_shared<SyntheticModel>();
    m->config = config;
    m->plan = model::make_layer_plan(config);
    const std::vector<Spec> specs = declare(*m, parse_mix(synthetic.type));
    m->bytes = total_bytes(specs);
    std::size_t free_b = 0, total_b = 0;
    SCOUT_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    check(m->bytes <= free_b, cat("the synthetic ", synthetic.type, " model needs ", m->bytes >> 20, " MiB but the GPU has ",
                                  free_b >> 20, " MiB free"));
    m->arena.resize(m->bytes);
    uint64_t off = 0, done = 0, index = 0;
    for (const Spec& s : specs) {
        TensorView& v = *s.view;
        v.data = m->arena.as<uint8_t>() + off;
        const int64_t in = v.shape.back(), rows = v.numel() / in;
        fill_random(const_cast<void*>(v.data), v.dtype, rows, in, s.scale, synthetic.seed * 1000003ull + index++, nullptr);
        off += (v.nbytes() + 255) / 256 * 256;
        done += v.nbytes();
        if (progress) progress(done, m->bytes);
    }
    SCOUT_CUDA_CHECK(cudaDeviceSynchronize());
    if (progress) progress(m->bytes, m->bytes);
    SyntheticModel& ref = *m;
    return std::make_unique<CudaForward>(ref.config, ref.plan, ref.weights, options, std::shared_ptr<void>(m), ref.bytes);
}

}  // namespace scout::cuda
