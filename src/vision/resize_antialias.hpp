// Antialiased bilinear resize of 8-bit RGB, bit-exact with PyTorch's uint8 path
// (torch.nn.functional.interpolate(mode="bilinear", antialias=True) on a uint8 tensor, which
// torchvision's resize takes on x86 with AVX2/AVX-512 and on arm64 — where the HF Llama 4
// processor runs). That path is a port of Pillow-SIMD's resampler: per-axis filter weights in
// double, normalised, quantised to int16 with the most precision that fits, then an integer
// multiply-add with rounding; horizontal pass first, then vertical, each rounded to 8 bits.
#pragma once

#include <cstdint>
#include <vector>

#include "image/decode.hpp"

namespace scout::vision {

// The weights one output pixel along one axis reads: input positions first..first+count-1.
struct ResampleTaps {
    int precision = 0;              // weights are fixed point with this many fractional bits
    int taps_per_output = 0;        // stride of `weights`
    std::vector<int> first;         // [out]
    std::vector<int> count;         // [out]
    std::vector<int16_t> weights;   // [out, taps_per_output]
};

// Bilinear (triangle) filter taps for resizing in_size samples to out_size, widened by the
// scale when shrinking (the antialias), exactly as PyTorch computes them.
ResampleTaps bilinear_antialias_taps(int in_size, int out_size);

// Resizes to new_width x new_height (both > 0). A side that keeps its size is not resampled.
RgbImage resize_bilinear_antialias(const RgbImage& image, int new_width, int new_height);

}  // namespace scout::vision
