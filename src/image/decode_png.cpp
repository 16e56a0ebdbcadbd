// PNG via libpng, transformed to what Pillow's convert("RGB") gives: palette -> RGB, gray copied to
// R=G=B, low bit depths scaled to 0..255, 16-bit RGB(A) reduced to the high byte (Pillow's "RGB;16B"
// raw mode), no gamma applied. 16-bit grayscale (no alpha) opens in Pillow as mode I;16 whose RGB
// conversion clips the value at 255. Transparency (an alpha channel, or a tRNS chunk, which marks
// palette entries or one gray/RGB value) goes to the separate alpha plane, as Pillow's
// convert("RGBA") would give it; 16-bit grayscale keeps no alpha.
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout::image_detail {
namespace {

struct Reader {
    std::span<const uint8_t> bytes;
    size_t pos = 0;
    char message[256] = "";
};

void on_error(png_structp png, png_const_charp msg) {
    auto* r = static_cast<Reader*>(png_get_error_ptr(png));
    std::strncpy(r->message, msg, sizeof r->message - 1);
    png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, png_size_t n) {
    auto* r = static_cast<Reader*>(png_get_io_ptr(png));
    if (r->bytes.size() - r->pos < n) png_error(png, "unexpected end of data (truncated file)");
    std::memcpy(out, r->bytes.data() + r->pos, n);
    r->pos += n;
}

struct Png {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~Png() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

}  // namespace

RgbImage decode_png(std::span<const uint8_t> bytes) {
    Reader r{bytes};
    Png p;
    p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!p.png) throw Error("PNG: cannot create decoder");
    p.info = png_create_info_struct(p.png);
    if (!p.info) throw Error("PNG: cannot create decoder");
    RgbImage img;
    std::vector<uint8_t> raw;
    std::vector<png_bytep> rows;
    if (setjmp(png_jmpbuf(p.png))) throw Error(cat("PNG: corrupt or truncated data: ", r.message));
    png_set_read_fn(p.png, &r, on_read);
    png_set_user_limits(p.png, 0x7fffffff, 0x7fffffff);
    png_read_info(p.png, p.info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(p.png, p.info, &w, &h, &depth, &color, &interlace, nullptr, nullptr);
    check_size("PNG", w, h);
    const bool gray16 = depth == 16 && color == PNG_COLOR_TYPE_GRAY;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p.png);
    if (depth < 8 && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA))
        png_set_expand_gray_1_2_4_to_8(p.png);
    if (!gray16 && png_get_valid(p.png, p.info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(p.png);
    if (depth == 16 && !gray16) png_set_strip_16(p.png);
    if (depth == 16 && gray16) png_set_swap(p.png);  // little-endian 16-bit values, clipped below
    png_set_interlace_handling(p.png);
    png_read_update_info(p.png, p.info);
    const size_t rowbytes = png_get_rowbytes(p.png, p.info);
    const int channels = png_get_channels(p.png, p.info);
    raw.resize(rowbytes * h);
    rows.resize(h);
    for (png_uint_32 y = 0; y < h; ++y) rows[y] = raw.data() + y * rowbytes;
    png_read_image(p.png, rows.data());
    png_read_end(p.png, nullptr);
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.rgb.resize(size_t(w) * h * 3);
    const bool has_alpha = !gray16 && (channels == 2 || channels == 4);
    if (has_alpha) img.alpha.resize(size_t(w) * h);
    for (png_uint_32 y = 0; y < h; ++y) {
        const uint8_t* in = rows[y];
        uint8_t* out = img.rgb.data() + size_t(y) * w * 3;
        for (png_uint_32 x = 0; x < w; ++x) {
            if (gray16) {
                const unsigned v = in[2 * x] | (unsigned(in[2 * x + 1]) << 8);
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = static_cast<uint8_t>(v > 255 ? 255 : v);
            } else if (channels <= 2) {  // gray, or gray + alpha
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[size_t(channels) * x];
            } else {  // RGB or RGBA
                std::memcpy(out + 3 * x, in + size_t(channels) * x, 3);
            }
            if (has_alpha) img.alpha[size_t(y) * w + x] = in[size_t(channels) * x + channels - 1];
        }
    }
    return img;
}

}  // namespace scout::image_detail
