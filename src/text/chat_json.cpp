#include "text/chat_json.hpp"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "text/base64.hpp"
#include "text/json_limits.hpp"

namespace scout::text {
namespace {

using Json = nlohmann::ordered_json;

uint32_t be16(const std::string& b, size_t i) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << 8) | static_cast<uint8_t>(b[i + 1]);
}
uint32_t be32(const std::string& b, size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
uint32_t le16(const std::string& b, size_t i) {
    return static_cast<uint8_t>(b[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 8);
}

// Pixel size from the header of a PNG, GIF or JPEG file; false when it is none of these.
bool image_size_from_bytes(const std::string& b, int& w, int& h) {
    if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
        w = static_cast<int>(be32(b, 16));
        h = static_cast<int>(be32(b, 20));
        return true;
    }
    if (b.size() >= 10 && (b.compare(0, 6, "GIF87a") == 0 || b.compare(0, 6, "GIF89a") == 0)) {
        w = static_cast<int>(le16(b, 6));
        h = static_cast<int>(le16(b, 8));
        return true;
    }
    if (b.size() >= 4 && static_cast<uint8_t>(b[0]) == 0xFF && static_cast<uint8_t>(b[1]) == 0xD8) {
        size_t i = 2;
        while (i + 9 < b.size()) {
            if (static_cast<uint8_t>(b[i]) != 0xFF) return false;
            const uint8_t marker = static_cast<uint8_t>(b[i + 1]);
            if (marker == 0xFF) {
                ++i;
                continue;
            }
            const size_t len = be16(b, i + 2);
            // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                h = static_cast<int>(be16(b, i + 5));
                w = static_cast<int>(be16(b, i + 7));
                return true;
            }
            i += 2 + len;
        }
    }
    return false;
}

std::string where(size_t mi) { return cat("messages[", mi, "]"); }

// The tile grid of an image part; `data` receives the bytes of a data URL's file.
TileLayout image_layout(const Json& part, size_t mi, const ImageTokenParams& params, std::string& data) {
    const auto fail = [&](const std::string& what) {
        return Error(cat(where(mi), ": image ", what,
                         "; give the image's pixel size as \"width\"/\"height\", its tile grid as \"tiles\": [rows, "
                         "cols], or a base64 PNG/JPEG/GIF data URL in image_url.url"));
    };
    if (part.contains("tiles")) {
        const auto& t = part["tiles"];
        if (!t.is_array() || t.size() != 2 || !t[0].is_number_integer() || !t[1].is_number_integer())
            throw fail("\"tiles\" is not [rows, cols]");
        // Read as 64-bit and compared one factor at a time: r * c in int overflowed (and
        // get<int> truncated), which let bad grids through.
        const int64_t r = t[0].get<int64_t>(), c = t[1].get<int64_t>();
        if (r < 1 || c < 1 || r > params.max_chunks || c > params.max_chunks || r * c > params.max_chunks)
            throw fail(cat("tile grid ", r, "x", c, " is not allowed"));
        return {static_cast<int>(r), static_cast<int>(c)};
    }
    if (part.contains("width") || part.contains("height")) {
        if (!part.value("width", Json()).is_number_integer() || !part.value("height", Json()).is_number_integer())
            throw fail("needs both integer \"width\" and \"height\"");
        const int w = part["width"].get<int>(), h = part["height"].get<int>();
        if (w < 1 || h < 1) throw fail(cat("size ", w, "x", h, " is not positive"));
        return choose_tile_layout(w, h, params);
    }
    std::string url;
    if (part.contains("image_url")) {
        const auto& iu = part["image_url"];
        if (iu.is_string()) url = iu.get<std::string>();
        else if (iu.is_object() && iu.contains("url") && iu["url"].is_string()) url = iu["url"].get<std::string>();
    }
    if (url.empty()) throw fail("has no size");
    const size_t comma = url.find(',');
    if (url.rfind("data:", 0) != 0 || comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos)
        throw Error(cat(where(mi), ": image URL is not a base64 data URL: only \"data:image/...;base64,...\" URLs are "
                        "accepted (remote http(s) URLs are never fetched; put the file's bytes in the URL)"));
    std::string bytes;
    if (!base64_decode(url.substr(comma + 1), bytes)) throw fail("data URL is not valid base64");
    int w = 0, h = 0;
    if (!image_size_from_bytes(bytes, w, h) || w < 1 || h < 1) throw fail("data is not a PNG, JPEG or GIF");
    data = std::move(bytes);
    return choose_tile_layout(w, h, params);
}

