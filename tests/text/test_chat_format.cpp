// Chat format against Meta's ChatFormat ids and the HF template text for the same conversations
// (tests/data/tokenizer/chat.jsonl, made by tools/reference/tokenizer/make_chat_goldens.py).
#include "base/error.hpp"
#include "text/chat_format.hpp"
#include "text/chat_json.hpp"
#include "text/image_layout.hpp"
#include "text/special_tokens.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

TEST(ChatFormat, MatchesReferenceIdsAndHfText) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto convs = testing::read_jsonl<nlohmann::ordered_json>("chat.jsonl");
    ASSERT_GE(convs.size(), 20u);
    const ChatFormat fmt(*tok);
    for (const auto& c : convs) {
        const auto messages = parse_chat_messages(c["messages"].dump());
        EXPECT_EQ(fmt.encode_dialog_prompt(messages), testing::ids_of(c["ids"])) << c["name"];
        HfChatOptions hf;
        if (c.contains("tools")) hf.tools_json = c["tools"].dump();
        if (c.contains("tools_in_user_message")) hf.tools_in_user_message = c["tools_in_user_message"].get<bool>();
        EXPECT_EQ(render_hf_chat_text(messages, hf), c["hf_text"].get<std::string>()) << c["name"];
    }
}

TEST(ChatFormat, DocumentedExample) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const std::vector<ChatMessage> msgs = {ChatMessage::make("system", "You are a helpful assistant"),
                                           ChatMessage::make("user", "Answer who are you in the form of jeopardy?")};
    const std::vector<int32_t> want = {200000, 200005, 15651, 200006, 368, 4662, 583, 262, 19933, 43910, 200008,
                                       200005, 1556, 200006, 368, 4984, 2117, 583, 650, 310, 290, 1075, 323,
                                       1997, 153495, 43, 200008, 200005, 140680, 200006, 368};
    EXPECT_EQ(ChatFormat(*tok).encode_dialog_prompt(msgs), want);
    // Piecewise: content starting with a newline does not merge with the header's "\n\n".
    const auto ids = ChatFormat(*tok).encode_dialog_prompt(std::vector{ChatMessage::make("user", "\nhi")});
    EXPECT_EQ(ids[4], 368);
    EXPECT_EQ(ids[5], 198);
}

TEST(ChatFormat, ImageBlockSizes) {
    EXPECT_EQ(image_tokens({1, 1}).size(), 147u);
    EXPECT_EQ(image_tokens({2, 2}).size(), 727u);
    EXPECT_EQ(image_tokens({4, 4}).size(), 2467u);
    EXPECT_EQ(image_tokens({1, 3}).size(), 147u + 145u * 3u);
    const auto t = image_tokens({2, 2});
    EXPECT_EQ(t.front(), token::image_start);
    EXPECT_EQ(t.back(), token::image_end);
    EXPECT_EQ(t[145], token::tile_x_separator);
    EXPECT_EQ(t[290], token::tile_y_separator);
    const auto one = choose_tile_layout(336, 336);
    EXPECT_EQ(one.rows * one.cols, 1);
    const auto big = choose_tile_layout(1344, 1344);
    EXPECT_EQ(big.rows, 4);
    EXPECT_EQ(big.cols, 4);
    const auto wide = choose_tile_layout(1000, 200);
    EXPECT_EQ(wide.rows, 1);
    EXPECT_GT(wide.cols, 1);
}

TEST(ChatFormat, ImageSizeFromDataUrl) {
    // A 1x1 PNG header claiming 672x672 pixels gives the 2x2 grid.
    std::string png = "\x89PNG\r\n\x1a\n";
    // The IHDR chunk: length 13, type, width and height 672 (big-endian), depth 8, colour type 2,
    // three zero bytes. 21 bytes, counted by sizeof: a hand count of 25 read past the literal.
    static constexpr char kIhdr[] = "\0\0\0\x0dIHDR\0\0\x02\xa0\0\0\x02\xa0\x08\x02\0\0\0";
    png.append(kIhdr, sizeof kIhdr - 1);
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (size_t i = 0; i < png.size(); i += 3) {
        uint32_t v = 0;
        size_t n = std::min<size_t>(3, png.size() - i);
        for (size_t k2 = 0; k2 < 3; ++k2) v = (v << 8) | (k2 < n ? static_cast<uint8_t>(png[i + k2]) : 0);
        for (size_t k2 = 0; k2 < 4; ++k2) b64 += k2 <= n ? k[(v >> (18 - 6 * k2)) & 63] : '=';
    }
    const std::string msg = R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
                            b64 + R"("}}]}])";
    const auto m = parse_chat_messages(msg);
    ASSERT_EQ(m[0].content.size(), 1u);
    EXPECT_EQ(m[0].content[0].tiles.rows, 2);
    EXPECT_EQ(m[0].content[0].tiles.cols, 2);
}

TEST(ChatFormat, BadMessagesAreClearErrors) {
    const auto msg_of = [](const std::string& json) -> std::string {
        try {
            parse_chat_messages(json);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(msg_of("[").find("not valid JSON"), std::string::npos);
    EXPECT_NE(msg_of(R"({"role":"user"})").find("JSON array"), std::string::npos);
    EXPECT_NE(msg_of(R"([{"role":"robot","content":"x"}])").find("unknown role"), std::string::npos);
    EXPECT_NE(msg_of(R"([{"role":"user","content":[{"type":"image"}]}])").find("width"), std::string::npos);
    EXPECT_NE(msg_of(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}])")
                  .find("never fetched"),
              std::string::npos);
    EXPECT_NE(msg_of(R"([{"role":"user","content":[{"type":"audio"}]}])").find("unknown part type"), std::string::npos);
    EXPECT_NE(msg_of(R"([{"role":"user","content":"x","tool_calls":[]}])").find("only assistant"), std::string::npos);
}

}  // namespace
}  // namespace scout::text
