// Hugging Face checkpoint -> llama.cpp `llama4` GGUF (text part), used by `scout quantize`.
// Tensor names, shapes and transforms follow llama.cpp's converter (gguf_config.hpp,
// peers.md §1.4-1.5): experts are split and transposed, rope_freqs holds the llama3 divisors.
// Besides llama.cpp's keys, the file carries `scout.llama4.*` keys with the values llama.cpp
// hard-codes (chunk size, NoPE layers, temperature, QK norm), so configs other than Scout's
// survive the round trip; llama.cpp ignores them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "model/weights.hpp"

namespace scout::text {
class Tokenizer;
}

namespace scout::model {

// Type mixes: F32, F16, BF16, Q8_0, Q4_0 use one type for every matrix; Q4_K_M is llama.cpp's
// mix (Q4_K, with Q6_K for lm_head and for attn_v / ffn_down in the layers llama.cpp gives
// more bits). Norms, rope_freqs and the router stay F32. A matrix whose rows do not divide
// into the type's blocks falls back to Q8_0, then F16.
enum class GgufMix { F32, F16, BF16, Q8_0, Q4_0, Q4_K_M };
GgufMix parse_gguf_mix(const std::string& name);  // throws scout::Error listing the choices
const char* gguf_mix_name(GgufMix mix);

struct GgufExportOptions {
    GgufMix mix = GgufMix::Q4_K_M;
    std::string name = "Llama 4";
    // When set, the tokenizer.ggml.* vocabulary (gguf_tokenizer.hpp) is written too: llama.cpp
    // cannot load a file without it. scout itself only needs the tensors and keys.
    const text::Tokenizer* tokenizer = nullptr;
    int threads = 0;  // rows are quantized on this many threads (0: all hardware threads)
};

// progress(done_bytes, total_bytes) of the file's tensor data, called on the calling thread.
// The output does not depend on options.threads.
void export_llama4_gguf(const io::HfCheckpoint& ckpt, const ModelConfig& config, const LayerPlan& plan,
                        const TextWeights& weights, const std::filesystem::path& out, const GgufExportOptions& options,
                        const std::function<void(uint64_t, uint64_t)>& progress = {});

// The same file for a config alone, with random weights (deterministic in seed, whatever
// options.threads): the dimensions of any model without its download, for benchmarks
// (`scout demo-model --gguf`), e.g. a few layers at Scout's real dimensions for llama-bench.
void write_random_llama4_gguf(const ModelConfig& config, const LayerPlan& plan, uint64_t seed,
                              const std::filesystem::path& out, const GgufExportOptions& options,
                              const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace scout::model
