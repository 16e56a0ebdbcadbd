// OpenAI request bodies -> validated, typed requests (docs/server.md, "Requests").
// Policy: a known field with a wrong type or an out-of-range value is a 400 naming the field;
// unknown top-level fields are ignored (clients and SDKs send extras such as "user" or
// vendor keys); known fields we cannot honour (n > 1, a non-empty logit_bias) are a 400 rather than a silent
// difference; so is a response_format schema using a keyword the grammar layer does not support.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_message.hpp"

namespace scout::grammar {
class Grammar;
}

namespace scout::server {

struct ToolSpec {
    std::string name;
    std::string description;
    nlohmann::ordered_json parameters;  // JSON schema object (may be empty)
};

enum class ToolChoice { none, auto_, required, named };

// What both endpoints share.
struct SamplingRequest {
    std::optional<float> temperature, top_p, min_p, presence_penalty, frequency_penalty, repetition_penalty;
    std::optional<int> top_k;
    std::optional<uint64_t> seed;
    std::optional<int64_t> max_tokens;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    int top_logprobs = -1;       // < 0: no logprobs
    // response_format json_object / json_schema, compiled (docs/structured-output.md); null: text.
    std::shared_ptr<const grammar::Grammar> grammar;
};

struct ChatRequest {
    std::string model;
    std::vector<text::ChatMessage> messages;
    SamplingRequest sampling;
    std::vector<ToolSpec> tools;
    ToolChoice tool_choice = ToolChoice::auto_;
    std::string tool_choice_name;  // ToolChoice::named
};

struct CompletionRequest {
    std::string model;
    std::string prompt;                  // text prompt, or
    std::vector<int32_t> prompt_tokens;  // a token-id prompt (then prompt is empty)
    bool echo = false;
    SamplingRequest sampling;
};

// Both throw ApiError (400) with the offending field as param.
ChatRequest parse_chat_request(std::string_view body);
CompletionRequest parse_completion_request(std::string_view body);

}  // namespace scout::server
