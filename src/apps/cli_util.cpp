#include "apps/cli_util.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "base/error.hpp"

namespace scout::apps {

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option_name) {
    std::vector<int32_t> ids;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find(',', pos);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(pos, end - pos);
        const auto b = item.find_first_not_of(" \t");
        const auto e = item.find_last_not_of(" \t");
        item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
        check(!item.empty(), cat(option_name, ": empty item in \"", text, "\" (expected e.g. 1,2,3)"));
        char* stop = nullptr;
        errno = 0;
        const long long v = std::strtoll(item.c_str(), &stop, 10);
        check(*stop == '\0' && errno == 0 && v >= 0 && v <= INT32_MAX,
              cat(option_name, ": \"", item, "\" is not a non-negative integer token id"));
        ids.push_back(static_cast<int32_t>(v));
        pos = end + 1;
    }
    return ids;
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
