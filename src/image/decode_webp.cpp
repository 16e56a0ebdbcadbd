// WebP via libwebp: decoded to RGB with libwebp's defaults (fancy upsampling), which is what Pillow's
// WebP plugin gets from the same library; alpha, as everywhere, is dropped. First frame only.
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
    img.rgb.resize(size_t(img.width) * img.height * 3);
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = img.rgb.data();
    config.output.u.RGBA.stride = img.width * 3;
    config.output.u.RGBA.size = img.rgb.size();
    const VP8StatusCode status = WebPDecode(bytes.data(), bytes.size(), &config);
    WebPFreeDecBuffer(&config.output);
    if (status != VP8_STATUS_OK)
        throw Error(cat("WebP: corrupt or truncated data (libwebp status ", int(status), ")"));
    return img;
}

}  // namespace scout::image_detail
