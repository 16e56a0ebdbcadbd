// Tool calls in generated replies. The readers come first (shared), then the two rules built on
// them (see chat_reply.hpp).
//
// parse_assistant_reply restates llama-models' decode_assistant_message_from_content and ToolUtils
// (models/llama3/tool_utils.py) rule by rule:
//  1. strip spaces; drop a leading "<|header_start|>assistant<|header_end|>\n\n";
//  2. "<|python_start|>" first: drop it and every "<|python_end|>"; the reply is then code;
//  3. a trailing <|eot|> / <|eom|> is removed and sets the stop reason;
//  4. a tool call is, in this order: <function=NAME>{json}</function> (single quotes read as double),
//     a JSON object with "name" (and "parameters"), a Python list of keyword-only calls (first call
//     only), NAME.call(query="...") for builtins, else the code of step 2 (code_interpreter);
//  5. a custom call whose NAME is a builtin tool takes its first argument as {"query": ...}.
//
// parse_tool_calls is the server's more forgiving reading: all calls of a list, a bare call, JSON
// with "arguments" (object or JSON string) or a list of call objects, a sequence of
// <function=NAME>{...}</function>, JSON's true/false/null in pythonic calls, and leading text.
#include "text/chat_reply.hpp"

#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>

#include "text/json_limits.hpp"
#include "text/unicode_tables.hpp"
#include "text/utf8.hpp"

namespace scout::text {
namespace {

using Json = nlohmann::ordered_json;
using Call = std::pair<std::string, Json>;  // (function name, arguments)

// --- shared readers ------------------------------------------------------------------------------

enum class CallSyntax {
    python,   // what the reference reads: ast.literal_eval of a list of keyword-only calls
    lenient,  // also a bare call, names with '-' or '.', JSON literals, raw newlines in strings
};

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// The model's reply is untrusted text too: too deep is "not a call", like any other bad JSON.
std::optional<Json> parse_json(std::string_view s) { return try_parse_json_limited(s); }

// Arguments as ToolCall::arguments_json: compact; ill-formed UTF-8 from escapes becomes U+FFFD.
std::string dump_args(const Json& args) { return args.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A recursive-descent reader of the Python literal subset models write in call lists.
class CallListReader {
public:
    CallListReader(std::string_view s, CallSyntax syntax) : s_(s), lenient_(syntax == CallSyntax::lenient) {}

    // [name(k=v, ...), ...] (lenient: or one bare call); the whole input must be read.
    std::optional<std::vector<Call>> read() {
        // ast.parse rejects leading indentation on the first line.
        if (!lenient_ && !s_.empty() && (s_[0] == ' ' || s_[0] == '\t')) return std::nullopt;
        skip();
        std::vector<Call> calls;
        if (eat('[')) {
            skip();
            while (!eat(']')) {
                if (!call(calls)) return std::nullopt;
                skip();
                if (eat(',')) skip();
                else if (peek() != ']') return std::nullopt;
            }
        } else if (!lenient_ || !call(calls)) {
            return std::nullopt;
        }
        skip();
        if (i_ != s_.size() || calls.empty()) return std::nullopt;
        return calls;
    }

private:
    static constexpr int kMaxDepth = kMaxJsonDepth;  // nesting of values; walking them recurses

    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    void skip() {
        while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    }
    // A Python identifier (ASCII); `name` (lenient only) also takes '-' and '.' after the first character.
    std::string ident(bool name) {
        const std::size_t b = i_;
        const auto c0 = static_cast<unsigned char>(peek());
        if (!(std::isalpha(c0) || c0 == '_')) return {};
        auto word = [&](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (name && lenient_ && (c == '-' || c == '.'));
        };
        while (i_ < s_.size() && word(s_[i_])) ++i_;
        return std::string(s_.substr(b, i_ - b));
    }
    bool call(std::vector<Call>& out) {
        std::string name = ident(true);
        if (name.empty()) return false;
        skip();
        if (!eat('(')) return false;
        Json args = Json::object();
        skip();
        while (!eat(')')) {
            const std::string key = ident(true);
            skip();
            if (key.empty() || !eat('=')) return false;
            skip();
            Json v;
            if (!value(v, 0)) return false;
            args[key] = std::move(v);
            skip();
            if (eat(',')) skip();
            else if (peek() != ')') return false;
        }
        out.emplace_back(std::move(name), std::move(args));
        return true;
    }
    bool value(Json& v, int depth) {
        if (depth > kMaxDepth) return false;
        skip();
        const char c = peek();
        if (c == '"' || c == '\'') return string(v);
        if (c == '[' || c == '(') return sequence(v, c == '[' ? ']' : ')', depth);
        if (c == '{') return dict(v, depth);
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::string w = ident(false);
            if (w == "True" || (lenient_ && w == "true")) v = true;
            else if (w == "False" || (lenient_ && w == "false")) v = false;
            else if (w == "None" || (lenient_ && w == "null")) v = nullptr;
            else return false;
            return true;
        }
        return number(v);
    }
    bool sequence(Json& v, char close, int depth) {
        ++i_;
        v = Json::array();
        skip();
        while (!eat(close)) {
            Json e;
            if (!value(e, depth + 1)) return false;
            v.push_back(std::move(e));
            skip();
            if (eat(',')) skip();
            else if (peek() != close) return false;
        }
        return true;
    }
    bool dict(Json& v, int depth) {
        ++i_;
        v = Json::object();
        skip();
        while (!eat('}')) {
            Json k;
            if (!value(k, depth + 1) || !k.is_string()) return false;
            skip();
            if (!eat(':')) return false;
            Json e;
            if (!value(e, depth + 1)) return false;
            v[k.get<std::string>()] = std::move(e);
            skip();
            if (eat(',')) skip();
            else if (peek() != '}') return false;
        }
        return true;
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
        const char q = s_[i_++];
        std::string out;
        while (i_ < s_.size() && s_[i_] != q) {
            const char c = s_[i_++];
            if (c == '\n' && !lenient_) return false;  // a Python string literal ends at the line
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            const char e = s_[i_++];
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case '\\': case '\'': case '"': out += e; break;
                case 'u': {
                    uint32_t cp = 0;
                    for (int k = 0; k < 4; ++k, ++i_) {
                        const char h = peek();
                        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
                        cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                                 ? h - '0'
                                                                 : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
                    }
                    utf8::append(out, cp);
                    break;
                }
                default: out += '\\'; out += e;
            }
        }
        if (!eat(q)) return false;
        v = std::move(out);
        return true;
    }

