#include "model/gguf_export.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "io/gguf_writer.hpp"
#include "model/gguf_config.hpp"
#include "model/gguf_tokenizer.hpp"
#include "model/rope.hpp"
#include "quant/quant.hpp"
#include "text/tokenizer.hpp"

namespace scout::model {

namespace {

constexpr int64_t kTileRows = 32;  // GGUF rows gathered and quantized together

// Rows [r, r + n) of GGUF tensor t as float, read from its HF source tensor (plain F32/F16/BF16,
// converted through the quant library), into out[n_done][row_len]. Returns n_done <= n: for the
// transposed expert tensors a tile stops at an expert boundary, so that for each column j the
// tile's source elements are contiguous (one conversion call per column, not per element).
int64_t gather_rows(const TensorView& src, const Llama4TensorName& t, int64_t r, int64_t n, float* out) {
    const int64_t row_len = t.shape.back();
    const auto* base = static_cast<const uint8_t*>(src.data);
    const auto esize = static_cast<int64_t>(dtype_size(src.dtype));
    if (t.source == GgufTensorSource::Same) {
        quant::dequantize_row(src.dtype, base + r * row_len * esize, out, n * row_len);
        return n;
    }
    const int64_t R = t.shape[1], e = r / R, rr = r % R;
    n = std::min(n, R - rr);
    float col[kTileRows];
    for (int64_t j = 0; j < row_len; ++j) {
        int64_t idx;  // source index of element (r, j); (r + k, j) is at idx + k
        if (t.source == GgufTensorSource::ExpertsGateHalf || t.source == GgufTensorSource::ExpertsUpHalf) {
            // GGUF [E, F, D] (r = e*F + f, j = d) <- HF gate_up [E, D, 2F] at (e, d, f or F+f)
            const int64_t F = R, D = row_len;
            idx = (e * D + j) * 2 * F + (t.source == GgufTensorSource::ExpertsUpHalf ? F + rr : rr);
        } else {
            // GGUF [E, D, F] (r = e*D + d, j = f) <- HF down [E, F, D] at (e, f, d)
            const int64_t D = R;
            idx = (e * row_len + j) * D + rr;
        }
        quant::dequantize_row(src.dtype, base + idx * esize, col, n);
        for (int64_t k = 0; k < n; ++k) out[k * row_len + j] = col[k];
    }
    return n;
}

// llama.cpp's use_more_bits(): the first and last eighth of the layers and every third in between.
bool more_bits(int64_t il, int64_t n) { return il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2; }

DType pick_type(GgufMix mix, const std::string& gguf_name, int64_t il, int64_t n_layers, int64_t row_len) {
    if (gguf_name.find("_norm") != std::string::npos || gguf_name.find("ffn_gate_inp") != std::string::npos ||
        gguf_name == "rope_freqs.weight")
        return DType::F32;
    DType t = DType::F32;
    switch (mix) {
        case GgufMix::F32: t = DType::F32; break;
        case GgufMix::F16: t = DType::F16; break;
        case GgufMix::BF16: t = DType::BF16; break;
        case GgufMix::Q8_0: t = DType::Q8_0; break;
        case GgufMix::Q4_0: t = DType::Q4_0; break;
        case GgufMix::Q4_K_M: {
            t = DType::Q4_K;
            const bool v_or_down = gguf_name.find("attn_v") != std::string::npos ||
                                   gguf_name.find("ffn_down") != std::string::npos;
            if (gguf_name == "output.weight" || (v_or_down && more_bits(il, n_layers))) t = DType::Q6_K;
            break;
        }
    }
    if (row_len % dtype_block_elems(t) == 0) return t;
    if (row_len % dtype_block_elems(DType::Q8_0) == 0 && dtype_is_quantized(t)) return DType::Q8_0;
    return t == DType::BF16 ? DType::BF16 : (t == DType::F32 ? DType::F32 : DType::F16);
}

uint32_t file_type(GgufMix mix) {  // llama_ftype values
    switch (mix) {
        case GgufMix::F32: return 0;
        case GgufMix::F16: return 1;
        case GgufMix::Q4_0: return 2;
        case GgufMix::Q8_0: return 7;
        case GgufMix::Q4_K_M: return 15;
        case GgufMix::BF16: return 32;
    }
    return 0;
}

}  // namespace

GgufMix parse_gguf_mix(const std::string& name) {
    for (GgufMix m : {GgufMix::F32, GgufMix::F16, GgufMix::BF16, GgufMix::Q8_0, GgufMix::Q4_0, GgufMix::Q4_K_M})
        if (name == gguf_mix_name(m)) return m;
    throw Error(cat("unknown type \"", name, "\"; choose one of Q4_K_M, Q4_0, Q8_0, BF16, F16, F32"));
}

const char* gguf_mix_name(GgufMix mix) {
    switch (mix) {
        case GgufMix::F32: return "F32";
        case GgufMix::F16: return "F16";
        case GgufMix::BF16: return "BF16";
        case GgufMix::Q8_0: return "Q8_0";
        case GgufMix::Q4_0: return "Q4_0";
        case GgufMix::Q4_K_M: return "Q4_K_M";
    }
    return "?";
}

namespace {

// rows(r, n, out) writes rows [r, r + n') of one GGUF tensor as float into out[n'][row_len]
// (1 <= n' <= n) and returns n'. Called from several threads at once, for disjoint rows.
using TensorRows = std::function<int64_t(int64_t r, int64_t n, float* out)>;
// The rows of tensor t (called once per tensor, on the calling thread; may throw).
using RowSource = std::function<TensorRows(const Llama4TensorName& t, int64_t n_rows)>;

// Writes the file: llama.cpp's keys and scout's, the tokenizer, then every tensor of the config
// quantized from its rows.
void write_llama4_gguf(const ModelConfig& config, const LayerPlan& plan, const RowSource& source,
                       const std::filesystem::path& out, const GgufExportOptions& options,
                       const std::function<void(uint64_t, uint64_t)>& progress) {
    const TextConfig& c = config.text;
    io::GgufWriter gw(out);
    gw.add_string("general.architecture", "llama4");
    gw.add_string("general.name", options.name);
    gw.add_u32("general.file_type", file_type(options.mix));
    gw.add_u32("general.quantization_version", 2);
    const std::string p = "llama4.";
    gw.add_u32(p + "block_count", static_cast<uint32_t>(c.num_hidden_layers));
    gw.add_u32(p + "context_length", static_cast<uint32_t>(std::min<int64_t>(c.max_position_embeddings, UINT32_MAX)));
    gw.add_u32(p + "embedding_length", static_cast<uint32_t>(c.hidden_size));
    gw.add_u32(p + "feed_forward_length", static_cast<uint32_t>(c.intermediate_size_mlp));
    gw.add_u32(p + "expert_feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
    gw.add_u32(p + "expert_count", static_cast<uint32_t>(c.num_local_experts));
    gw.add_u32(p + "expert_used_count", static_cast<uint32_t>(c.num_experts_per_tok));
    gw.add_u32(p + "interleave_moe_layer_step", static_cast<uint32_t>(c.interleave_moe_layer_step));
    gw.add_u32(p + "attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
    gw.add_u32(p + "attention.head_count_kv", static_cast<uint32_t>(c.num_key_value_heads));
    gw.add_u32(p + "attention.key_length", static_cast<uint32_t>(c.head_dim));
    gw.add_u32(p + "attention.value_length", static_cast<uint32_t>(c.head_dim));
    gw.add_f32(p + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    gw.add_f32(p + "rope.freq_base", static_cast<float>(c.rope_theta));
    gw.add_u32(p + "rope.dimension_count", static_cast<uint32_t>(c.head_dim));
    gw.add_u32(p + "vocab_size", static_cast<uint32_t>(c.vocab_size));
    // scout's keys: the rules llama.cpp hard-codes, stated explicitly (see the header).
    const std::string sp = "scout.llama4.";
    gw.add_u32(sp + "attention_chunk_size", static_cast<uint32_t>(plan.chunk_size));
    std::vector<int32_t> rope_layers, moe_layers;
    for (std::size_t il = 0; il < plan.layers.size(); ++il) {
        rope_layers.push_back(plan.layers[il].rope ? 1 : 0);
        if (plan.layers[il].moe) moe_layers.push_back(static_cast<int32_t>(il));
    }
    gw.add_i32_array(sp + "no_rope_layers", rope_layers);
    gw.add_i32_array(sp + "moe_layers", moe_layers);
    gw.add_bool(sp + "use_qk_norm", c.use_qk_norm);
    gw.add_bool(sp + "attn_temperature_tuning", c.attn_temperature_tuning);
    gw.add_f32(sp + "floor_scale", static_cast<float>(c.floor_scale));
    gw.add_f32(sp + "attn_scale", static_cast<float>(c.attn_scale));
    if (options.tokenizer != nullptr) add_gguf_tokenizer(gw, *options.tokenizer, c.vocab_size);
    if (config.bos_token_id >= 0) gw.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(config.bos_token_id));
    if (!config.eos_token_ids.empty())
        gw.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(config.eos_token_ids.front()));
    if (config.pad_token_id >= 0) gw.add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(config.pad_token_id));
    if (options.tokenizer != nullptr) {
        // llama.cpp ends generation at the eos id plus the eot/eom ids, and does not find <|eot|> or
        // <|eom|> by name; Instruct's eos list [200001, 200007, 200008] needs all three.
        for (const int32_t id : config.eos_token_ids) {
            if (!options.tokenizer->is_special(id)) continue;
            const std::string_view name = options.tokenizer->token_bytes(id);
            if (name == "<|eot|>") gw.add_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(id));
            if (name == "<|eom|>") gw.add_u32("tokenizer.ggml.eom_token_id", static_cast<uint32_t>(id));
        }
    }

