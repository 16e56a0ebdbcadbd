// JPEG via libjpeg-turbo, set up as Pillow's JpegDecode does: JDCT_ISLOW, fancy upsampling on,
// libjpeg's own YCbCr->RGB and grayscale output (Pillow's L->RGB copies the gray value);
// CMYK/YCCK as Pillow's Adobe-inverted CMYK then cmyk2rgb.
#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout::image_detail {
namespace {

struct ErrorMgr {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Pillow treats a premature end of data as an error ("image file is truncated"); so do we.
void on_warning(j_common_ptr cinfo, int level) {
    if (level < 0) on_error(cinfo);
}

struct Decompress {
    jpeg_decompress_struct cinfo{};
    ~Decompress() { jpeg_destroy_decompress(&cinfo); }
};

}  // namespace

RgbImage decode_jpeg(std::span<const uint8_t> bytes) {
    Decompress d;
    ErrorMgr err{};
    d.cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_warning;
    RgbImage img;
    std::vector<uint8_t> row;
    // Nothing with a destructor is created between setjmp and a longjmp back to it.
    if (setjmp(err.jump)) throw Error(cat("JPEG: corrupt or truncated data: ", err.message));
    jpeg_create_decompress(&d.cinfo);
    jpeg_mem_src(&d.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&d.cinfo, TRUE);
    check_size("JPEG", d.cinfo.image_width, d.cinfo.image_height);
    const J_COLOR_SPACE in = d.cinfo.jpeg_color_space;
    const bool cmyk = in == JCS_CMYK || in == JCS_YCCK;  // libjpeg turns YCCK into CMYK
    d.cinfo.out_color_space = cmyk ? JCS_CMYK : (in == JCS_GRAYSCALE) ? JCS_GRAYSCALE : JCS_RGB;
    d.cinfo.dct_method = JDCT_ISLOW;
    d.cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&d.cinfo);
    const int w = static_cast<int>(d.cinfo.output_width), h = static_cast<int>(d.cinfo.output_height);
    const int nc = d.cinfo.output_components;
    img.width = w;
    img.height = h;
    img.rgb.resize(size_t(w) * h * 3);
    row.resize(size_t(w) * nc);
    while (d.cinfo.output_scanline < d.cinfo.output_height) {
        const int y = static_cast<int>(d.cinfo.output_scanline);
        JSAMPROW p = row.data();
        jpeg_read_scanlines(&d.cinfo, &p, 1);
        uint8_t* out = img.rgb.data() + size_t(y) * w * 3;
        if (nc == 3) {
            std::copy(row.begin(), row.end(), out);
        } else if (nc == 4) {
            // Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I") and converts as its cmyk2rgb:
            // R = (255 - k) - round((255 - k) * c / 255), likewise G from m and B from y.
            for (int x = 0; x < w; ++x) {
                const uint8_t* s = row.data() + 4 * x;
                const int nk = s[3];  // 255 - k, with k = 255 - stored
                for (int ch = 0; ch < 3; ++ch) {
                    const int c = 255 - s[ch];
                    const int t = c * nk + 128;
                    const int v = nk - (((t >> 8) + t) >> 8);
                    out[3 * x + ch] = static_cast<uint8_t>(v < 0 ? 0 : v);
                }
            }
        } else {
            for (int x = 0; x < w; ++x) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = row[x];
        }
    }
    jpeg_finish_decompress(&d.cinfo);
    return img;
}

}  // namespace scout::image_detail