    std::string_view s_;
    bool lenient_;
    std::size_t i_ = 0;
};

// A JSON tool call object. python: ToolUtils' rule, a string "name" and "parameters" taken as they
// are. lenient: a non-empty "name", "type" absent or "function", arguments from "parameters" or
// "arguments" (an object, or a JSON string holding one).
std::optional<Call> json_call(const Json& j, CallSyntax syntax) {
    if (!j.is_object()) return std::nullopt;
    const auto name = j.find("name");
    if (name == j.end() || !name->is_string()) return std::nullopt;
    if (syntax == CallSyntax::python) {
        const auto params = j.find("parameters");
        if (params == j.end()) return std::nullopt;
        return Call{name->get<std::string>(), *params};
    }
    if (name->get<std::string>().empty()) return std::nullopt;
    if (const auto type = j.find("type"); type != j.end() && *type != "function") return std::nullopt;
    Json args = Json::object();
    for (const char* key : {"parameters", "arguments"}) {
        const auto it = j.find(key);
        if (it == j.end()) continue;
        if (it->is_string()) {
            auto parsed = parse_json(it->get<std::string>());
            if (!parsed) return std::nullopt;
            args = std::move(*parsed);
        } else {
            args = *it;
        }
        if (!args.is_object()) return std::nullopt;
    }
    return Call{name->get<std::string>(), std::move(args)};
}

// --- the reference's rule (parse_assistant_reply) ------------------------------------------------

bool is_builtin(const std::string& name) {
    return name == "brave_search" || name == "wolfram_alpha" || name == "photogen" || name == "code_interpreter";
}

// Python's \w for one code point: str.isalnum() or '_'.
bool is_word_cp(uint32_t cp) {
    return cp == '_' || (unicode::flags_of(cp) & (unicode::k_letter | unicode::k_number)) != 0;
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

// ToolUtils.maybe_extract_custom_tool_call: (name, arguments) or nullopt.
std::optional<Call> custom_tool_call(const std::string& s) {
    if (const auto tag = find_function_tag(s)) {
        std::string args = tag->second;
        for (char& c : args)
            if (c == '\'') c = '"';
        const auto j = parse_json(args);
        if (!j) return std::nullopt;  // the reference gives up here, without trying other forms
        return Call{tag->first, *j};
    }
    if (const auto j = parse_json(s); j && j->is_object()) return json_call(*j, CallSyntax::python);
    if (auto calls = CallListReader(s, CallSyntax::python).read()) return std::move(calls->front());
    return std::nullopt;
}

// --- the server's rule (parse_tool_calls) --------------------------------------------------------

constexpr std::string_view kPythonStart = "<|python_start|>";
constexpr std::string_view kPythonEnd = "<|python_end|>";

bool json_calls(std::string_view s, std::vector<Call>& out) {
    const auto j = parse_json(s);
    if (!j) return false;
    if (!j->is_array()) {
        auto c = json_call(*j, CallSyntax::lenient);
        if (c) out.push_back(std::move(*c));
        return c.has_value();
    }
    for (const auto& e : *j) {
        auto c = json_call(e, CallSyntax::lenient);
        if (!c) return false;
        out.push_back(std::move(*c));
    }
    return !out.empty();
}

// <function=NAME>{...}</function>, one or more, and nothing else.
bool function_tags(std::string_view s, std::vector<Call>& out) {
    constexpr std::string_view open = "<function=", close = "</function>";
    s = trim(s);
    while (!s.empty()) {
        if (!starts_with(s, open)) return false;
        s.remove_prefix(open.size());
        const auto gt = s.find('>');
        const auto end = s.find(close);
        if (gt == std::string_view::npos || end == std::string_view::npos || end < gt || gt == 0) return false;
        auto args = parse_json(s.substr(gt + 1, end - gt - 1));
        if (!args || !args->is_object()) return false;
        out.emplace_back(std::string(s.substr(0, gt)), std::move(*args));
        s = trim(s.substr(end + close.size()));
    }
    return !out.empty();
}

// The whole of s is a call list in one of the accepted forms.
bool calls_exactly(std::string_view s, std::vector<Call>& out) {
    s = trim(s);
    if (s.empty()) return false;
    out.clear();
    if (s.front() == '{' || (s.front() == '[' && trim(s.substr(1)).substr(0, 1) == "{"))
        if (json_calls(s, out)) return true;
    out.clear();
    if (s.front() == '<') return function_tags(s, out);
    auto calls = CallListReader(s, CallSyntax::lenient).read();
    if (!calls) return false;
    out = std::move(*calls);
    return true;
}

ParsedToolCalls to_parsed(std::string content, std::vector<Call>& calls) {
    ParsedToolCalls r;
    r.content = std::move(content);
    for (auto& [name, args] : calls) r.calls.push_back(ToolCall{"", std::move(name), dump_args(args)});
    return r;
}

}  // namespace

AssistantReply parse_assistant_reply(std::string_view text, MessageEnd end) {
    std::string_view v = text;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    constexpr std::string_view header = "<|header_start|>assistant<|header_end|>\n\n";
    if (starts_with(v, header)) v.remove_prefix(header.size());
    std::string content(v);
    const bool ipython = starts_with(content, kPythonStart);
    if (ipython) {
        content.erase(0, kPythonStart.size());
        for (size_t p; (p = content.find(kPythonEnd)) != std::string::npos;) content.erase(p, kPythonEnd.size());
    }
    AssistantReply r;
    r.end = end;
    if (ends_with(content, "<|eot|>")) {
        content.resize(content.size() - 7);
        r.end = MessageEnd::end_of_turn;
    } else if (ends_with(content, "<|eom|>")) {
        content.resize(content.size() - 7);
        r.end = MessageEnd::end_of_message;
    }

    std::optional<Call> call = custom_tool_call(content);
    if (call) {
        if (is_builtin(call->first)) {
            Json q = Json::object();
            q["query"] = call->second.is_object() && !call->second.empty() ? call->second.begin().value() : Json();
            call->second = q;
        }
    } else if (const auto b = find_builtin_call(content)) {
        Json q = Json::object();
        q["query"] = b->second;
        call = Call{b->first, q};
    } else if (ipython) {
        Json c = Json::object();
        c["code"] = content;
        call = Call{"code_interpreter", c};
    }
    if (call) {
        r.tool_calls.push_back(ToolCall{"", call->first, dump_args(call->second)});
        content.clear();
    }
    r.content = std::move(content);
    return r;
}

std::optional<ParsedToolCalls> parse_tool_calls(std::string_view reply) {
    std::string s(reply);
    for (auto tag : {kPythonStart, kPythonEnd})
        for (std::size_t p; (p = s.find(tag)) != std::string::npos;) s.erase(p, tag.size());
    std::vector<Call> calls;
    if (calls_exactly(s, calls)) return to_parsed({}, calls);
    // Text, then a call list to the end (models sometimes explain first). Try each plausible
    // start; bounded so a long reply with many brackets costs little.
    int tries = 0;
    for (std::size_t p = 1; p < s.size() && tries < 32; ++p) {
        const char c = s[p];
        if (c != '[' && c != '{' && c != '<') continue;
        if (!is_space(s[p - 1])) continue;
        ++tries;
        if (calls_exactly(std::string_view(s).substr(p), calls))
            return to_parsed(std::string(trim(std::string_view(s).substr(0, p))), calls);
    }
    return std::nullopt;
}

bool may_start_tool_call(std::string_view prefix) {
    const std::string_view s = trim(prefix);
    if (s.empty()) return true;
    for (std::string_view start : {kPythonStart, std::string_view("<function=")})
        if (s.size() < start.size() ? starts_with(start, s) : starts_with(s, start)) return true;
    return s.front() == '[' || s.front() == '{';
}

}  // namespace scout::text
