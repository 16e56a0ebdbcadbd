#include "text/py_json.hpp"

#include <cstdio>

#include "text/json_limits.hpp"
#include "text/utf8.hpp"

namespace scout::text {
namespace {

void put_u(std::string& out, uint32_t u) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", u);
    out += buf;
}

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out.push_back('"');
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<uint8_t>(s[i]);
        if (b < 0x80) {
            switch (b) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    if (b < 0x20) put_u(out, b);
                    else out.push_back(static_cast<char>(b));
            }
            ++i;
            continue;
        }
        size_t bad = 0;
        size_t n = utf8::valid_sequence_length(s, i, &bad);
        uint32_t cp = 0xFFFD;
        if (n > 0) cp = utf8::decode_at(s, i, n);
        else n = bad;
        if (!ensure_ascii) {
            utf8::append(out, cp);
        } else if (cp < 0x10000) {
            put_u(out, cp);
        } else {
            const uint32_t v = cp - 0x10000;
            put_u(out, 0xD800 + (v >> 10));
            put_u(out, 0xDC00 + (v & 0x3FF));
        }
        i += n;
    }
    out.push_back('"');
}

void dump(std::string& out, const nlohmann::ordered_json& v, bool ensure_ascii, int indent, int depth) {
    check_json_depth(depth);
    const auto newline = [&](int d) {
        out.push_back('\n');
        out.append(static_cast<size_t>(indent * d), ' ');
    };
    const char* item_sep = indent >= 0 ? "," : ", ";
    switch (v.type()) {
        case nlohmann::ordered_json::value_t::object: {
            if (v.empty()) {
                out += "{}";
                return;
            }
            out.push_back('{');
            bool first = true;
            for (const auto& [k, item] : v.items()) {
                if (!first) out += item_sep;
                first = false;
                if (indent >= 0) newline(depth + 1);
                dump_string(out, k, ensure_ascii);
                out += ": ";
                dump(out, item, ensure_ascii, indent, depth + 1);
            }
            if (indent >= 0) newline(depth);
            out.push_back('}');
            return;
        }
        case nlohmann::ordered_json::value_t::array: {
            if (v.empty()) {
                out += "[]";
                return;
            }
            out.push_back('[');
            bool first = true;
            for (const auto& item : v) {
                if (!first) out += item_sep;
                first = false;
                if (indent >= 0) newline(depth + 1);
                dump(out, item, ensure_ascii, indent, depth + 1);
            }
            if (indent >= 0) newline(depth);
            out.push_back(']');
            return;
        }
        case nlohmann::ordered_json::value_t::string:
            dump_string(out, v.get_ref<const std::string&>(), ensure_ascii);
            return;
        case nlohmann::ordered_json::value_t::boolean:
            out += v.get<bool>() ? "true" : "false";
            return;
        case nlohmann::ordered_json::value_t::null:
            out += "null";
            return;
        case nlohmann::ordered_json::value_t::number_float: {
            // Python's repr and nlohmann both print the shortest round-trip form; Python
            // spells non-finite values NaN/Infinity.
            const double d = v.get<double>();
            if (d != d) out += "NaN";
            else if (d > 1.7976931348623157e308) out += "Infinity";
            else if (d < -1.7976931348623157e308) out += "-Infinity";
            else out += v.dump();
            return;
        }
        default:
            out += v.dump();
    }
}

}  // namespace

std::string py_json_dumps(const nlohmann::ordered_json& value, bool ensure_ascii, int indent) {
    std::string out;
    dump(out, value, ensure_ascii, indent, 0);
    return out;
}

}  // namespace scout::text
