#include "apps/image_input.hpp"

#include <iostream>

#include "base/error.hpp"

namespace scout::apps {

vision::VisionTower load_vision_tower_of(const engine::Model& model) {
    if (!model.hf)
        throw Error("images need a Hugging Face checkpoint directory with the vision weights (vision_model.*); "
                    "GGUF mmproj files are not read yet");
    return vision::load_vision_tower(*model.hf, model.config.vision_config, model.config.text.hidden_size);
}

EncodedImages encode_image_files(const engine::Model& model, const std::vector<std::string>& files, int threads) {
    return encode_image_files(load_vision_tower_of(model), files, threads);
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
