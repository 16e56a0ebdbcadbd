// Parsing generated replies against llama-models' decode_assistant_message_from_content
// (tests/data/tokenizer/replies.jsonl, made by tools/reference/tokenizer/make_reply_goldens.py).
#include "text/chat_reply.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

// llama-models' StopReason as a MessageEnd: out_of_tokens (no end token) is MessageEnd::none.
MessageEnd end_of(const std::string& s) {
    if (s == "end_of_turn") return MessageEnd::end_of_turn;
    if (s == "end_of_message") return MessageEnd::end_of_message;
    EXPECT_EQ(s, "out_of_tokens");
    return MessageEnd::none;
}

TEST(ChatReply, MatchesReference) {
    const auto cases = testing::read_jsonl<nlohmann::ordered_json>("replies.jsonl");
    ASSERT_GE(cases.size(), 40u);
    for (const auto& c : cases) {
        const std::string text = c["text"].get<std::string>();
        const auto r = parse_assistant_reply(text, end_of(c["stop_reason_in"].get<std::string>()));
        EXPECT_EQ(r.content, c["content"].get<std::string>()) << text;
        EXPECT_EQ(r.end, end_of(c["stop_reason"].get<std::string>())) << text;
        const auto& want = c["tool_calls"];
        ASSERT_EQ(r.tool_calls.size(), want.size()) << text;
        for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(r.tool_calls[i].name, want[i]["name"].get<std::string>()) << text;
            EXPECT_EQ(nlohmann::ordered_json::parse(r.tool_calls[i].arguments_json), want[i]["arguments"]) << text;
        }
    }
}

}  // namespace
}  // namespace scout::text
