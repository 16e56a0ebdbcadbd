// Tool calling for Llama 4 (tokenizer.md §5.5): the tool list goes into the system message as
// Meta's zero-shot format asks, and the model answers with a pythonic list of calls
// `[get_weather(city="Paris"), f(n=1)]`. Models also answer in JSON (`{"name": ..., "parameters": ...}`,
// a list of those) or in the `<function=name>{...}</function>` form; text::parse_tool_calls reads
// all three, with or without a <|python_start|> wrapper, and a call list may follow some text.
// While streaming, ToolCallStream holds back text that may still become a call list.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/openai_request.hpp"
#include "text/chat_message.hpp"
#include "text/chat_reply.hpp"

namespace scout::server {

// The instructions plus the JSON list of functions, for the system message.
std::string tools_prompt(std::span<const ToolSpec> tools, ToolChoice choice, const std::string& choice_name);

// Puts the tools prompt into the conversation: appended to the first system message, or as a new
// system message in front. Nothing changes when tools is empty or choice is none.
void add_tools_to_messages(std::vector<text::ChatMessage>& messages, std::span<const ToolSpec> tools,
                           ToolChoice choice, const std::string& choice_name);

// Reading calls out of a reply is text's job (text/chat_reply.hpp, one implementation for the
// server and the reference rule); the server uses it under these names.
using text::may_start_tool_call;
using text::parse_tool_calls;
using text::ParsedToolCalls;

// Streaming with tools: text that may still become a call list is held back; once it clearly is
// plain text it is released and everything after it streams through unchanged.
class ToolCallStream {
public:
    // Adds generated text; returns the text that may be sent now ("" while holding).
    std::string add(std::string_view text);
    // The end of the reply: the calls when the held text parses as a call list (and parse is
    // true), else the held text as content (calls empty).
    ParsedToolCalls finish(bool parse);
    bool holding() const { return holding_; }

private:
    bool holding_ = true;
    std::string held_;
};

}  // namespace scout::server
