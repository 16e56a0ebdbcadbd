#include "engine/stop_reason.hpp"

#include "text/special_tokens.hpp"

namespace scout::engine {

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::none: return "none";
        case StopReason::stop_token: return "stop token";
        case StopReason::stop_string: return "stop string";
        case StopReason::max_tokens: return "token limit";
        case StopReason::context_full: return "context full";
        case StopReason::cancelled: return "cancelled";
        case StopReason::error: return "error";
    }
    return "?";
}

bool ended_normally(StopReason r) {
    switch (r) {
        case StopReason::stop_token:
        case StopReason::stop_string:
        case StopReason::max_tokens:
        case StopReason::context_full: return true;
        case StopReason::none:
        case StopReason::cancelled:
        case StopReason::error: return false;
    }
    return false;
}

text::MessageEnd message_end(StopReason r, int32_t last_token) {
    if (r != StopReason::stop_token) return text::MessageEnd::none;
    if (last_token == text::token::eot) return text::MessageEnd::end_of_turn;
    if (last_token == text::token::eom) return text::MessageEnd::end_of_message;
    return text::MessageEnd::none;
}

}  // namespace scout::engine
