// Internal: one decoder per format, each throwing scout::Error on bad data.
#pragma once

#include "image/decode.hpp"

namespace scout::image_detail {

RgbImage decode_jpeg(std::span<const uint8_t> bytes);
RgbImage decode_png(std::span<const uint8_t> bytes);
RgbImage decode_bmp(std::span<const uint8_t> bytes);
RgbImage decode_webp(std::span<const uint8_t> bytes);
RgbImage decode_gif(std::span<const uint8_t> bytes);

// Throws unless width x height is positive and within kMaxImagePixels.
void check_size(const char* format, int64_t width, int64_t height);

}  // namespace scout::image_detail
