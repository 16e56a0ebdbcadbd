#include "text/image_layout.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "text/special_tokens.hpp"

namespace scout::text {

TileLayout choose_tile_layout(int width, int height, const ImageTokenParams& p) {
    check(width > 0 && height > 0, cat("image size ", width, "x", height, " is not positive"));
    // Candidate canvases in the reference order: chunk counts from max down to 1, factor pairs in
    // ascending order, grouped by aspect ratio in order of first appearance. In get_best_fit the
    // first number of a pair is read as the width.
    std::vector<std::pair<double, std::vector<std::pair<int, int>>>> groups;
    for (int n = p.max_chunks; n >= 1; --n) {
        for (int f = 1; f <= n; ++f) {
            if (n % f != 0) continue;
            const double ratio = static_cast<double>(f) / (n / f);
            auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == ratio; });
            if (it == groups.end()) {
                groups.push_back({ratio, {}});
                it = groups.end() - 1;
            }
            it->second.push_back({f, n / f});
        }
    }
    std::vector<std::pair<int, int>> canvases;  // (width factor, height factor)
    for (const auto& g : groups) canvases.insert(canvases.end(), g.second.begin(), g.second.end());

    // Scales in float32, as torch computes them.
    std::vector<float> scales;
    for (const auto& [a, b] : canvases) {
        const float sw = static_cast<float>(a * p.tile_size) / static_cast<float>(width);
        const float sh = static_cast<float>(b * p.tile_size) / static_cast<float>(height);
        scales.push_back(sw > sh ? sh : sw);
    }
    bool any_up = false;
    float best_up = 0, best_down = 0;
    for (float s : scales) {
        if (s >= 1) {
            if (!any_up || s < best_up) best_up = s;
            any_up = true;
        } else if (s > best_down) {
            best_down = s;
        }
    }
    const float chosen = any_up ? best_up : best_down;
    int best = -1;
    for (size_t i = 0; i < canvases.size(); ++i) {
        if (scales[i] != chosen) continue;
        const int area = canvases[i].first * canvases[i].second;
        if (best < 0 || area < canvases[best].first * canvases[best].second) best = static_cast<int>(i);
    }
    return TileLayout{canvases[best].second, canvases[best].first};
}

std::vector<int32_t> image_tokens(TileLayout layout, const ImageTokenParams& p) {
    std::vector<int32_t> t{token::image_start};
    const auto patches = [&] { t.insert(t.end(), static_cast<size_t>(p.patches_per_tile), token::patch); };
    if (layout.rows * layout.cols > 1) {
        for (int r = 0; r < layout.rows; ++r) {
            for (int c = 0; c < layout.cols; ++c) {
                patches();
                if (c < layout.cols - 1) t.push_back(token::tile_x_separator);
            }
            t.push_back(token::tile_y_separator);
        }
    }
    t.push_back(token::image);  // the global tile (the only tile when the grid is 1x1)
    patches();
    t.push_back(token::image_end);
    return t;
}

}  // namespace scout::text
