#include "text/byte_level.hpp"

#include <array>
#include <cstdint>

#include "text/utf8.hpp"

namespace scout::text {
namespace {

// Code point -> byte for the 256 code points of the alphabet (all below U+0144), -1 elsewhere.
constexpr std::array<int16_t, 512> unicode_to_byte_table() {
    std::array<int16_t, 512> t{};
    for (auto& x : t) x = -1;
    uint32_t extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        t[printable ? b : extra++] = static_cast<int16_t>(b);
    }
    return t;
}
constexpr std::array<int16_t, 512> k_unicode_to_byte = unicode_to_byte_table();

}  // namespace

bool byte_level_decode(std::string_view text, std::string& out) {
    out.clear();
    size_t i = 0;
    while (i < text.size()) {
        size_t bad_len = 0;
        const size_t n = utf8::valid_sequence_length(text, i, &bad_len);
        if (n == 0) return false;
        const uint32_t cp = utf8::decode_at(text, i, n);
        if (cp >= k_unicode_to_byte.size() || k_unicode_to_byte[cp] < 0) return false;
        out.push_back(static_cast<char>(k_unicode_to_byte[cp]));
        i += n;
    }
    return true;
}

}  // namespace scout::text
