#include "image/decode.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout {

namespace image_detail {
void check_size(const char* format, int64_t width, int64_t height) {
    if (width <= 0 || height <= 0)
        throw Error(cat(format, ": invalid image size ", width, "x", height));
    if (width > kMaxImagePixels || height > kMaxImagePixels || width * height > kMaxImagePixels)
        throw Error(cat(format, ": image of ", width, "x", height, " pixels exceeds the limit of ",
                        kMaxImagePixels, " pixels (decompression bomb guard)"));
}
}  // namespace image_detail

RgbImage decode_image(std::span<const uint8_t> bytes) {
    auto starts = [&](const char* magic, size_t n) {
        return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
    };
    if (starts("\xFF\xD8\xFF", 3)) return image_detail::decode_jpeg(bytes);
    if (starts("\x89PNG\r\n\x1A\n", 8)) return image_detail::decode_png(bytes);
    if (starts("BM", 2)) return image_detail::decode_bmp(bytes);
    if (starts("GIF87a", 6) || starts("GIF89a", 6)) return image_detail::decode_gif(bytes);
    if (starts("RIFF", 4) && bytes.size() >= 12 && std::memcmp(bytes.data() + 8, "WEBP", 4) == 0)
        return image_detail::decode_webp(bytes);
    throw Error(cat("image: unknown format (", bytes.size(),
                    " bytes; supported: JPEG, PNG, GIF, BMP, WebP, detected from the first bytes)"));
}

RgbImage load_image(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(cat("image: cannot open ", path.string()));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
        return decode_image(bytes);
    } catch (const Error& e) {
        throw Error(cat(path.string(), ": ", e.what()));
    }
}

}  // namespace scout