std::vector<ContentPart> parse_content(const Json& c, size_t mi, bool& is_list, const ImageTokenParams& params) {
    std::vector<ContentPart> parts;
    is_list = c.is_array();
    if (c.is_null()) return parts;
    if (c.is_string()) {
        parts.push_back(ContentPart::make_text(c.get<std::string>()));
        return parts;
    }
    check(c.is_array(), cat(where(mi), ": \"content\" must be a string or a list of parts"));
    for (size_t k = 0; k < c.size(); ++k) {
        const auto& p = c[k];
        check(p.is_object() && p.contains("type") && p["type"].is_string(),
              cat(where(mi), ".content[", k, "]: each part needs a \"type\" (\"text\" or \"image\")"));
        const std::string type = p["type"].get<std::string>();
        if (type == "text") {
            check(p.contains("text") && p["text"].is_string(), cat(where(mi), ".content[", k, "]: text part has no \"text\""));
            parts.push_back(ContentPart::make_text(p["text"].get<std::string>()));
        } else if (type == "image" || type == "image_url") {
            std::string data;
            const TileLayout layout = image_layout(p, mi, params, data);
            parts.push_back(ContentPart::make_image(layout, std::move(data)));
        } else {
            throw Error(cat(where(mi), ".content[", k, "]: unknown part type '", type, "' (use text, image or image_url)"));
        }
    }
    return parts;
}

ToolCall parse_tool_call(const Json& c, size_t mi) {
    const std::string w = where(mi) + ".tool_calls";
    check(c.is_object() && c.contains("function") && c["function"].is_object(),
          w + ": each call needs a \"function\" object with \"name\" and \"arguments\"");
    const auto& f = c["function"];
    check(f.contains("name") && f["name"].is_string(), w + ": function has no \"name\"");
    ToolCall t;
    t.id = c.value("id", Json("")).is_string() ? c.value("id", std::string()) : std::string();
    t.name = f["name"].get<std::string>();
    const Json args = f.value("arguments", Json::object());
    if (args.is_string()) {
        // A string from the client: parsed with the depth limit, since walking it recurses.
        const std::string& text = args.get_ref<const std::string&>();
        if (json_nesting_exceeds(text))
            throw Error(cat(w, ": arguments of '", t.name, "' nest JSON deeper than ", kMaxJsonDepth, " levels"));
        const auto parsed = try_parse_json_limited(text);
        if (!parsed) throw Error(w + ": arguments of '" + t.name + "' is a string that is not JSON");
        t.arguments_json = parsed->dump();
    } else {
        t.arguments_json = args.dump();
    }
    return t;
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(std::string_view json_text, const ImageTokenParams& params) {
    Json j = parse_json_limited(json_text, "chat messages");
    if (j.is_object() && j.contains("messages")) j = j["messages"];  // accept a whole request body
    check(j.is_array(), "chat messages must be a JSON array of {\"role\": ..., \"content\": ...} objects");
    std::vector<ChatMessage> out;
    for (size_t mi = 0; mi < j.size(); ++mi) {
        const auto& m = j[mi];
        check(m.is_object() && m.contains("role") && m["role"].is_string(), where(mi) + ": needs a string \"role\"");
        ChatMessage msg;
        msg.role = m["role"].get<std::string>();
        check(msg.role == "system" || msg.role == "user" || msg.role == "assistant" || msg.role == "tool" ||
                  msg.role == "ipython",
              cat(where(mi), ": unknown role '", msg.role, "' (use system, user, assistant or tool)"));
        msg.content = parse_content(m.value("content", Json()), mi, msg.content_is_list, params);
        if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
            check(m["tool_calls"].is_array(), where(mi) + ": \"tool_calls\" must be a list");
            check(msg.role == "assistant", where(mi) + ": only assistant messages can have tool_calls");
            for (const auto& c : m["tool_calls"]) msg.tool_calls.push_back(parse_tool_call(c, mi));
        }
        if (m.contains("stop_reason")) {
            const std::string r = m["stop_reason"].is_string() ? m["stop_reason"].get<std::string>() : "";
            check(r == "end_of_message" || r == "end_of_turn",
                  where(mi) + ": stop_reason must be \"end_of_message\" or \"end_of_turn\"");
            msg.end = r == "end_of_message" ? MessageEnd::end_of_message : MessageEnd::end_of_turn;
        }
        if (m.contains("context") && m["context"].is_string()) msg.context = m["context"].get<std::string>();
        out.push_back(std::move(msg));
    }
    return out;
}

}  // namespace scout::text
