// Chat response bodies, apart from HTTP so they can be tested with scripted scheduler events:
// the whole chat.completion object, and the SSE chunks of a streamed one (tool calls included).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/scheduler.hpp"
#include "server/tool_calls.hpp"
#include "text/tokenizer.hpp"

namespace scout::server {

// Dumps JSON, replacing bytes that are not valid UTF-8 (a logprob token may hold half a character).
std::string dump_json(const nlohmann::ordered_json& j);
std::string random_id(const char* prefix);  // prefix + 24 random hex digits
int64_t unix_now();

nlohmann::ordered_json usage_json(const engine::StreamEvent& end);
// OpenAI's finish_reason for how a reply ended, decided here only: "tool_calls" when the reply
// was read as tool calls, "length" at the token limit or a full context, "stop" at a stop token
// or string; null (JSON) while not ended and for cancelled/error, which are answered as errors.
nlohmann::ordered_json openai_finish_reason(engine::StopReason r, bool tool_calls = false);
nlohmann::ordered_json chat_logprob_json(const text::Tokenizer& tok, const engine::TokenLogprob& lp);
// OpenAI's tool_calls list; with_index for stream deltas.
nlohmann::ordered_json tool_calls_json(const std::vector<text::ToolCall>& calls, bool with_index);

struct ChatReplyInfo {
    std::string id;
    int64_t created = 0;
    std::string model;
    bool tools_on = false;       // parse the reply for tool calls
    bool want_logprobs = false;
    bool include_usage = false;  // streaming: a last chunk with usage
    const text::Tokenizer* tokenizer = nullptr;  // needed only for logprobs
};

// The chat.completion object for a whole reply (end: the final event).
nlohmann::ordered_json chat_completion_json(const ChatReplyInfo& info, const std::string& text,
                                            const nlohmann::ordered_json& logprobs, const engine::StreamEvent& end);

// A streamed chat completion: scheduler events in, SSE text out ("data: {...}\n\n" lines, ending
// with "data: [DONE]\n\n"). With tools, text that may be a call list is held (ToolCallStream) and
// sent at the end as one tool_calls delta with finish_reason "tool_calls".
class ChatStream {
public:
    explicit ChatStream(ChatReplyInfo info);
    std::string start();  // the first chunk: role "assistant", empty content
    // The SSE text for one event ("" when nothing is to be sent yet).
    std::string add(engine::StreamEvent& e);
    bool done() const { return done_; }

private:
    std::string chunk(nlohmann::ordered_json delta, nlohmann::ordered_json finish, nlohmann::ordered_json logprobs) const;

    ChatReplyInfo info_;
    std::optional<ToolCallStream> tools_;
    nlohmann::ordered_json held_logprobs_ = nlohmann::ordered_json::array();
    bool done_ = false;
};

}  // namespace scout::server
