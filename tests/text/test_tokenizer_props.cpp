// Properties of the tokenizer that need no golden file (tokenizer.md §6 "further checks").
#include <random>

#include "base/error.hpp"
#include "text/special_tokens.hpp"
#include "text/stream_decoder.hpp"
#include "text/utf8.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

TEST(TokenizerProps, LoadsVocabularyAndNamedIds) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    EXPECT_EQ(tok->n_vocab(), 202048);
    EXPECT_EQ(tok->n_regular(), 200000);
    EXPECT_EQ(tok->special_id("<|begin_of_text|>"), 200000);
    EXPECT_EQ(tok->special_id("<|end_of_text|>"), 200001);
    EXPECT_EQ(tok->special_id("<|eom|>"), 200007);
    EXPECT_EQ(tok->special_id("<|eot|>"), 200008);
    EXPECT_EQ(tok->special_id("<|python_start|>"), 200016);
    EXPECT_EQ(tok->special_id("<|finetune_right_pad|>"), 200018);
    EXPECT_EQ(tok->special_id("<|image_start|>"), 200080);
    EXPECT_EQ(tok->special_id("<|tile_y_separator|>"), 200085);
    EXPECT_EQ(tok->special_id("<|patch|>"), 200092);
    EXPECT_EQ(tok->special_id("<|vision_reserved_special_token_1047|>"), 201133);
    EXPECT_EQ(tok->special_id("<|reasoning_thinking_start|>"), 201142);
    EXPECT_EQ(tok->special_id("<|reserved_special_token_903|>"), 202047);
    EXPECT_FALSE(tok->special_id("<|text_post_train_reserved_special_token_6|>").has_value());
    EXPECT_EQ(tok->stop_tokens(), (std::vector<int32_t>{200001, 200007, 200008}));
    EXPECT_EQ(tok->encode(" "), std::vector<int32_t>{220});
    EXPECT_EQ(tok->encode("\n\n"), std::vector<int32_t>{368});
    EXPECT_EQ(tok->encode("assistant"), std::vector<int32_t>{140680});
    EXPECT_EQ(tok->encode("ipython"), (std::vector<int32_t>{607, 6934}));
}

TEST(TokenizerProps, BpeOfEveryTokenIsThatToken) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    // Without the whole-piece shortcut, in both merge forms: the merge order must rebuild each token.
    for (int32_t id = 0; id < tok->n_regular(); ++id) {
        for (BpeMode mode : {BpeMode::array_only, BpeMode::heap_only}) {
            const auto got = tok->bpe(tok->token_bytes(id), mode);
            ASSERT_EQ(got.size(), 1u) << "token " << id;
            ASSERT_EQ(got[0], id);
        }
    }
}

TEST(TokenizerProps, LongPiecesAndBothMergeFormsAgree) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    // Long pieces go through the heap path; their result must equal BPE of the same bytes split
    // into two halves only where no token crosses the cut. Here: repeated spaces/dots, which the
    // reference encodes as max-length tokens followed by a remainder.
    for (size_t n : {129u, 200u, 1000u, 25000u}) {
        const std::string dots(n, '.');
        const auto ids = tok->bpe(dots);
        EXPECT_EQ(tok->decode_bytes(ids), dots);
        const std::string spaces(n, ' ');
        EXPECT_EQ(tok->decode_bytes(tok->bpe(spaces)), spaces);
    }
    // The heap and the array form agree on every corpus piece up to the array's limit.
    const auto docs = testing::read_jsonl("corpus.jsonl");
    for (size_t d = 0; d < docs.size(); d += 7) {
        const std::string text = docs[d]["text"].get<std::string>();
        for (size_t i = 0; i + 1 < text.size(); i += 97) {
            const std::string piece = text.substr(i, std::min<size_t>(1 + i % 128, text.size() - i));
            ASSERT_EQ(tok->bpe(piece, BpeMode::array_only), tok->bpe(piece, BpeMode::heap_only)) << d << ":" << i;
        }
    }
}

TEST(TokenizerProps, EveryIdDecodesAndOutOfRangeIsAnError) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto names = llama4_special_tokens();
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
        const int32_t one[] = {id};
        const std::string bytes = tok->decode_bytes(one);
        ASSERT_FALSE(bytes.empty()) << id;
        if (id >= 200000) {
            ASSERT_EQ(bytes, names[id - 200000]);
        }
        ASSERT_EQ(tok->decode(one), utf8::sanitize(bytes));
    }
    for (int32_t bad : {202048, 300000, -1}) {
        const int32_t one[] = {bad};
        EXPECT_THROW(tok->decode(one), Error) << bad;
    }
}

TEST(TokenizerProps, StreamingDecoderEqualsFullDecode) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const std::vector<std::string> texts = {"Hello 👍 world", "日本語のテキスト", "👨‍👩‍👧‍👦🇺🇸 ok", "e\u0301 ß ẞ",
                                            "plain ascii", ""};
    for (const auto& t : texts) {
        const auto ids = tok->encode(t);
        StreamDecoder sd(*tok);
        std::string streamed;
        for (int32_t id : ids) {
            const std::string part = sd.push(id);
            EXPECT_TRUE(utf8::is_valid(part));
            EXPECT_EQ(part.find("\xEF\xBF\xBD"), std::string::npos) << "partial character emitted for " << t;
            streamed += part;
        }
        streamed += sd.flush();
        EXPECT_EQ(streamed, tok->decode(ids));
        EXPECT_EQ(streamed, t);
    }
    // Random id sequences, including partial characters and invalid byte orders.
    std::mt19937_64 rng(test::test_seed());
    std::uniform_int_distribution<int32_t> pick(0, tok->n_vocab() - 1);
    for (int rep = 0; rep < 300; ++rep) {
        std::vector<int32_t> ids(1 + rep % 17);
        for (auto& id : ids) id = rep % 3 == 0 ? pick(rng) % 2000 : pick(rng);
        StreamDecoder sd(*tok);
        std::string streamed;
        for (int32_t id : ids) streamed += sd.push(id);
        streamed += sd.flush();
        ASSERT_EQ(streamed, tok->decode(ids)) << "rep " << rep;
    }
}

TEST(TokenizerProps, InvalidUtf8IsReplacedLikePython) {
    EXPECT_EQ(utf8::sanitize("\xF0\x9F\x91"), "\xEF\xBF\xBD");
    EXPECT_EQ(utf8::sanitize("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(utf8::sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(utf8::sanitize("\xF4\x90\x80\x80"), std::string(4 * 3, 'x').replace(0, 12, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
    EXPECT_EQ(utf8::sanitize("a\xE2\x82" "b"), "a\xEF\xBF\xBD" "b");
}

TEST(TokenizerProps, AllowedSpecialSetRejectsUnknownNames) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    EncodeOptions o;
    o.allow_special = AllowSpecial::set;
    o.allowed = {"<|eot_id|>"};
    EXPECT_THROW(tok->encode("x", o), Error);
}

}  // namespace
}  // namespace scout::text
