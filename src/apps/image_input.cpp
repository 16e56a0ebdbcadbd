#include "apps/image_input.hpp"

#include <iostream>

#include "base/error.hpp"
#include "text/special_tokens.hpp"
#include "vision/mmproj_gguf.hpp"
#include "vision/processor_config.hpp"

namespace scout::apps {

namespace {
vision::VisionTower load_tower(const engine::Model& model, const std::string& mmproj) {
    if (mmproj.empty()) {
        if (!model.hf)
            throw Error("pictures with a GGUF model need its vision tower: give llama.cpp's mmproj file for it with --mmproj "
                        "(convert_hf_to_gguf.py --mmproj writes one from the Hugging Face checkpoint)");
        return vision::load_vision_tower(*model.hf, model.config.vision_config, model.config.text.hidden_size);
    }
    vision::VisionTower tower = vision::load_vision_tower_mmproj(mmproj);
    if (tower.config.text_hidden_size != model.config.text.hidden_size)
        throw Error(cat(mmproj, " projects pictures to ", tower.config.text_hidden_size, " values per token, but the model's hidden size is ",
                        model.config.text.hidden_size, ": it is the mmproj file of another model"));
    // The checkpoint's own preprocessor_config.json, when there is one, sets the tile limit.
    if (model.hf) tower.processor = vision::read_processor_options(model.hf->dir(), tower.config);
    return tower;
}
}  // namespace

vision::VisionTower load_vision_tower_of(const engine::Model& model, const std::string& mmproj, int max_tiles) {
    vision::VisionTower tower = load_tower(model, mmproj);
    if (max_tiles > 0) tower.processor.max_tiles = max_tiles;
    return tower;
}

void adopt_mmproj_image_token(engine::Model& model, const text::Tokenizer* tokenizer) {
    if (model.config.image_token_index >= 0) return;
    if (tokenizer) {
        const std::optional<int32_t> patch = tokenizer->special_id("<|patch|>");
        if (patch != text::token::patch)
            throw Error(cat("the tokenizer has no <|patch|> token at id ", text::token::patch,
                            ": it is not Llama 4's, so scout cannot lay out image tokens for it"));
    }
    model.config.image_token_index = text::token::patch;
}

EncodedImages encode_image_files(const engine::Model& model, const std::string& mmproj, int max_tiles,
                                 const std::vector<std::string>& files, int threads) {
    return encode_image_files(load_vision_tower_of(model, mmproj, max_tiles), files, threads);
}

EncodedImages encode_image_files(const vision::VisionTower& tower, const std::vector<std::string>& files, int threads) {
    ThreadPool pool(threads);
    EncodedImages out;
    out.tokens_per_tile = tower.config.tokens_per_tile();
    for (const auto& file : files) {
        const RgbImage image = load_image(file);  // its errors name the file
        const vision::EncodedImage e = vision::encode_image(tower, image, pool);
        const int64_t tokens = e.num_tiles * out.tokens_per_tile;
        std::cerr << file << ": " << image.width << "x" << image.height << " pixels, " << e.layout.rows << "x"
                  << e.layout.cols << " tiles" << (e.num_tiles > 1 ? " + global view" : "") << ", " << tokens
                  << " image tokens\n";
        out.layouts.push_back(e.layout);
        out.rows.insert(out.rows.end(), e.rows.begin(), e.rows.end());
        out.image_tokens += tokens;
    }
    return out;
}

}  // namespace scout::apps
