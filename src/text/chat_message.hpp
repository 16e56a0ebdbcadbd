// A conversation as the chat format sees it. Built from OpenAI-style JSON (chat_json.hpp) by the
// CLI and the server, or directly by the generation loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "text/image_layout.hpp"

namespace scout::text {

struct ContentPart {
    enum class Kind { text, image };
    Kind kind = Kind::text;
    std::string text;   // Kind::text
    TileLayout tiles;   // Kind::image: the tile grid the vision encoder uses for this image
    std::string data;   // Kind::image given as a base64 data URL: the file's bytes (else empty)

    static ContentPart make_text(std::string t) { return {Kind::text, std::move(t), {}, {}}; }
    static ContentPart make_image(TileLayout l, std::string data = {}) { return {Kind::image, {}, l, std::move(data)}; }
};

struct ToolCall {
    std::string id;
    std::string name;
    std::string arguments_json;  // a JSON object, keys in the caller's order
};

// Which end token closes an assistant message in Meta's chat format (llama-models calls this the
// message's StopReason). A property of the conversation, not of generation: why a generation
// ended is engine::StopReason, and engine::message_end() derives this from it. llama-models'
// third value, out_of_tokens (a reply cut by a limit: no end token), is `none` here: both render
// as <|eot|> and neither says more about the message.
enum class MessageEnd {
    none,            // not said: <|eot|>, or <|eom|> when the message carries tool calls
    end_of_turn,     // <|eot|>: the assistant's turn is over
    end_of_message,  // <|eom|>: the assistant waits for a tool's result
};

struct ChatMessage {
    std::string role;  // system | user | assistant | tool ("ipython" is accepted as tool)
    std::vector<ContentPart> content;
    bool content_is_list = false;         // content was given as a list of parts (the HF template differs)
    std::vector<ToolCall> tool_calls;     // assistant only
    MessageEnd end = MessageEnd::none;    // assistant: end_of_message gives <|eom|> (JSON "stop_reason")
    std::optional<std::string> context;   // user: RAG context appended after "\n\n" (reference only)

    static ChatMessage make(std::string role, std::string text) {
        ChatMessage m;
        m.role = std::move(role);
        m.content.push_back(ContentPart::make_text(std::move(text)));
        return m;
    }
};

}  // namespace scout::text
