#include "apps/cli_util.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "base/error.hpp"

namespace scout::apps {

namespace {

// The comma-separated items of `text`, each trimmed of spaces and tabs (empty items kept, so the
// callers can name them in their errors).
std::vector<std::string> split_items(const std::string& text) {
    std::vector<std::string> items;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find(',', pos);
        if (end == std::string::npos) end = text.size();
        const std::string item = text.substr(pos, end - pos);
        const auto b = item.find_first_not_of(" \t");
        const auto e = item.find_last_not_of(" \t");
        items.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
        pos = end + 1;
    }
    return items;
}

}  // namespace

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option_name) {
    std::vector<int32_t> ids;
    for (const std::string& item : split_items(text)) {
        check(!item.empty(), cat(option_name, ": empty item in \"", text, "\" (expected e.g. 1,2,3)"));
        char* stop = nullptr;
        errno = 0;
        const long long v = std::strtoll(item.c_str(), &stop, 10);
        check(*stop == '\0' && errno == 0 && v >= 0 && v <= INT32_MAX,
              cat(option_name, ": \"", item, "\" is not a non-negative integer token id"));
        ids.push_back(static_cast<int32_t>(v));
    }
    return ids;
}

std::vector<int64_t> parse_token_counts(const std::string& text, const std::string& option_name) {
    std::vector<int64_t> counts;
    for (const std::string& item : split_items(text)) {
        char* stop = nullptr;
        errno = 0;
        const long long v = item.empty() ? -1 : std::strtoll(item.c_str(), &stop, 10);
        long long unit = 1;
        if (stop && (*stop == 'k' || *stop == 'K')) unit = 1024, ++stop;
        else if (stop && (*stop == 'm' || *stop == 'M')) unit = 1024 * 1024, ++stop;
        check(!item.empty() && *stop == '\0' && errno == 0 && v >= 0 && v <= (int64_t{1} << 40) / unit,
              cat(option_name, ": \"", item, "\" is not a token count (e.g. 4096, 128K or 10M; K = 1,024, M = 1,048,576)"));
        counts.push_back(v * unit);
    }
    return counts;
}

uint64_t parse_byte_size(const std::string& text, const std::string& option_name) {
    const char* p = text.c_str();
    char* stop = nullptr;
    errno = 0;
    const unsigned long long v = text.empty() || text[0] == '-' ? 0 : std::strtoull(p, &stop, 10);
    int shift = 0;
    bool ok = stop != nullptr && stop != p && errno == 0;
    if (ok) {
        switch (*stop) {
            case 'k': case 'K': shift = 10; ++stop; break;
            case 'm': case 'M': shift = 20; ++stop; break;
            case 'g': case 'G': shift = 30; ++stop; break;
            case 't': case 'T': shift = 40; ++stop; break;
            default: break;
        }
        if (shift > 0 && *stop == 'i') ++stop;
        if (*stop == 'b' || *stop == 'B') ++stop;
        ok = *stop == '\0' && v <= (~0ull >> shift);
    }
    check(ok, cat(option_name, ": \"", text, "\" is not a byte size (e.g. 1048576, 512M, 8G)"));
    return static_cast<uint64_t>(v) << shift;
}

std::string group_thousands(int64_t v) {
    const std::string digits = std::to_string(v < 0 ? -v : v);
    std::string s = v < 0 ? "-" : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
        s += digits[i];
    }
    return s;
}

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
    return buf;
}

}  // namespace scout::apps
