#include "text/json_limits.hpp"

#include "base/error.hpp"

namespace scout::text {

bool json_nesting_exceeds(std::string_view text, int max_depth) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

nlohmann::ordered_json parse_json_limited(std::string_view text, std::string_view what) {
    if (json_nesting_exceeds(text))
        throw Error(cat(what, ": nests JSON deeper than ", kMaxJsonDepth, " levels"));
    try {
        return nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(cat(what, ": not valid JSON: ", e.what()));
    }
}

std::optional<nlohmann::ordered_json> try_parse_json_limited(std::string_view text) {
    if (json_nesting_exceeds(text)) return std::nullopt;
    auto j = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

void check_json_depth(int depth) {
    if (depth > kMaxJsonDepth) throw Error(cat("a value nests deeper than ", kMaxJsonDepth, " levels"));
}

}  // namespace scout::text
