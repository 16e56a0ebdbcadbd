// GIF, first frame only, via giflib, as Pillow's GifImagePlugin loads frame 0: the canvas is the
// logical screen, filled with the transparency index when the frame has one (else index 0), the frame
// pasted at its offset, then a palette lookup (local table, else global; no table: the index is gray).
// With a transparency index, the alpha plane is 0 where the index is it and 255 elsewhere.
#include <cstring>

#include <gif_lib.h>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout::image_detail {
namespace {

struct Reader {
    std::span<const uint8_t> bytes;
    size_t pos = 0;
};

int on_read(GifFileType* g, GifByteType* out, int n) {
    auto* r = static_cast<Reader*>(g->UserData);
    const size_t k = std::min(size_t(n), r->bytes.size() - r->pos);
    std::memcpy(out, r->bytes.data() + r->pos, k);
    r->pos += k;
    return int(k);
}

struct Gif {
    GifFileType* g = nullptr;
    ~Gif() {
        int err = 0;
        if (g) DGifCloseFile(g, &err);
    }
};

[[noreturn]] void fail(const char* what, int code) {
    const char* msg = GifErrorString(code);
    throw Error(cat("GIF: corrupt or truncated data (", what, ": ", msg ? msg : "unknown error", ")"));
}

}  // namespace

RgbImage decode_gif(std::span<const uint8_t> bytes) {
    Reader r{bytes};
    Gif gif;
    int err = 0;
    gif.g = DGifOpen(&r, on_read, &err);
    if (!gif.g) fail("header", err);
    GifFileType* g = gif.g;
    check_size("GIF", g->SWidth, g->SHeight);
    const int w = g->SWidth, h = g->SHeight;
    int transparency = -1;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(g, &type) == GIF_ERROR) fail("record", g->Error);
        if (type == TERMINATE_RECORD_TYPE) throw Error("GIF: the file has no image");
        if (type == EXTENSION_RECORD_TYPE) {
            int code = 0;
            GifByteType* ext = nullptr;
            if (DGifGetExtension(g, &code, &ext) == GIF_ERROR) fail("extension", g->Error);
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparency = ext[4];
            while (ext) {
                if (DGifGetExtensionNext(g, &ext) == GIF_ERROR) fail("extension", g->Error);
            }
            continue;
        }
        if (type != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(g) == GIF_ERROR) fail("image descriptor", g->Error);
        const GifImageDesc& d = g->Image;
        if (d.Left < 0 || d.Top < 0 || d.Width <= 0 || d.Height <= 0 || d.Left + d.Width > w ||
            d.Top + d.Height > h)
            throw Error(cat("GIF: first frame ", d.Width, "x", d.Height, " at (", d.Left, ",", d.Top,
                            ") does not lie within the ", w, "x", h, " screen (not supported)"));
        std::vector<uint8_t> index(size_t(w) * h, uint8_t(transparency >= 0 ? transparency : 0));
        std::vector<GifPixelType> line(d.Width);
        auto read_row = [&](int y) {
            if (DGifGetLine(g, line.data(), d.Width) == GIF_ERROR) fail("pixel data", g->Error);
            std::memcpy(index.data() + size_t(d.Top + y) * w + d.Left, line.data(), d.Width);
        };
        if (d.Interlace) {
            const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
            for (int pass = 0; pass < 4; ++pass)
                for (int y = start[pass]; y < d.Height; y += step[pass]) read_row(y);
        } else {
            for (int y = 0; y < d.Height; ++y) read_row(y);
        }
        const ColorMapObject* map = d.ColorMap ? d.ColorMap : g->SColorMap;
        RgbImage img;
        img.width = w;
        img.height = h;
        img.rgb.resize(size_t(w) * h * 3);
        if (transparency >= 0) {
            img.alpha.resize(index.size());
            for (size_t i = 0; i < index.size(); ++i) img.alpha[i] = index[i] == transparency ? 0 : 255;
        }
        for (size_t i = 0; i < index.size(); ++i) {
            const int k = index[i];
            uint8_t* out = img.rgb.data() + 3 * i;
            if (!map) {
                out[0] = out[1] = out[2] = uint8_t(k);
            } else if (k < map->ColorCount) {
                out[0] = map->Colors[k].Red;
                out[1] = map->Colors[k].Green;
                out[2] = map->Colors[k].Blue;
            } else {
                out[0] = out[1] = out[2] = 0;
            }
        }
        return img;
    }
}

}  // namespace scout::image_detail
