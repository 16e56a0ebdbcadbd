// Parsing a generated assistant reply back into content and tool calls, as llama-models'
// ChatFormat.decode_assistant_message_from_content does (tokenizer.md §5.5), for the server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/chat_message.hpp"

namespace scout::text {

struct AssistantReply {
    std::string content;              // empty when a tool call was recognised
    std::vector<ToolCall> tool_calls;  // at most one (the reference keeps only the first)
    StopReason stop_reason = StopReason::none;
};

// text is the decoded reply, special tokens included (e.g. "...<|eot|>"). stop_reason is what the
// generation loop saw; a trailing <|eot|>/<|eom|> in text overrides it.
AssistantReply parse_assistant_reply(std::string_view text, StopReason stop_reason);

}  // namespace scout::text
