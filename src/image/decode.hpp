// Image decoding to 8-bit RGB, matching Pillow's Image.open(f).convert("RGB") byte for byte
// (the HF Llama 4 processor opens images that way). Thin wrapper over libjpeg-turbo, libpng,
// giflib and libwebp, plus an own reader for uncompressed BMP. See docs/images.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace scout {

struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;    // [height, width, 3], as Pillow's convert("RGB") gives (alpha ignored)
    std::vector<uint8_t> alpha;  // [height, width] when the file has transparency (an alpha channel,
                                 // a PNG tRNS chunk, a GIF transparent index); empty otherwise
};

// Images with more pixels than this are refused before any pixel memory is allocated.
inline constexpr int64_t kMaxImagePixels = int64_t{64} * 1024 * 1024;

// Decodes JPEG, PNG, GIF (first frame), BMP or WebP bytes (format from the magic bytes). Throws scout::Error naming the
// format and the problem for unknown, truncated, corrupt or oversized data.
RgbImage decode_image(std::span<const uint8_t> bytes);
RgbImage load_image(const std::filesystem::path& path);

}  // namespace scout