    // Declare every tensor, then stream them in the same order.
    struct Job {
        Llama4TensorName name;
        DType type;
        int64_t layer;
    };
    std::vector<Job> jobs;
    for (Llama4TensorName& t : llama4_tensor_names(c)) {
        int64_t il = -1;
        if (t.gguf.rfind("blk.", 0) == 0) il = std::stoll(t.gguf.substr(4));
        const DType type = pick_type(options.mix, t.gguf, il, c.num_hidden_layers, t.shape.back());
        gw.add_tensor_info(t.gguf, type, t.shape);
        jobs.push_back({std::move(t), type, il});
    }
    // Bytes of tensor data in the file, for progress.
    uint64_t total_bytes = 0, done_bytes = 0;
    for (const Job& job : jobs) {
        int64_t n_rows = 1;
        for (std::size_t i = 0; i + 1 < job.name.shape.size(); ++i) n_rows *= job.name.shape[i];
        total_bytes += quant::row_size(job.type, job.name.shape.back()) * static_cast<uint64_t>(n_rows);
    }
    ThreadPool pool(options.threads);
    std::vector<float> row;
    std::vector<uint8_t> bytes;
    for (const Job& job : jobs) {
        const Llama4TensorName& t = job.name;
        const int64_t row_len = t.shape.back();
        int64_t n_rows = 1;
        for (std::size_t i = 0; i + 1 < t.shape.size(); ++i) n_rows *= t.shape[i];
        const std::size_t row_bytes = quant::row_size(job.type, row_len);
        bytes.resize(row_bytes * static_cast<std::size_t>(n_rows));
        if (t.source == GgufTensorSource::Generated) {  // rope_freqs: llama3 divisors (1 when unscaled)
            row.resize(static_cast<std::size_t>(row_len));
            TextConfig base = c;
            base.rope_scaling = RopeScaling{};
            const std::vector<float> b = rope_inv_freq(base), s = rope_inv_freq(c);
            for (int64_t j = 0; j < row_len; ++j) row[static_cast<std::size_t>(j)] = b[static_cast<std::size_t>(j)] / s[static_cast<std::size_t>(j)];
            quant::quantize_row(job.type, row.data(), bytes.data(), row_len);
        } else {
            const TensorRows rows = source(t, n_rows);
            // Slabs of rows, each split across the pool's threads (rows are independent), so that
            // progress moves within the large tensors (token_embd, output, the experts).
            const int64_t slab_rows = std::max<int64_t>(kTileRows, (int64_t{32} << 20) / row_len / kTileRows * kTileRows);
            for (int64_t r0 = 0; r0 < n_rows; r0 += slab_rows) {
                const int64_t r1 = std::min(n_rows, r0 + slab_rows);
                pool.parallel_for_grain(r1 - r0, kTileRows, [&](int64_t b, int64_t e, int) {
                    std::vector<float> tile(static_cast<std::size_t>(kTileRows * row_len));
                    for (int64_t r = r0 + b; r < r0 + e;) {
                        const int64_t n = rows(r, std::min<int64_t>(kTileRows, r0 + e - r), tile.data());
                        for (int64_t k = 0; k < n; ++k)
                            quant::quantize_row(job.type, tile.data() + k * row_len,
                                                bytes.data() + static_cast<std::size_t>(r + k) * row_bytes, row_len);
                        r += n;
                    }
                });
                done_bytes += static_cast<uint64_t>(r1 - r0) * row_bytes;
                if (progress) progress(done_bytes, total_bytes);
            }
        }
        gw.write_tensor_data(t.gguf, bytes);
        if (t.source == GgufTensorSource::Generated) {
            done_bytes += bytes.size();
            if (progress) progress(done_bytes, total_bytes);
        }
    }
    gw.finish();
}

// A counter-based generator: the value of (seed, tensor, element) alone, so a file does not
// depend on the thread count or on the order rows are made in.
uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

void export_llama4_gguf(const io::HfCheckpoint& ckpt, const ModelConfig& config, const LayerPlan& plan,
                        const TextWeights& w, const std::filesystem::path& out, const GgufExportOptions& options,
                        const std::function<void(uint64_t, uint64_t)>& progress) {
    const std::string hf_prefix = w.prefix == "model." ? "" : "language_model.";
    const RowSource from_checkpoint = [&](const Llama4TensorName& t, int64_t n_rows) -> TensorRows {
        const std::string hf_name = hf_prefix + t.hf;  // "language_model." for the multimodal layout
        const TensorView* src = ckpt.find(hf_name);
        check(src != nullptr, cat("checkpoint lacks ", hf_name, " needed for ", t.gguf));
        check(!dtype_is_quantized(src->dtype), cat("cannot convert quantized tensor ", src->name));
        const bool half = t.source == GgufTensorSource::ExpertsGateHalf || t.source == GgufTensorSource::ExpertsUpHalf;
        const int64_t want = (half ? 2 : 1) * n_rows * t.shape.back();  // gate_up holds both halves
        check(src->numel() == want, cat(src->name, " has ", src->numel(), " elements, ", t.gguf, " needs ", want));
        return [src, &t](int64_t r, int64_t n, float* rows) { return gather_rows(*src, t, r, n, rows); };
    };
    write_llama4_gguf(config, plan, from_checkpoint, out, options, progress);
}

void write_random_llama4_gguf(const ModelConfig& config, const LayerPlan& plan, uint64_t seed,
                              const std::filesystem::path& out, const GgufExportOptions& options,
                              const std::function<void(uint64_t, uint64_t)>& progress) {
    const RowSource random = [seed](const Llama4TensorName& t, int64_t) -> TensorRows {
        const int64_t row_len = t.shape.back();
        // Norm weights near 1 (as trained models have them); everything else uniform in ±0.05,
        // small enough that activations stay finite through any number of layers.
        const bool norm = t.gguf.find("norm") != std::string::npos;
        uint64_t name_hash = 14695981039346656037ull;  // FNV-1a: the same on every platform
        for (const char ch : t.gguf) name_hash = (name_hash ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
        const uint64_t tensor_key = mix64(seed ^ name_hash);
        return [=](int64_t r, int64_t n, float* rows) {
            for (int64_t k = 0; k < n; ++k) {
                uint64_t state = mix64(tensor_key + static_cast<uint64_t>(r + k));
                for (int64_t j = 0; j < row_len; ++j) {
                    state = mix64(state);
                    const float u = static_cast<float>(state >> 40) * (1.0f / 16777216.0f) - 0.5f;  // [-0.5, 0.5)
                    rows[k * row_len + j] = norm ? 1.0f + 0.2f * u : 0.1f * u;
                }
            }
            return n;
        };
    };
    write_llama4_gguf(config, plan, random, out, options, progress);
}

}  // namespace scout::model
