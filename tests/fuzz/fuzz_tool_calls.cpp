// libFuzzer target: every reader of nested text that comes from outside or from the model — the
// OpenAI server's tool-call reader (parse_tool_calls, may_start_tool_call), the reference reply
// reader (parse_assistant_reply), and chat messages in JSON (parse_chat_messages) rendered back
// into the prompt (render_hf_chat_text, which renders tool-call arguments as Python values).
// Errors must be scout::Error; anything else escaping, a crash or a stack overflow is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "text/chat_format.hpp"
#include "text/chat_json.hpp"
#include "text/chat_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)scout::text::parse_tool_calls(text);
    (void)scout::text::may_start_tool_call(text);
    (void)scout::text::parse_assistant_reply(text, scout::text::MessageEnd::none);
    try {
        const auto messages = scout::text::parse_chat_messages(text);
        (void)scout::text::render_hf_chat_text(messages);
    } catch (const scout::Error&) {
    }
    return 0;
}
