// Image files given on the command line (--image), through the model's vision tower: the rows
// that replace the image tokens and each image's tile grid (for its token block).
#pragma once

#include <string>
#include <vector>

#include "engine/model.hpp"
#include "text/image_layout.hpp"

namespace scout::apps {

struct EncodedImages {
    std::vector<text::TileLayout> layouts;  // per image
    int64_t tokens_per_tile = 0;
    int64_t image_tokens = 0;               // rows in `rows`
    std::vector<float> rows;                // [image_tokens, text hidden], all images in order
};

// Loads the vision tower of `model` (a multimodal Hugging Face checkpoint) and encodes every file,
// saying on stderr what each became. Throws scout::Error naming the file or what the model lacks.
EncodedImages encode_image_files(const engine::Model& model, const std::vector<std::string>& files);

}  // namespace scout::apps
