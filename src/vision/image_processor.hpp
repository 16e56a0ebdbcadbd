// Image -> pixel tiles for the Llama 4 vision encoder, identical to Hugging Face's
// Llama4ImageProcessor (the torchvision one, formerly Llama4ImageProcessorFast), the processor
// that hub checkpoints are used with (llama4-spec.md §4.1):
//   1. transparency composited over white (Pillow's alpha_composite), greyscale/palette as RGB;
//   2. the tile grid (text::choose_tile_layout: best-fit canvas of up to max_tiles tiles);
//   3. resize without distortion into the canvas (no upscaling past max(side, tile)), antialiased
//      bilinear on 8-bit pixels (resize_antialias.hpp);
//   4. pad right and bottom with black to the canvas;
//   5. rescale and normalise in bf16, as HF does: bf16(bf16(bf16(u * 1/255) - 0.5) / 0.5);
//   6. tiles row-major, then — when there is more than one — the global view: the original image
//      squashed to tile x tile and normalised the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "image/decode.hpp"
#include "text/image_layout.hpp"

namespace scout::vision {

struct ImageProcessorOptions {
    int tile_size = 336;  // preprocessor_config "size" (square)
    int max_tiles = 16;   // preprocessor_config "max_patches"
};

struct PixelTiles {
    text::TileLayout layout;    // the canvas grid (rows x cols of tiles)
    int num_tiles = 0;          // rows*cols, plus the global view when that is > 1
    int tile_size = 0;
    std::vector<float> pixels;  // [num_tiles, 3, tile_size, tile_size], values in [-1, 1] on the bf16 grid
};

PixelTiles preprocess_image(const RgbImage& image, const ImageProcessorOptions& options = {});

// The size (width, height) the image is resized to inside its canvas before padding: the
// reference's upscaling limit and get_max_res_without_distortion, with the same float32/float64
// arithmetic that its mix of tensors and Python numbers gives.
struct ImageSize {
    int width = 0;
    int height = 0;
};
ImageSize size_in_canvas(ImageSize image, text::TileLayout canvas, int tile_size);

// The normalised value of an 8-bit level: (u/255 - 0.5)/0.5 rounded to bf16 at each step.
float normalized_level(uint8_t level);

// The image with transparency composited over opaque white, as Pillow's alpha_composite does
// (HF's convert_to_rgb); an image without alpha is returned as it is.
RgbImage composite_over_white(const RgbImage& image);

}  // namespace scout::vision
