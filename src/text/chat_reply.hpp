// Reading a generated assistant reply back into content and tool calls. One set of readers (the
// Python-literal call list, the JSON call object, the <function=NAME>{...} tag) serves two rules:
//
//  - parse_assistant_reply: exactly llama-models' ChatFormat.decode_assistant_message_from_content
//    (tokenizer.md §5.5), checked against the reference's goldens;
//  - parse_tool_calls / may_start_tool_call: the OpenAI server's reading of what models actually write
//    (docs/server.md "Tool calls"): every call of a pythonic list `[f(a=1), g(b="x")]`, JSON
//    (`{"name", "parameters"|"arguments"}` or a list of them) or `<function=NAME>{...}</function>`,
//    with or without <|python_start|>, optionally after some leading text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_message.hpp"

namespace scout::text {

struct AssistantReply {
    std::string content;              // empty when a tool call was recognised
    std::vector<ToolCall> tool_calls;  // at most one (the reference keeps only the first)
    MessageEnd end = MessageEnd::none;
};

// text is the decoded reply, special tokens included (e.g. "...<|eot|>"). end is the end the
// generation loop saw (engine::message_end); a trailing <|eot|>/<|eom|> in text overrides it.
AssistantReply parse_assistant_reply(std::string_view text, MessageEnd end);

struct ParsedToolCalls {
    std::string content;          // text before the calls (trimmed), usually empty
    std::vector<ToolCall> calls;  // id empty; arguments_json: a compact JSON object
};

// The calls in a reply (without its stop token), or nullopt when the reply (after optional leading
// text) is not entirely a call list in one of the accepted forms. Never throws.
std::optional<ParsedToolCalls> parse_tool_calls(std::string_view reply);

// While streaming: could a reply that starts with `prefix` still turn out to be a call list
// (leading text excepted)? False once it clearly is plain text, so it can be streamed.
bool may_start_tool_call(std::string_view prefix);

}  // namespace scout::text
