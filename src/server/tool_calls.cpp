#include "server/tool_calls.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "text/py_json.hpp"

namespace scout::server {

namespace {
using Json = nlohmann::ordered_json;
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
