// parse_assistant_reply, restating llama-models' decode_assistant_message_from_content and
// ToolUtils (models/llama3/tool_utils.py) rule by rule:
//  1. strip spaces; drop a leading "<|header_start|>assistant<|header_end|>\n\n";
//  2. "<|python_start|>" first: drop it and every "<|python_end|>"; the reply is then code;
//  3. a trailing <|eot|> / <|eom|> is removed and sets the stop reason;
//  4. a tool call is, in this order: <function=NAME>{json}</function> (single quotes read as double),
//     a JSON object with "name" (and "parameters"), a Python list of keyword-only calls (first call
//     only), NAME.call(query="...") for builtins, else the code of step 2 (code_interpreter);
//  5. a custom call whose NAME is a builtin tool takes its first argument as {"query": ...}.
#include "text/chat_reply.hpp"

#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>

#include "text/unicode_tables.hpp"
#include "text/utf8.hpp"

namespace scout::text {
namespace {

using Json = nlohmann::ordered_json;

bool is_builtin(const std::string& name) {
    return name == "brave_search" || name == "wolfram_alpha" || name == "photogen" || name == "code_interpreter";
}

// Python's \w for one code point: str.isalnum() or '_'.
bool is_word_cp(uint32_t cp) {
    return cp == '_' || (unicode::flags_of(cp) & (unicode::k_letter | unicode::k_number)) != 0;
}

std::optional<Json> parse_json(std::string_view s) {
    try {
        return Json::parse(s);
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

// re.search(r"<function=(?P<function_name>[^}]+)>(?P<args>{.*?})"): leftmost start, the name as
// long as possible ([^}]+ backtracks), args up to the first '}' on the same line.
std::optional<std::pair<std::string, std::string>> find_function_tag(std::string_view s) {
    for (size_t p = s.find("<function="); p != std::string_view::npos; p = s.find("<function=", p + 1)) {
        const size_t name_start = p + 10;
        size_t name_max = s.find('}', name_start);
        if (name_max == std::string_view::npos) name_max = s.size();
        for (size_t e = name_max; e > name_start; --e) {
            if (e + 1 >= s.size() || s[e] != '>' || s[e + 1] != '{') continue;
            const size_t close = s.find_first_of("}\n", e + 2);
            if (close == std::string_view::npos || s[close] != '}') continue;
            return std::make_pair(std::string(s.substr(name_start, e - name_start)),
                                  std::string(s.substr(e + 1, close - e)));
        }
    }
    return std::nullopt;
}

// re.search(r'\b(?P<tool_name>\w+)\.call\(query="(?P<query>[^"]*)"\)')
std::optional<std::pair<std::string, std::string>> find_builtin_call(std::string_view s) {
    for (size_t p = s.find(".call(query=\""); p != std::string_view::npos; p = s.find(".call(query=\"", p + 1)) {
        const size_t q0 = p + 13;
        const size_t q1 = s.find('"', q0);
        if (q1 == std::string_view::npos || q1 + 1 >= s.size() || s[q1 + 1] != ')') continue;
        // The word before ".call": walk back over \w code points.
        size_t b = p;
        while (b > 0) {
            size_t k = b - 1;
            while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
            size_t bad = 0;
            const size_t n = utf8::valid_sequence_length(s, k, &bad);
            if (n == 0 || !is_word_cp(utf8::decode_at(s, k, n))) break;
            b = k;
        }
        if (b == p) continue;
        return std::make_pair(std::string(s.substr(b, p - b)), std::string(s.substr(q0, q1 - q0)));
    }
    return std::nullopt;
}

// A small reader for the Python literals that ast.literal_eval accepts in tool-call lists.
class PyLiteral {
public:
    explicit PyLiteral(std::string_view s) : s_(s) {}

    // [name(k=v, ...), ...] with keyword arguments only; returns the calls or nullopt.
    std::optional<std::vector<std::pair<std::string, Json>>> call_list() {
        // ast.parse rejects leading indentation on the first line.
        if (!s_.empty() && (s_[0] == ' ' || s_[0] == '\t')) return std::nullopt;
        skip_ws(true);
        if (!eat('[')) return std::nullopt;
        std::vector<std::pair<std::string, Json>> calls;
        skip_ws(true);
        while (!eat(']')) {
            std::string name = identifier();
            if (name.empty()) return std::nullopt;
            skip_ws(true);
            if (!eat('(')) return std::nullopt;
            Json args = Json::object();
            skip_ws(true);
            while (!eat(')')) {
                std::string key = identifier();
                skip_ws(true);
                if (key.empty() || !eat('=')) return std::nullopt;
                skip_ws(true);
                auto v = value();
                if (!v) return std::nullopt;
                args[key] = *v;
                skip_ws(true);
                if (eat(',')) skip_ws(true);
                else if (peek() != ')') return std::nullopt;
            }
            calls.emplace_back(std::move(name), std::move(args));
            skip_ws(true);
            if (eat(',')) skip_ws(true);
            else if (peek() != ']') return std::nullopt;
        }
        skip_ws(true);
        if (i_ != s_.size() || calls.empty()) return std::nullopt;
        return calls;
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    void skip_ws(bool newlines) {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || (newlines && (s_[i_] == '\n' || s_[i_] == '\r'))))
            ++i_;
    }
    std::string identifier() {
        const size_t b = i_;
        while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
        if (b < i_ && std::isdigit(static_cast<unsigned char>(s_[b]))) return {};
        return std::string(s_.substr(b, i_ - b));
    }
    std::optional<Json> value() {
        const char c = peek();
        if (c == '"' || c == '\'') return string_value();
        if (c == '[' || c == '(') return sequence(c == '[' ? ']' : ')');
        if (c == '{') return dict();
        if (c == '-' || c == '+' || std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
        const std::string id = identifier();
        if (id == "True") return Json(true);
        if (id == "False") return Json(false);
        if (id == "None") return Json(nullptr);
        return std::nullopt;
    }
    std::optional<Json> string_value() {
        const char q = s_[i_++];
        std::string out;
        while (i_ < s_.size() && s_[i_] != q) {
            char c = s_[i_++];
            if (c == '\n') return std::nullopt;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (i_ >= s_.size()) return std::nullopt;
            c = s_[i_++];
            switch (c) {
                case 'n': out.push_back('\n'); break;
                case 't': out.push_back('\t'); break;
                case 'r': out.push_back('\r'); break;
                case '\\': case '\'': case '"': out.push_back(c); break;
                case 'u': {
                    if (i_ + 4 > s_.size()) return std::nullopt;
                    utf8::append(out, static_cast<uint32_t>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16)));
                    i_ += 4;
                    break;
                }
                default: out.push_back('\\'); out.push_back(c);
            }
        }
        if (!eat(q)) return std::nullopt;
        return Json(out);
    }
    std::optional<Json> number() {
        const size_t b = i_;
        if (peek() == '-' || peek() == '+') ++i_;
        bool is_float = false;
        while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' ||
                                  s_[i_] == 'E' || ((s_[i_] == '-' || s_[i_] == '+') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E')))) {
            is_float = is_float || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E';
            ++i_;
        }
        const std::string t(s_.substr(b, i_ - b));
        try {
            if (is_float) return Json(std::stod(t));
            return Json(std::stoll(t));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    std::optional<Json> sequence(char close) {
        ++i_;
        Json arr = Json::array();
        skip_ws(true);
        while (!eat(close)) {
            auto v = value();
            if (!v) return std::nullopt;
            arr.push_back(*v);
            skip_ws(true);
            if (eat(',')) skip_ws(true);
            else if (peek() != close) return std::nullopt;
        }
        return arr;
    }
    std::optional<Json> dict() {
        ++i_;
        Json obj = Json::object();
        skip_ws(true);
        while (!eat('}')) {
            auto k = value();
            if (!k || !k->is_string()) return std::nullopt;
            skip_ws(true);
            if (!eat(':')) return std::nullopt;
            skip_ws(true);
            auto v = value();
            if (!v) return std::nullopt;
            obj[k->get<std::string>()] = *v;
            skip_ws(true);
            if (eat(',')) skip_ws(true);
            else if (peek() != '}') return std::nullopt;
        }
        return obj;
    }

    std::string_view s_;
    size_t i_ = 0;
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// ToolUtils.maybe_extract_custom_tool_call: (name, arguments) or nullopt.
std::optional<std::pair<std::string, Json>> custom_tool_call(const std::string& s) {
    if (const auto tag = find_function_tag(s)) {
        std::string args = tag->second;
        for (char& c : args)
            if (c == '\'') c = '"';
        const auto j = parse_json(args);
        if (!j) return std::nullopt;  // the reference gives up here, without trying other forms
        return std::make_pair(tag->first, *j);
    }
    if (const auto j = parse_json(s); j && j->is_object()) {
        const bool is_call = (j->contains("type") && (*j)["type"] == "function") || j->contains("name");
        if (!is_call || !j->contains("name") || !(*j)["name"].is_string() || !j->contains("parameters"))
            return std::nullopt;
        return std::make_pair((*j)["name"].get<std::string>(), (*j)["parameters"]);
    }
    if (auto calls = PyLiteral(s).call_list()) return calls->front();
    return std::nullopt;
}

}  // namespace

AssistantReply parse_assistant_reply(std::string_view text, StopReason stop_reason) {
    std::string_view v = text;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    constexpr std::string_view header = "<|header_start|>assistant<|header_end|>\n\n";
    if (starts_with(v, header)) v.remove_prefix(header.size());
    std::string content(v);
    const bool ipython = starts_with(content, "<|python_start|>");
    if (ipython) {
        content.erase(0, 16);
        for (size_t p; (p = content.find("<|python_end|>")) != std::string::npos;) content.erase(p, 14);
    }
    AssistantReply r;
    r.stop_reason = stop_reason;
    if (ends_with(content, "<|eot|>")) {
        content.resize(content.size() - 7);
        r.stop_reason = StopReason::end_of_turn;
    } else if (ends_with(content, "<|eom|>")) {
        content.resize(content.size() - 7);
        r.stop_reason = StopReason::end_of_message;
    }

    std::optional<std::pair<std::string, Json>> call = custom_tool_call(content);
    if (call) {
        if (is_builtin(call->first)) {
            Json q = Json::object();
            q["query"] = call->second.is_object() && !call->second.empty() ? call->second.begin().value() : Json();
            call->second = q;
        }
    } else if (const auto b = find_builtin_call(content)) {
        Json q = Json::object();
        q["query"] = b->second;
        call = std::make_pair(b->first, q);
    } else if (ipython) {
        Json c = Json::object();
        c["code"] = content;
        call = std::make_pair(std::string("code_interpreter"), c);
    }
    if (call) {
        r.tool_calls.push_back(ToolCall{"", call->first, call->second.dump()});
        content.clear();
    }
    r.content = std::move(content);
    return r;
}

}  // namespace scout::text
