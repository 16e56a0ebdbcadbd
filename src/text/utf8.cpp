#include "text/utf8.hpp"

namespace scout::text::utf8 {
namespace {

// Allowed range of the second byte for a lead byte (Unicode Table 3-7); the rest are 80..BF.
struct LeadInfo {
    uint8_t len;  // 0 = never valid as a lead
    uint8_t lo;
    uint8_t hi;
};

LeadInfo lead_info(uint8_t b) {
    if (b < 0x80) return {1, 0, 0};
    if (b < 0xC2) return {0, 0, 0};
    if (b < 0xE0) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b < 0xF0) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b < 0xF4) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

}  // namespace

size_t valid_sequence_length(std::string_view s, size_t i, size_t* bad_len) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    const LeadInfo li = lead_info(b0);
    if (li.len == 1) return 1;
    if (li.len == 0) {
        *bad_len = 1;
        return 0;
    }
    // Count how many following bytes are acceptable; a shortfall makes the consumed prefix
    // one maximal invalid subpart.
    size_t k = 1;
    for (; k < li.len; ++k) {
        if (i + k >= s.size()) break;
        const auto b = static_cast<uint8_t>(s[i + k]);
        const uint8_t lo = k == 1 ? li.lo : 0x80;
        const uint8_t hi = k == 1 ? li.hi : 0xBF;
        if (b < lo || b > hi) break;
    }
    if (k == li.len) return k;
    *bad_len = k;
    return 0;
}

uint32_t decode_at(std::string_view s, size_t i, size_t len) {
    const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
    switch (len) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool is_valid(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if (static_cast<uint8_t>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        size_t bad = 0;
        const size_t n = valid_sequence_length(s, i, &bad);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string sanitize(std::string_view s) {
    if (is_valid(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 16);
    size_t i = 0;
    while (i < s.size()) {
        size_t bad = 0;
        const size_t n = valid_sequence_length(s, i, &bad);
        if (n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out.append("\xEF\xBF\xBD");
            i += bad;
        }
    }
    return out;
}

size_t incomplete_tail(std::string_view s) {
    // Look back at most 3 bytes for a lead byte whose sequence is cut short by the end of s.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const size_t i = n - back;
        const auto b = static_cast<uint8_t>(s[i]);
        if (b >= 0x80 && b < 0xC0) continue;  // continuation byte: keep looking for the lead
        const LeadInfo li = lead_info(b);
        if (li.len <= back) return 0;  // ASCII, invalid lead, or a sequence that is already complete
        size_t bad = 0;
        // Valid so far means every present byte is acceptable: the decoder stops at the end.
        if (valid_sequence_length(s, i, &bad) == 0 && bad == back) return back;
        return 0;
    }
    return 0;
}

}  // namespace scout::text::utf8
