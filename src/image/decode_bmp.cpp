// Own reader for the common BMP cases: uncompressed (BI_RGB) 24- and 32-bit and 8-bit palette,
// bottom-up or top-down. Anything else (RLE, bitfields, 1/4/16-bit) is a clear error.
// 32-bit BI_RGB: Pillow reads it as BGRX (the fourth byte ignored), as we do.
#include <cstring>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout::image_detail {
namespace {

uint32_t u32(std::span<const uint8_t> b, size_t at) {
    return b[at] | (uint32_t(b[at + 1]) << 8) | (uint32_t(b[at + 2]) << 16) | (uint32_t(b[at + 3]) << 24);
}
uint16_t u16(std::span<const uint8_t> b, size_t at) { return uint16_t(b[at] | (b[at + 1] << 8)); }

}  // namespace

RgbImage decode_bmp(std::span<const uint8_t> b) {
    if (b.size() < 14 + 40) throw Error("BMP: truncated header");
    const uint32_t data_offset = u32(b, 10);
    const uint32_t header_size = u32(b, 14);
    if (header_size < 40 || 14 + size_t(header_size) > b.size())
        throw Error(cat("BMP: unsupported or truncated info header (size ", header_size, ")"));
    const int64_t w = static_cast<int32_t>(u32(b, 18));
    const int64_t h_signed = static_cast<int32_t>(u32(b, 22));
    const int bpp = u16(b, 28);
    const uint32_t compression = u32(b, 30);
    uint32_t n_colors = u32(b, 46);
    const bool top_down = h_signed < 0;
    const int64_t h = top_down ? -h_signed : h_signed;
    check_size("BMP", w, h);
    if (compression != 0)
        throw Error(cat("BMP: compression type ", compression, " is not supported (only uncompressed)"));
    if (bpp != 24 && bpp != 32 && bpp != 8)
        throw Error(cat("BMP: ", bpp, "-bit images are not supported (only 8, 24, 32)"));
    std::vector<uint8_t> palette;  // [n, 3] RGB
    if (bpp == 8) {
        if (n_colors == 0 || n_colors > 256) n_colors = 256;
        const size_t pal_at = 14 + size_t(header_size);
        if (pal_at + 4 * size_t(n_colors) > b.size()) throw Error("BMP: truncated palette");
        palette.assign(256 * 3, 0);
        for (uint32_t i = 0; i < n_colors; ++i) {
            palette[3 * i] = b[pal_at + 4 * i + 2];
            palette[3 * i + 1] = b[pal_at + 4 * i + 1];
            palette[3 * i + 2] = b[pal_at + 4 * i];
        }
    }
    const size_t stride = ((size_t(w) * bpp + 31) / 32) * 4;
    if (data_offset > b.size() || (b.size() - data_offset) / stride < size_t(h))
        throw Error(cat("BMP: truncated pixel data (need ", stride * h, " bytes at offset ", data_offset,
                        ", file has ", b.size(), ")"));
    RgbImage img;
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.rgb.resize(size_t(w) * h * 3);
    for (int64_t y = 0; y < h; ++y) {
        const uint8_t* in = b.data() + data_offset + stride * size_t(top_down ? y : h - 1 - y);
        uint8_t* out = img.rgb.data() + size_t(y) * w * 3;
        for (int64_t x = 0; x < w; ++x) {
            if (bpp == 8) {
                std::memcpy(out + 3 * x, palette.data() + 3 * size_t(in[x]), 3);
            } else {
                const uint8_t* px = in + x * (bpp / 8);
                out[3 * x] = px[2];
                out[3 * x + 1] = px[1];
                out[3 * x + 2] = px[0];
            }
        }
    }
    return img;
}

}  // namespace scout::image_detail
