#include "vision/image_processor.hpp"

#include <array>
#include <cmath>

#include "base/dtype.hpp"
#include "base/error.hpp"
#include "vision/resize_antialias.hpp"

namespace scout::vision {
namespace {

// One side of get_max_res_without_distortion's target box. The reference computes
// min(max(side, tile), canvas_side) with Python's min, which returns the canvas side — a torch
// int64 scalar — only when it is strictly smaller; arithmetic with that scalar runs in float32,
// arithmetic with Python ints in float64. Both cases are kept apart here.
struct TargetSide {
    int value = 0;
    bool is_tensor = false;
};
TargetSide target_side(int side, int tile, int canvas_side) {
    const int limit = std::max(side, tile);
    return canvas_side < limit ? TargetSide{canvas_side, true} : TargetSide{limit, false};
}

// A scale target/side as the reference holds it: float32 when target is a tensor.
struct Scale {
    double value = 0;
    bool f32 = false;
};
Scale scale_of(TargetSide t, int side) {
    if (t.is_tensor) return {static_cast<float>(t.value) / static_cast<float>(side), true};
    return {static_cast<double>(t.value) / side, false};
}

// floor(side * scale), with the product rounded to float32 when the scale is a tensor.
int scaled_floor(int side, Scale s) {
    if (s.f32) return static_cast<int>(std::floor(static_cast<float>(side) * static_cast<float>(s.value)));
    return static_cast<int>(std::floor(side * s.value));
}

// Level -> normalised value for all 256 levels, built once (immutable afterwards).
const std::array<float, 256>& level_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        const float rescale = static_cast<float>(1.0 / 255.0);  // Python's 1/255 as torch's float opmath
        for (int u = 0; u < 256; ++u) {
            const float scaled = round_bf16(static_cast<float>(u) * rescale);
            const float centred = round_bf16(scaled - 0.5f);
            t[u] = round_bf16(centred / 0.5f);
        }
        return t;
    }();
    return table;
}

// Writes an 8-bit [h, w, 3] image, placed at the top left of a grid of `cols` tiles, into tiles
// [n, 3, tile, tile] (tile index row * cols + col); canvas pixels outside it keep the padding value.
void scatter_into_tiles(const RgbImage& img, int cols, int tile, const std::array<float, 256>& level, float* tiles) {
    const size_t plane = size_t(tile) * tile;
    for (int y = 0; y < img.height; ++y) {
        const int tr = y / tile, ty = y % tile;
        const uint8_t* row = img.rgb.data() + size_t(y) * img.width * 3;
        for (int x = 0; x < img.width; ++x) {
            const int tc = x / tile, tx = x % tile;
            float* t = tiles + size_t(tr * cols + tc) * 3 * plane + size_t(ty) * tile + tx;
            for (int c = 0; c < 3; ++c) t[c * plane] = level[row[3 * x + c]];
        }
    }
}

}  // namespace

float normalized_level(uint8_t level) { return level_table()[level]; }

ImageSize size_in_canvas(ImageSize image, text::TileLayout canvas, int tile) {
    const TargetSide th = target_side(image.height, tile, canvas.rows * tile);
    const TargetSide tw = target_side(image.width, tile, canvas.cols * tile);
    const Scale sw = scale_of(tw, image.width);
    const Scale sh = scale_of(th, image.height);
    // A comparison involving a float32 tensor runs in float32.
    const bool width_limits = (sw.f32 || sh.f32) ? static_cast<float>(sw.value) < static_cast<float>(sh.value)
                                                 : sw.value < sh.value;
    ImageSize out;
    if (width_limits) {
        out.width = tw.value;
        out.height = std::min(scaled_floor(image.height, sw), th.value);
    } else {
        out.height = th.value;
        out.width = std::min(scaled_floor(image.width, sh), tw.value);
    }
    out.width = std::max(out.width, 1);
    out.height = std::max(out.height, 1);
    return out;
}

RgbImage composite_over_white(const RgbImage& image) {
    if (image.alpha.empty()) return image;
    check(image.alpha.size() == size_t(image.width) * image.height, "image alpha plane has the wrong size");
    RgbImage out{image.width, image.height, image.rgb, {}};
    // Pillow's AlphaComposite.c with an opaque white destination: coefficients in 7-bit fixed
    // point, division by 255 by shifts; a fully transparent pixel takes the destination.
    constexpr unsigned kBits = 7;
    for (size_t i = 0; i < image.alpha.size(); ++i) {
        const unsigned a = image.alpha[i];
        for (int c = 0; c < 3; ++c) {
            uint8_t& v = out.rgb[3 * i + c];
            if (a == 0) {
                v = 255;
                continue;
            }
            const unsigned coef1 = a * 255 * 255 * (1u << kBits) / (a * 255 + 255 * (255 - a));
            const unsigned coef2 = 255 * (1u << kBits) - coef1;
            const unsigned tmp = v * coef1 + 255 * coef2 + (0x80u << kBits);
            v = static_cast<uint8_t>((((tmp >> 8) + tmp) >> 8) >> kBits);
        }
    }
    return out;
}

PixelTiles preprocess_image(const RgbImage& input, const ImageProcessorOptions& opt) {
    check(opt.tile_size > 0 && opt.max_tiles > 0,
          cat("image processor: tile size ", opt.tile_size, " and max tiles ", opt.max_tiles, " must be positive"));
    check(input.width > 0 && input.height > 0, cat("image of ", input.width, "x", input.height, " pixels is empty"));
    const RgbImage image = composite_over_white(input);
    const int tile = opt.tile_size;
    text::ImageTokenParams params;
    params.tile_size = tile;
    params.max_chunks = opt.max_tiles;
    PixelTiles out;
    out.layout = text::choose_tile_layout(image.width, image.height, params);
    out.tile_size = tile;
    const int grid = out.layout.rows * out.layout.cols;
    out.num_tiles = grid > 1 ? grid + 1 : 1;
    const size_t tile_floats = size_t(3) * tile * tile;
    const std::array<float, 256>& level = level_table();
    // Padding is black (level 0) before normalisation.
    out.pixels.assign(tile_floats * out.num_tiles, level[0]);

    const ImageSize fit = size_in_canvas({image.width, image.height}, out.layout, tile);
    const RgbImage resized = resize_bilinear_antialias(image, fit.width, fit.height);
    scatter_into_tiles(resized, out.layout.cols, tile, level, out.pixels.data());
    if (grid > 1) {
        const RgbImage global = resize_bilinear_antialias(image, tile, tile);
        scatter_into_tiles(global, 1, tile, level, out.pixels.data() + tile_floats * grid);
    }
    return out;
}

}  // namespace scout::vision
