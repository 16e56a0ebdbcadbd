// WebP via libwebp: decoded to RGB with libwebp's defaults (fancy upsampling), which is what Pillow's
// WebP plugin gets from the same library; an alpha channel goes to the alpha plane. First frame only.
#include <cstring>
#include <vector>

#include <webp/decode.h>

#include "base/error.hpp"
#include "image/formats.hpp"

namespace scout::image_detail {

RgbImage decode_webp(std::span<const uint8_t> bytes) {
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) throw Error("WebP: cannot create decoder (library version mismatch)");
    if (WebPGetFeatures(bytes.data(), bytes.size(), &config.input) != VP8_STATUS_OK)
        throw Error("WebP: corrupt or truncated header");
    if (config.input.has_animation) throw Error("WebP: animated files are not supported");
    check_size("WebP", config.input.width, config.input.height);
    RgbImage img;
    img.width = config.input.width;
    img.height = config.input.height;
    const size_t pixels = size_t(img.width) * img.height;
    const int channels = config.input.has_alpha ? 4 : 3;
    // Non-premultiplied RGBA: the colour channels are the same as a plain RGB decode's.
    std::vector<uint8_t> decoded(pixels * channels);
    config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = decoded.data();
    config.output.u.RGBA.stride = img.width * channels;
    config.output.u.RGBA.size = decoded.size();
    const VP8StatusCode status = WebPDecode(bytes.data(), bytes.size(), &config);
    WebPFreeDecBuffer(&config.output);
    if (status != VP8_STATUS_OK)
        throw Error(cat("WebP: corrupt or truncated data (libwebp status ", int(status), ")"));
    if (channels == 3) {
        img.rgb = std::move(decoded);
        return img;
    }
    img.rgb.resize(pixels * 3);
    img.alpha.resize(pixels);
    for (size_t i = 0; i < pixels; ++i) {
        std::memcpy(img.rgb.data() + 3 * i, decoded.data() + 4 * i, 3);
        img.alpha[i] = decoded[4 * i + 3];
    }
    return img;
}

}  // namespace scout::image_detail
