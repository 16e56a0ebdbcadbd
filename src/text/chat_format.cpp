#include "text/chat_format.hpp"

#include "base/error.hpp"
#include "text/json_limits.hpp"
#include "text/py_json.hpp"
#include "text/special_tokens.hpp"

namespace scout::text {
namespace {

bool is_tool_role(const std::string& role) { return role == "tool" || role == "ipython"; }

nlohmann::ordered_json parse_arguments(const ToolCall& call) {
    return parse_json_limited(call.arguments_json.empty() ? "{}" : call.arguments_json,
                              cat("arguments of tool call '", call.name, "'"));
}

// Python's str() of a value inside the python_list tool format.
std::string python_value(const nlohmann::ordered_json& v, int depth = 0) {
    check_json_depth(depth);
    if (v.is_string()) {
        std::string s(1, '"');  // appended, not operator+: GCC 12 warns falsely (-Wrestrict) on the chain
        s += v.get<std::string>();
        s += '"';
        return s;
    }
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_null()) return "None";
    if (v.is_array()) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + python_value(v[i], depth + 1);
        return s + "]";
    }
    if (v.is_object()) {
        std::string s = "{";
        bool first = true;
        for (const auto& [k, x] : v.items()) {
            s += (first ? "" : ", ") + k + "=" + python_value(x, depth + 1);
            first = false;
        }
        return s + "}";
    }
    return py_json_dumps(v, true);
}

}  // namespace

std::string ChatFormat::tool_call_text(const ToolCall& call) const {
    const auto args = parse_arguments(call);
    const auto query = [&] {
        check(args.is_object() && args.contains("query") && args["query"].is_string(),
              cat("builtin tool ", call.name, " needs a string \"query\" argument"));
        return args["query"].get<std::string>();
    };
    // Builtin tools (llama-models BuiltinTool) have their own call syntax.
    if (call.name == "brave_search" || call.name == "wolfram_alpha" || call.name == "photogen")
        return call.name + ".call(query=\"" + query() + "\")";
    if (call.name == "code_interpreter") {
        check(args.is_object() && args.contains("code") && args["code"].is_string(),
              "builtin tool code_interpreter needs a string \"code\" argument");
        return args["code"].get<std::string>();
    }
    switch (options_.tool_format) {
        case ToolPromptFormat::json: {
            nlohmann::ordered_json j;
            j["type"] = "function";
            j["name"] = call.name;
            j["parameters"] = args;
            return py_json_dumps(j, true);
        }
        case ToolPromptFormat::function_tag:
            return "<function=" + call.name + ">" + py_json_dumps(args, true) + "</function>";
        case ToolPromptFormat::python_list: {
            std::string s = "[" + call.name + "(";
            bool first = true;
            for (const auto& [k, v] : args.items()) {
                s += (first ? "" : ", ") + k + "=" + python_value(v);
                first = false;
            }
            return s + ")]";
        }
    }
    return {};
}

void ChatFormat::encode_header(const std::string& role, std::vector<int32_t>& out) const {
    out.push_back(token::header_start);
    tok_->encode_append(is_tool_role(role) ? "ipython" : role, {}, out);
    out.push_back(token::header_end);
    tok_->encode_append("\n\n", {}, out);
}

void ChatFormat::encode_parts(std::span<const ContentPart> parts, bool bos, std::vector<int32_t>& out) const {
    bool added_bos = false;
    for (const auto& p : parts) {
        if (bos && !added_bos) {
            out.push_back(token::bos);
            added_bos = true;
        }
        if (p.kind == ContentPart::Kind::text) {
            tok_->encode_append(p.text, {}, out);
        } else {
            const auto t = image_tokens(p.tiles, options_.image);
            out.insert(out.end(), t.begin(), t.end());
        }
    }
}

void ChatFormat::encode_message(const ChatMessage& m, std::vector<int32_t>& out) const {
    check(m.role == "system" || m.role == "user" || m.role == "assistant" || is_tool_role(m.role),
          cat("unknown message role '", m.role, "': use system, user, assistant or tool"));
    encode_header(m.role, out);
    encode_parts(m.content, false, out);
    if (m.role == "user" && m.context) {
        tok_->encode_append("\n\n", {}, out);
        tok_->encode_append(*m.context, {}, out);
    }
    if (m.role == "assistant")
        for (const auto& c : m.tool_calls) tok_->encode_append(tool_call_text(c), {}, out);
    const bool eom = (m.role == "assistant" && (m.end == MessageEnd::end_of_message || !m.tool_calls.empty())) ||
                     is_tool_role(m.role);
    out.push_back(eom ? token::eom : token::eot);
}

std::vector<int32_t> ChatFormat::encode_dialog_prompt(std::span<const ChatMessage> messages) const {
    std::vector<int32_t> out{token::bos};
    for (const auto& m : messages) encode_message(m, out);
    encode_header("assistant", out);
    return out;
}

std::vector<int32_t> ChatFormat::encode_content(std::span<const ContentPart> content) const {
    std::vector<int32_t> out;
    encode_parts(content, true, out);
    return out;
}

}  // namespace scout::text
