// Meta's Llama 4 ChatFormat (llama-models chat_format.py; tokenizer.md §5): a conversation to the
// ids of the prompt that the assistant's reply continues. Each text piece is encoded on its own
// (header "\n\n", every content item, every tool call), so ids can differ from encoding the
// rendered string; special-token text inside messages stays text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "text/chat_message.hpp"
#include "text/image_layout.hpp"
#include "text/tokenizer.hpp"

namespace scout::text {

// How past assistant tool calls are written (llama-models ToolPromptFormat; json is its default).
enum class ToolPromptFormat { json, function_tag, python_list };

struct ChatFormatOptions {
    ToolPromptFormat tool_format = ToolPromptFormat::json;
    ImageTokenParams image;
};

class ChatFormat {
public:
    explicit ChatFormat(const Tokenizer& tokenizer, ChatFormatOptions options = {})
        : tok_(&tokenizer), options_(options) {}

    // <|begin_of_text|>, every message, then <|header_start|>assistant<|header_end|>\n\n.
    std::vector<int32_t> encode_dialog_prompt(std::span<const ChatMessage> messages) const;
    // Header, content, tool calls, then <|eom|> or <|eot|>.
    void encode_message(const ChatMessage& message, std::vector<int32_t>& out) const;
    void encode_header(const std::string& role, std::vector<int32_t>& out) const;
    // Completion mode: content with BOS before the first item and no headers.
    std::vector<int32_t> encode_content(std::span<const ContentPart> content) const;

    // The text the reference encodes for one tool call.
    std::string tool_call_text(const ToolCall& call) const;

private:
    void encode_parts(std::span<const ContentPart> parts, bool bos, std::vector<int32_t>& out) const;

    const Tokenizer* tok_;
    ChatFormatOptions options_;
};

struct HfChatOptions {
    bool add_generation_prompt = true;
    std::string tools_json;              // a JSON array of tool definitions; empty = no tools
    bool tools_in_user_message = true;   // the template's default
};

// The same conversation as text, as the Hugging Face Llama 4 chat template renders it: for the
// server and for display. Not token-identical to encode_dialog_prompt in general
// (tokenizer.md §5.2-5.3). Throws scout::Error when tools go in the user message and there is none.
std::string render_hf_chat_text(std::span<const ChatMessage> messages, const HfChatOptions& options = {});

}  // namespace scout::text
