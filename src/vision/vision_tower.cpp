#include "vision/vision_tower.hpp"

#include "base/error.hpp"
#include "vision/encoder_cpu.hpp"
#include "vision/processor_config.hpp"

namespace scout::vision {

VisionTower load_vision_tower(const io::HfCheckpoint& ck, const nlohmann::json& vision_config, int64_t text_hidden_size) {
    if (vision_config.is_null())
        throw Error(cat(ck.dir().string(), " is a text-only checkpoint (config.json has no vision_config): images need "
                        "a Llama4ForConditionalGeneration checkpoint such as meta-llama/Llama-4-Scout-17B-16E-Instruct"));
    VisionTower t;
    t.config = parse_vision_config(vision_config, text_hidden_size);
    t.processor = read_processor_options(ck.dir(), t.config);
    t.weights = load_vision_weights(ck, t.config);
    return t;
}

EncodedImage encode_image(const VisionTower& tower, const RgbImage& image, ThreadPool& pool) {
    const PixelTiles tiles = preprocess_image(image, tower.processor);
    EncodedImage out;
    out.layout = tiles.layout;
    out.num_tiles = tiles.num_tiles;
    out.rows = project_features(tower.config, tower.weights,
                                encode_tiles(tower.config, tower.weights, tiles.pixels, tiles.num_tiles, pool), pool);
    return out;
}

}  // namespace scout::vision
