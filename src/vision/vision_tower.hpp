// An image in, the rows that replace its <|patch|> token embeddings out: processor, encoder,
// adapter and projector for one checkpoint (llama4-spec.md §4). Loaded once per model.
#pragma once

#include <vector>

#include "base/thread_pool.hpp"
#include "image/decode.hpp"
#include "io/hf_checkpoint.hpp"
#include "text/image_layout.hpp"
#include "vision/image_processor.hpp"
#include "vision/vision_config.hpp"
#include "vision/vision_weights.hpp"

namespace scout::vision {

struct VisionTower {
    VisionConfig config;
    ImageProcessorOptions processor;
    VisionWeights weights;
};

// From a Hugging Face Llama4ForConditionalGeneration checkpoint: config.json's vision_config,
// preprocessor_config.json (when present) and the vision_model.* / multi_modal_projector.*
// weights. Throws scout::Error saying what is missing for a text-only checkpoint.
VisionTower load_vision_tower(const io::HfCheckpoint& checkpoint, const nlohmann::json& vision_config,
                              int64_t text_hidden_size);

struct EncodedImage {
    text::TileLayout layout;   // the tile grid: the prompt's block for this image is text::image_tokens(layout)
    int num_tiles = 0;         // grid tiles + the global view
    std::vector<float> rows;   // [num_tiles * tokens_per_tile, text hidden], in <|patch|> order
};

// Runs the encoder on the CPU kernels (vision/encoder_cpu.hpp) with the pool's threads.
EncodedImage encode_image(const VisionTower& tower, const RgbImage& image, ThreadPool& pool);

}  // namespace scout::vision
