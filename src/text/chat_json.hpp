// OpenAI-style chat messages (JSON) -> ChatMessage, with errors that say what to fix.
//   [{"role": "system"|"user"|"assistant"|"tool"|"ipython", "content": STRING | [PART, ...],
//     "tool_calls": [{"id", "type": "function", "function": {"name", "arguments": OBJECT | JSON STRING}}],
//     "stop_reason": "end_of_message" | "end_of_turn",   (scout extension, assistant)
//     "context": STRING}]                                 (scout extension, user RAG context)
// PART: {"type": "text", "text": ...} or an image: {"type": "image" | "image_url", ...}. The image's
// tile grid comes from "width"/"height" (pixels), from "tiles": [rows, cols], or from the pixel
// size in the header of a base64 PNG/JPEG/GIF data URL in image_url.url.
#pragma once

#include <string_view>
#include <vector>

#include "text/chat_message.hpp"

namespace scout::text {

std::vector<ChatMessage> parse_chat_messages(std::string_view json_text, const ImageTokenParams& params = {});

}  // namespace scout::text
