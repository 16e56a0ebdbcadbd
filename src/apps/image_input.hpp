// Image files given on the command line (--image), through the model's vision tower: the rows
// that replace the image tokens and each image's tile grid (for its token block).
#pragma once

#include <string>
#include <vector>

#include "engine/model.hpp"
#include "image/decode.hpp"
#include "text/image_layout.hpp"
#include "vision/vision_tower.hpp"

namespace scout::apps {

struct EncodedImages {
    std::vector<text::TileLayout> layouts;  // per image
    int64_t tokens_per_tile = 0;
    int64_t image_tokens = 0;               // rows in `rows`
    std::vector<float> rows;                // [image_tokens, text hidden], all images in order
};

// The vision tower of `model` (a multimodal Hugging Face checkpoint whose image token is Llama 4's
// <|patch|>). Throws scout::Error saying what the model lacks.
vision::VisionTower load_vision_tower_of(const engine::Model& model);

// Encodes every file on `threads` threads (0: all cores, as --threads), saying on stderr what each
// became. Throws scout::Error naming the file.
EncodedImages encode_image_files(const vision::VisionTower& tower, const std::vector<std::string>& files, int threads);
// Both of the above.
EncodedImages encode_image_files(const engine::Model& model, const std::vector<std::string>& files, int threads);

}  // namespace scout::apps
