// render_hf_chat_text: the Hugging Face Llama 4 chat template (transformers 4.51.3,
// processing_llama4.py) re-stated. Rules it keeps on purpose:
// - the first system message is |trim'ed (Python str.strip) and, given as parts, only its first
//   part's text is used; later system messages render like user messages;
// - images render as <|image|> (one placeholder, no tile layout), other parts as nothing;
// - assistant tool calls render as <|python_start|>content<|python_end|> then
//   {"name": "...", "parameters": <json>} per call, ending with <|eot|>;
// - tool/ipython messages get the ipython header and their content as JSON (a string content is
//   "iterable" in Jinja, so it is quoted too), ending with <|eot|> (the reference uses <|eom|>);
// - RAG context and stop reasons are not rendered;
// - with tools: the system block starts "Environment: ipython\n"; by default the first user message
//   is replaced by an instruction block listing the tools (json.dumps indent=4) followed by that
//   message |trim'ed; otherwise the instruction and the tools go into the system block.
#include <string>

#include "base/error.hpp"
#include "text/chat_format.hpp"
#include "text/json_limits.hpp"
#include "text/py_json.hpp"
#include "text/unicode_tables.hpp"
#include "text/utf8.hpp"

namespace scout::text {
namespace {

// Python str.strip(): removes leading and trailing characters for which str.isspace() is true.
std::string py_strip(const std::string& s) {
    std::vector<size_t> starts;
    std::vector<uint8_t> space;
    for (size_t i = 0; i < s.size();) {
        size_t bad = 0;
        const size_t n = utf8::valid_sequence_length(s, i, &bad);
        const uint32_t cp = n ? utf8::decode_at(s, i, n) : 0xFFFD;
        starts.push_back(i);
        space.push_back((unicode::flags_of(cp) & unicode::k_py_space) != 0);
        i += n ? n : bad;
    }
    starts.push_back(s.size());
    size_t a = 0, b = space.size();
    while (a < b && space[a]) ++a;
    while (b > a && space[b - 1]) --b;
    return s.substr(starts[a], starts[b] - starts[a]);
}

std::string parts_text(const ChatMessage& m) {
    std::string s;
    for (const auto& p : m.content) s += p.kind == ContentPart::Kind::text ? p.text : "<|image|>";
    return s;
}

nlohmann::ordered_json content_json(const ChatMessage& m) {
    if (!m.content_is_list) return m.content.empty() ? std::string() : m.content[0].text;
    auto arr = nlohmann::ordered_json::array();
    for (const auto& p : m.content) {
        nlohmann::ordered_json j;
        if (p.kind == ContentPart::Kind::text) {
            j["type"] = "text";
            j["text"] = p.text;
        } else {
            j["type"] = "image";
        }
        arr.push_back(j);
    }
    return arr;
}

}  // namespace

std::string render_hf_chat_text(std::span<const ChatMessage> messages, const HfChatOptions& options) {
    nlohmann::ordered_json tools;
    const bool has_tools = !options.tools_json.empty();
    if (has_tools) {
        tools = parse_json_limited(options.tools_json, "tools");
        check(tools.is_array(), "tools must be a JSON array of tool definitions");
    }
    const auto tool_list = [&] {
        std::string s;
        for (const auto& t : tools) s += py_json_dumps(t, false, 4) + "\n\n";
        return s;
    };
    constexpr const char* k_format =
        "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
        "Do not use variables.\n\n";

    std::string out = "<|begin_of_text|>";
    size_t first = 0;
    if (!messages.empty() && messages[0].role == "system") {
        const auto& c = messages[0].content;
        const std::string sys = c.empty() ? std::string() : py_strip(c[0].kind == ContentPart::Kind::text ? c[0].text : "");
        out += "<|header_start|>system<|header_end|>\n\n";
        if (has_tools) out += "Environment: ipython\n";
        if (has_tools && !options.tools_in_user_message) {
            out += "You have access to the following functions. To call a function, please respond with JSON for a "
                   "function call.";
            out += k_format + tool_list();
        }
        out += sys + "<|eot|>";
        first = 1;
    }
    if (has_tools && options.tools_in_user_message) {
        check(first < messages.size(), "Cannot put tools in the first user message when there's no first user message!");
        out += "<|header_start|>user<|header_end|>\n\n";
        out += "Given the following functions, please respond with a JSON for a function call with its proper "
               "arguments that best answers the given prompt.\n\n";
        out += k_format + tool_list();
        out += py_strip(parts_text(messages[first])) + "<|eot|>";
        ++first;
    }
    for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == "tool" || m.role == "ipython") {
            out += "<|header_start|>ipython<|header_end|>\n\n" + py_json_dumps(content_json(m), false) + "<|eot|>";
        } else if (!m.tool_calls.empty()) {
            out += "<|header_start|>assistant<|header_end|>\n\n<|python_start|>" + parts_text(m) + "<|python_end|>";
            for (const auto& call : m.tool_calls) {
                const auto args = parse_json_limited(call.arguments_json.empty() ? "{}" : call.arguments_json,
                                                     cat("arguments of tool call '", call.name, "'"));
                out += "{\"name\": \"" + call.name + "\", \"parameters\": " + py_json_dumps(args, false) + "}";
            }
            out += "<|eot|>";
        } else {
            out += "<|header_start|>" + m.role + "<|header_end|>\n\n" + parts_text(m) + "<|eot|>";
        }
    }
    if (options.add_generation_prompt) out += "<|header_start|>assistant<|header_end|>\n\n";
    return out;
}

}  // namespace scout::text
