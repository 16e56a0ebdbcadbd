#include "fixture.hpp"

#include <algorithm>

#include "io/hf_checkpoint.hpp"
#include "test_util.hpp"

namespace scout::test {

std::vector<std::string> fixture_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(data_dir() / "models")) {
        const std::filesystem::path cases = entry.path() / "reference" / "cases.json";
        if (!std::filesystem::exists(cases)) continue;
        const auto j = io::read_json_file(cases);
        if (j.contains("logits") && !j["logits"].empty()) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

Fixture load_fixture(const std::string& name) {
    Fixture f;
    f.name = name;
    f.dir = data_dir() / "models" / name;
    const auto j = io::read_json_file(f.dir / "reference" / "cases.json");
    f.weights_dtype = j.value("weights_dtype", "float32");
    for (const auto& c : j.value("logits", nlohmann::json::array())) {
        LogitsCase lc;
        lc.tokens = c["tokens"].get<std::vector<int32_t>>();
        lc.file = c["file"].get<std::string>();
        lc.compute_dtype = c.value("compute_dtype", "float32");
        lc.has_pixels = c.contains("pixel_values");
        if (lc.has_pixels) {
            lc.pixel_values = c["pixel_values"].get<std::string>();
            lc.vision_adapter_out = c.value("vision_adapter_out", "");
            lc.image_features = c.value("image_features", "");
        }
        f.logits.push_back(std::move(lc));
    }
    if (j.contains("greedy"))
        for (const auto& g : j["greedy"])
            f.greedy.push_back({g["prompt"].get<std::vector<int32_t>>(), g["output"].get<std::vector<int32_t>>()});
    if (j.contains("long_logits"))
        for (const auto& c : j["long_logits"])
            f.long_logits.push_back({c["tokens"].get<std::vector<int32_t>>(), c["positions"].get<std::vector<int64_t>>(),
                                     c["file"].get<std::string>(), c.value("compute_dtype", "float32")});
    return f;
}

}  // namespace scout::test
