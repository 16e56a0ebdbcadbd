// llama.cpp's multimodal projector file for Llama 4: the GGUF that `llama-mtmd-cli --mmproj`
// takes (general.architecture "clip", clip.projector_type "llama4"), as llama.cpp's
// convert_hf_to_gguf.py --mmproj writes it from a Hugging Face checkpoint. It holds the vision
// tower, adapter and projector under llama.cpp's names (v.*, mm.*) and the tower's shape as
// clip.vision.* keys; docs/images.md lists the mapping.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "io/gguf.hpp"
#include "vision/vision_tower.hpp"

namespace scout::vision {

// True for a GGUF whose clip.projector_type is "llama4".
bool is_llama4_mmproj(const io::GgufFile& file);

// The mmproj name of a vision tensor given by its Hugging Face name
// ("vision_model.model.layers.3.mlp.fc1.weight" -> "v.blk.3.ffn_up.weight"). Throws for a name
// outside the vision tower and projector.
std::string mmproj_tensor_name(std::string_view hf_name);

// Reads the tower from an mmproj file: its config from the clip.vision.* keys (checked as a
// config.json's vision_config is), the processor's tile size from clip.vision.image_size, and the
// weights widened to float32. Throws scout::Error naming the file and what is wrong (another
// projector type, a missing key or tensor, a shape the keys contradict).
VisionTower load_vision_tower_mmproj(const std::filesystem::path& path);

}  // namespace scout::vision
