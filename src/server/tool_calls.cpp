#include "server/tool_calls.hpp"

#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>

#include "text/py_json.hpp"

namespace scout::server {

namespace {

using Json = nlohmann::ordered_json;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

constexpr std::string_view kPythonStart = "<|python_start|>";
constexpr std::string_view kPythonEnd = "<|python_end|>";

// A recursive-descent reader of the Python literal subset models write in call lists.
class PyReader {
public:
    explicit PyReader(std::string_view s) : s_(s) {}

    // [call, ...] or a single bare call; the whole input must be consumed.
    bool calls(std::vector<text::ToolCall>& out) {
        skip();
        if (peek() == '[') {
            ++i_;
            skip();
            while (peek() != ']') {
                if (!call(out)) return false;
                skip();
                if (peek() == ',') { ++i_; skip(); continue; }
                if (peek() != ']') return false;
            }
            ++i_;
        } else if (!call(out)) {
            return false;
        }
        skip();
        return i_ == s_.size() && !out.empty();
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip() { while (i_ < s_.size() && is_space(s_[i_])) ++i_; }
    bool ident(std::string& out) {
        const std::size_t b = i_;
        if (!(std::isalpha(static_cast<unsigned char>(peek())) || peek() == '_')) return false;
        while (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' || peek() == '-' || peek() == '.') ++i_;
        out.assign(s_.substr(b, i_ - b));
        return true;
    }
    bool call(std::vector<text::ToolCall>& out) {
        text::ToolCall c;
        if (!ident(c.name)) return false;
        skip();
        if (peek() != '(') return false;
        ++i_;
        Json args = Json::object();
        skip();
        while (peek() != ')') {
            std::string key;
            if (!ident(key)) return false;
            skip();
            if (peek() != '=') return false;
            ++i_;
            skip();
            Json v;
            if (!value(v, 0)) return false;
            args[key] = std::move(v);
            skip();
            if (peek() == ',') { ++i_; skip(); continue; }
            if (peek() != ')') return false;
        }
        ++i_;
        c.arguments_json = args.dump(-1, ' ', false, Json::error_handler_t::replace);
        out.push_back(std::move(c));
        return true;
    }
    bool value(Json& v, int depth) {
        if (depth > 64) return false;
        skip();
        const char c = peek();
        if (c == '"' || c == '\'') return string(v);
        if (c == '[' || c == '(') {
            const char close = c == '[' ? ']' : ')';
            ++i_;
            v = Json::array();
            skip();
            while (peek() != close) {
                Json e;
                if (!value(e, depth + 1)) return false;
                v.push_back(std::move(e));
                skip();
                if (peek() == ',') { ++i_; skip(); continue; }
                if (peek() != close) return false;
            }
            ++i_;
            return true;
        }
        if (c == '{') {
            ++i_;
            v = Json::object();
            skip();
            while (peek() != '}') {
                Json k;
                if (!string(k)) return false;
                skip();
                if (peek() != ':') return false;
                ++i_;
                Json e;
                if (!value(e, depth + 1)) return false;
                v[k.get<std::string>()] = std::move(e);
                skip();
                if (peek() == ',') { ++i_; skip(); continue; }
                if (peek() != '}') return false;
            }
            ++i_;
            return true;
        }
        for (auto [word, j] : {std::pair<std::string_view, Json>{"True", true}, {"False", false}, {"None", nullptr},
                               {"true", true}, {"false", false}, {"null", nullptr}})
            if (s_.substr(i_, word.size()) == word) {
                i_ += word.size();
                v = j;
                return true;
            }
        return number(v);
    }
    bool number(Json& v) {
        const std::size_t b = i_;
        if (peek() == '-' || peek() == '+') ++i_;
        bool is_float = false;
        while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' || peek() == 'E' ||
               ((peek() == '-' || peek() == '+') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E'))) {
            is_float = is_float || !std::isdigit(static_cast<unsigned char>(peek()));
            ++i_;
        }
        const std::string t(s_.substr(b, i_ - b));
        if (t.empty() || t == "-" || t == "+") return false;
        try {
            std::size_t used = 0;
            if (is_float) v = std::stod(t, &used);
            else v = std::stoll(t, &used);
            return used == t.size();
        } catch (const std::exception&) {
            return false;
        }
    }
    bool string(Json& v) {
        const char q = peek();
        if (q != '"' && q != '\'') return false;
        ++i_;
        std::string out;
        while (i_ < s_.size() && s_[i_] != q) {
            char c = s_[i_++];
            if (c == '\\' && i_ < s_.size()) {
                const char e = s_[i_++];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    case '\\': case '\'': case '"': out += e; break;
                    default: out += '\\'; out += e;
                }
            } else {
                out += c;
            }
        }
        if (i_ >= s_.size()) return false;
        ++i_;
        // Keep only valid UTF-8 (the reply text is already valid; escapes cannot break it).
        v = out;
        return true;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

bool json_call(const Json& j, std::vector<text::ToolCall>& out) {
    if (!j.is_object()) return false;
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return false;
    if (j.contains("type") && j["type"] != "function") return false;
    Json args = Json::object();
    for (const char* key : {"parameters", "arguments"}) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        if (it->is_string()) {
            try {
                args = Json::parse(it->get<std::string>());
            } catch (const std::exception&) {
                return false;
            }
        } else {
            args = *it;
        }
        if (!args.is_object()) return false;
    }
    out.push_back({"", name->get<std::string>(), args.dump(-1, ' ', false, Json::error_handler_t::replace)});
    return true;
}

bool parse_json_calls(std::string_view s, std::vector<text::ToolCall>& out) {
    Json j;
    try {
        j = Json::parse(s);
    } catch (const std::exception&) {
        return false;
    }
    if (j.is_array()) {
        for (const auto& e : j)
            if (!json_call(e, out)) return false;
        return !out.empty();
    }
    return json_call(j, out);
}

// <function=NAME>{...}</function>, one or more.
bool parse_function_tags(std::string_view s, std::vector<text::ToolCall>& out) {
    constexpr std::string_view open = "<function=", close = "</function>";
    s = trim(s);
    while (!s.empty()) {
        if (s.substr(0, open.size()) != open) return false;
        s.remove_prefix(open.size());
        const auto gt = s.find('>');
        const auto end = s.find(close);
        if (gt == std::string_view::npos || end == std::string_view::npos || end < gt) return false;
        const std::string name(s.substr(0, gt));
        Json args;
        try {
            args = Json::parse(s.substr(gt + 1, end - gt - 1));
        } catch (const std::exception&) {
            return false;
        }
        if (!args.is_object() || name.empty()) return false;
        out.push_back({"", name, args.dump(-1, ' ', false, Json::error_handler_t::replace)});
        s = trim(s.substr(end + close.size()));
    }
    return !out.empty();
}

bool parse_exact(std::string_view s, std::vector<text::ToolCall>& out) {
    s = trim(s);
    if (s.empty()) return false;
    out.clear();
    if (s.front() == '{' || (s.front() == '[' && trim(s.substr(1)).substr(0, 1) == "{"))
        if (parse_json_calls(s, out)) return true;
    out.clear();
    if (s.front() == '<') return parse_function_tags(s, out);
    out.clear();
    return PyReader(s).calls(out);
}

std::string strip_python_tags(std::string_view reply) {
    std::string s(reply);
    for (auto tag : {kPythonStart, kPythonEnd})
        for (std::size_t p; (p = s.find(tag)) != std::string::npos;) s.erase(p, tag.size());
    return s;
}

}  // namespace

std::string tools_prompt(std::span<const ToolSpec> tools, ToolChoice choice, const std::string& choice_name) {
    Json list = Json::array();
    for (const auto& t : tools) {
        if (choice == ToolChoice::named && t.name != choice_name) continue;
        Json f;
        f["name"] = t.name;
        f["description"] = t.description;
        f["parameters"] = t.parameters.is_object() ? t.parameters : Json::object();
        list.push_back(std::move(f));
    }
    std::string p =
        "You are an expert in composing functions. You are given a question and a set of possible functions.\n"
        "Based on the question, you may make one or more function/tool calls to achieve the purpose.\n"
        "If you decide to invoke any of the function(s), you MUST put it in the format of "
        "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]\n"
        "You SHOULD NOT include any other text in the response if you call a function.\n";
    if (choice == ToolChoice::required || choice == ToolChoice::named)
        p += "You MUST call at least one function in this response.\n";
    else
        p += "If none of the functions are needed, answer the question directly.\n";
    p += "\nHere is a list of functions in JSON format that you can invoke:\n\n";
    p += text::py_json_dumps(list, false, 4);
    return p;
}

void add_tools_to_messages(std::vector<text::ChatMessage>& messages, std::span<const ToolSpec> tools,
                           ToolChoice choice, const std::string& choice_name) {
    if (tools.empty() || choice == ToolChoice::none) return;
    const std::string block = tools_prompt(tools, choice, choice_name);
    for (auto& m : messages)
        if (m.role == "system") {
            if (!m.content.empty() && m.content.back().kind == text::ContentPart::Kind::text)
                m.content.back().text += "\n\n" + block;
            else
                m.content.push_back(text::ContentPart::make_text(block));
            return;
        }
    messages.insert(messages.begin(), text::ChatMessage::make("system", block));
}

std::optional<ParsedToolCalls> parse_tool_calls(std::string_view reply) {
    const std::string s = strip_python_tags(reply);
    ParsedToolCalls r;
    if (parse_exact(s, r.calls)) return r;
    // Text, then a call list to the end (models sometimes explain first). Try each plausible
    // start; bounded so a long reply with many brackets costs little.
    int tries = 0;
    for (std::size_t p = 1; p < s.size() && tries < 32; ++p) {
        const char c = s[p];
        if (c != '[' && c != '{' && c != '<') continue;
        if (!is_space(s[p - 1])) continue;
        ++tries;
        if (parse_exact(std::string_view(s).substr(p), r.calls)) {
            r.content = std::string(trim(std::string_view(s).substr(0, p)));
            return r;
        }
    }
    return std::nullopt;
}

bool may_start_tool_call(std::string_view prefix) {
    std::string_view s = trim(prefix);
    if (s.empty()) return true;
    for (std::string_view start : {kPythonStart, std::string_view("<function=")})
        if (s.size() < start.size() ? start.substr(0, s.size()) == s : s.substr(0, start.size()) == start) return true;
    return s.front() == '[' || s.front() == '{';
}

std::string ToolCallStream::add(std::string_view text) {
    if (!holding_) return std::string(text);
    held_ += text;
    if (may_start_tool_call(held_)) return {};
    holding_ = false;
    return std::exchange(held_, {});
}

ParsedToolCalls ToolCallStream::finish(bool parse) {
    ParsedToolCalls r;
    if (holding_ && parse)
        if (auto calls = parse_tool_calls(held_)) r = std::move(*calls);
    if (r.calls.empty()) r.content = std::exchange(held_, {});
    holding_ = false;
    held_.clear();
    return r;
}

}  // namespace scout::server
