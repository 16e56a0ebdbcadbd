// Why a generation ended: the one list shared by the generation loop (run, chat), the scheduler
// (serve) and everything that reports it. The server turns it into OpenAI's finish_reason in one
// place (server/openai_response.hpp, openai_finish_reason).
//
// Not to be confused with text::MessageEnd, which says which end token closes an assistant
// message in Meta's chat format (<|eot|> or <|eom|>); message_end() derives it from a stop.
#pragma once

#include <cstdint>

#include "text/chat_message.hpp"

namespace scout::engine {

enum class StopReason {
    none,          // not ended (yet): every event of a stream but the last
    stop_token,    // sampled a stop token (<|eot|>, <|eom|>, <|end_of_text|>, the checkpoint's EOS); it is the last token
    stop_string,   // the text reached a stop string; the text is cut before it
    max_tokens,    // the request's token limit
    context_full,  // no position left in the context for another token
    cancelled,     // the caller cancelled (Ctrl-C, client gone, server shutting down)
    error,         // the forward pass or the sampler failed
};

// Words for people: "stop token", "stop string", "token limit", "context full", "cancelled", ...
const char* stop_reason_name(StopReason r);

// True when the generation ran to one of its own ends (a stop token or string, a limit): its text is
// complete and may be answered; false for none, cancelled and error.
bool ended_normally(StopReason r);

// The chat-format end of a reply that stopped this way with `last_token` as its last generated
// token: end_of_turn / end_of_message when it stopped at <|eot|> / <|eom|>; none when it carries
// no chat end token (a limit, a stop string, cancelled, or another stop token such as
// <|end_of_text|>), so whoever continues the conversation has to close it.
text::MessageEnd message_end(StopReason r, int32_t last_token);

}  // namespace scout::engine
