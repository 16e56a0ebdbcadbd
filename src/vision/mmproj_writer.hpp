// Writes llama.cpp's Llama 4 mmproj GGUF from a Hugging Face checkpoint's vision tower: the
// file `llama-mtmd-cli --mmproj` loads and mmproj_gguf.hpp reads, with the keys, tensor names and
// types llama.cpp's convert_hf_to_gguf.py --mmproj gives it (F16: matrices in F16, norms, biases,
// the class and position embeddings in F32; F32: everything in F32). One difference, on purpose:
// each layer's post_attention_layernorm is written as v.blk.N.ln2, the name llama.cpp's CLIP
// graph reads as the pre-MLP norm (the pinned converter writes attn_post_norm, which that graph
// applies elsewhere: docs/images.md).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "io/hf_checkpoint.hpp"

namespace scout::vision {

enum class MmprojType { F16, F32 };

struct MmprojWriteOptions {
    MmprojType type = MmprojType::F16;
    std::string name;  // general.name
};

// vision_config: config.json's "vision_config"; text_hidden_size: the projector's output width.
// Throws scout::Error naming what is missing or inconsistent (checked as load_vision_tower does).
void write_llama4_mmproj(const io::HfCheckpoint& checkpoint, const nlohmann::json& vision_config, int64_t text_hidden_size,
                         const std::filesystem::path& out, const MmprojWriteOptions& options);

}  // namespace scout::vision
