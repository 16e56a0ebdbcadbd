#include "vision/processor_config.hpp"

#include <cmath>

#include "base/error.hpp"
#include "io/hf_checkpoint.hpp"

namespace scout::vision {
namespace {

[[noreturn]] void unsupported(const std::string& key, const nlohmann::json& value, const char* supported) {
    throw Error(cat("preprocessor_config.json: \"", key, "\" = ", value.dump(), " is not supported (scout reproduces ",
                    supported, ")"));
}

void expect_bool(const nlohmann::json& j, const char* key, bool want) {
    if (j.contains(key) && j[key] != want) unsupported(key, j[key], want ? "true" : "false");
}

void expect_list(const nlohmann::json& j, const char* key, double want) {
    if (!j.contains(key)) return;
    const auto& v = j[key];
    const bool ok = v.is_number() ? v.get<double>() == want
                                  : v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [&](const auto& e) {
                                        return e.is_number() && e.template get<double>() == want;
                                    });
    if (!ok) unsupported(key, v, "0.5 for every channel");
}

}  // namespace

ImageProcessorOptions parse_processor_options(const nlohmann::json& j, const VisionConfig& vision) {
    check(j.is_object(), "preprocessor_config.json must hold a JSON object");
    ImageProcessorOptions o;
    o.tile_size = static_cast<int>(vision.image_size);
    if (j.contains("size")) {
        const auto& s = j["size"];
        if (!s.is_object() || !s.contains("height") || !s.contains("width") || !s["height"].is_number_integer() ||
            s["height"] != s["width"])
            unsupported("size", s, "square sizes {\"height\": N, \"width\": N}");
        o.tile_size = s["height"].get<int>();
    }
    if (o.tile_size != vision.image_size)
        throw Error(cat("preprocessor_config.json: tile size ", o.tile_size, " differs from vision_config.image_size ",
                        vision.image_size, " (the encoder's position table is for tiles of that size)"));
    if (j.contains("max_patches")) {
        if (!j["max_patches"].is_number_integer() || j["max_patches"].get<int>() < 1)
            unsupported("max_patches", j["max_patches"], "a positive number of tiles");
        o.max_tiles = j["max_patches"].get<int>();
    }
    expect_bool(j, "resize_to_max_canvas", false);
    expect_bool(j, "do_resize", true);
    expect_bool(j, "do_rescale", true);
    expect_bool(j, "do_normalize", true);
    expect_bool(j, "do_convert_rgb", true);
    expect_list(j, "image_mean", 0.5);
    expect_list(j, "image_std", 0.5);
    if (j.contains("rescale_factor") &&
        (!j["rescale_factor"].is_number() || std::abs(j["rescale_factor"].get<double>() - 1.0 / 255) > 1e-12))
        unsupported("rescale_factor", j["rescale_factor"], "1/255");
    if (j.contains("resample") && j["resample"] != 2) unsupported("resample", j["resample"], "2 (bilinear)");
    return o;
}

ImageProcessorOptions read_processor_options(const std::filesystem::path& dir, const VisionConfig& vision) {
    const auto file = dir / "preprocessor_config.json";
    if (!std::filesystem::exists(file)) {
        ImageProcessorOptions o;
        o.tile_size = static_cast<int>(vision.image_size);
        return o;
    }
    return parse_processor_options(io::read_json_file(file), vision);
}

}  // namespace scout::vision
