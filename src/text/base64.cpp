#include "text/base64.hpp"

#include <array>
#include <cstdint>

namespace scout::text {

bool base64_decode(std::string_view in, std::string& out) {
    static constexpr auto table = [] {
        std::array<int8_t, 256> t{};
        t.fill(-1);
        for (int i = 0; i < 26; ++i) {
            t['A' + i] = static_cast<int8_t>(i);
            t['a' + i] = static_cast<int8_t>(26 + i);
        }
        for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
        t['+'] = 62;
        t['/'] = 63;
        return t;
    }();
    out.clear();
    if (in.empty() || in.size() % 4 != 0) return false;
    size_t pad = 0;
    if (in.back() == '=') ++pad;
    if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
    for (size_t i = 0; i < in.size(); i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; ++k) {
            const char c = in[i + k];
            int8_t d;
            if (c == '=' && i + 4 == in.size() && k >= 4 - pad)
                d = 0;
            else
                d = table[static_cast<uint8_t>(c)];
            if (d < 0) return false;
            v = (v << 6) | static_cast<uint32_t>(d);
        }
        out.push_back(static_cast<char>(v >> 16));
        if (i + 4 < in.size() || pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
        if (i + 4 < in.size() || pad < 1) out.push_back(static_cast<char>(v & 0xFF));
    }
    return true;
}

}  // namespace scout::text
