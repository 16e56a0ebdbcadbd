// Image placeholder tokens for the Llama 4 prompt (tokenizer.md §5.4): which tile grid an image
// of a given size gets (VariableSizeImageTransform) and the token block for that grid.
#pragma once

#include <cstdint>
#include <vector>

namespace scout::text {

struct TileLayout {
    int rows = 1;  // ratio_h
    int cols = 1;  // ratio_w
};

struct ImageTokenParams {
    int tile_size = 336;          // vision_args.image_size of Scout and Maverick
    int max_chunks = 16;          // ChatFormat's max_num_chunks
    int patches_per_tile = 144;   // (336/14)^2 / round(1/0.5^2)
};

// The tile grid for an image of width x height pixels (both > 0).
TileLayout choose_tile_layout(int width, int height, const ImageTokenParams& params = {});

// <|image_start|> [tiles with x/y separators] <|image|> <|patch|>*n <|image_end|>;
// 147 tokens for one tile, 147 + 145*rows*cols otherwise.
std::vector<int32_t> image_tokens(TileLayout layout, const ImageTokenParams& params = {});

}  // namespace scout::text
