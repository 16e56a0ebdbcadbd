// Image files given on the command line (--image), through the model's vision tower: the rows
// that replace the image tokens and each image's tile grid (for its token block).
#pragma once

#include <string>
#include <vector>

#include "engine/model.hpp"
#include "image/decode.hpp"
#include "text/image_layout.hpp"
#include "text/tokenizer.hpp"
#include "vision/vision_tower.hpp"

namespace scout::apps {

struct EncodedImages {
    std::vector<text::TileLayout> layouts;  // per image
    int64_t tokens_per_tile = 0;
    int64_t image_tokens = 0;               // rows in `rows`
    std::vector<float> rows;                // [image_tokens, text hidden], all images in order
};

// The vision tower: from `mmproj` (llama.cpp's Llama 4 mmproj GGUF) when not empty, else from
// `model`'s own multimodal Hugging Face checkpoint. Throws scout::Error saying what is missing or
// when the tower's output width is not the text model's hidden size.
// max_tiles > 0 replaces the processor's tile limit (HF's max_patches).
vision::VisionTower load_vision_tower_of(const engine::Model& model, const std::string& mmproj, int max_tiles);

// A model read with an mmproj file but without an image token of its own (GGUF files carry no
// image_token_index) takes Llama 4's <|patch|>, after checking that its tokenizer (when given)
// has <|patch|> at that id.
void adopt_mmproj_image_token(engine::Model& model, const text::Tokenizer* tokenizer);

// Encodes every file on `threads` threads (0: all cores, as --threads), saying on stderr what each
// became. Throws scout::Error naming the file.
EncodedImages encode_image_files(const vision::VisionTower& tower, const std::vector<std::string>& files, int threads);
// Both of the above.
EncodedImages encode_image_files(const engine::Model& model, const std::string& mmproj, int max_tiles,
                                 const std::vector<std::string>& files, int threads);

}  // namespace scout::apps
