// The image processor's settings for a checkpoint: its preprocessor_config.json when present,
// else from the vision config, as transformers does (tile = vision_config.image_size, 16 tiles).
// Only the settings that Llama 4 checkpoints ship are reproduced exactly; any other value of a
// setting is refused with an error naming the key rather than silently processed differently.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "vision/image_processor.hpp"
#include "vision/vision_config.hpp"

namespace scout::vision {

ImageProcessorOptions parse_processor_options(const nlohmann::json& preprocessor_config, const VisionConfig& vision);
// Reads checkpoint_dir/preprocessor_config.json when it exists.
ImageProcessorOptions read_processor_options(const std::filesystem::path& checkpoint_dir, const VisionConfig& vision);

}  // namespace scout::vision
