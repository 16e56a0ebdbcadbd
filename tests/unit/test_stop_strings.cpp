// The stop-string filter shared by `scout run/chat` and the server (engine/stop_strings.hpp), and
// the generation stop reasons (engine/stop_reason.hpp).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "engine/stop_reason.hpp"
#include "engine/stop_strings.hpp"
#include "test_util.hpp"
#include "text/special_tokens.hpp"
#include "text/utf8.hpp"

namespace scout::engine {
namespace {

// What add() returned for each piece, then what finish() returned.
struct Filtered {
    std::vector<std::string> out;
    std::string finished;
    bool stopped = false;
    std::string all() const {
        std::string s;
        for (const auto& o : out) s += o;
        return s + finished;
    }
};

Filtered feed(std::vector<std::string> stops, const std::vector<std::string>& pieces) {
    StopStringFilter f(std::move(stops));
    Filtered r;
    for (const auto& p : pieces) r.out.push_back(f.add(p));
    r.stopped = f.stopped();
    r.finished = f.finish();
    return r;
}

using V = std::vector<std::string>;

TEST(StopStrings, NoStopsPassesTextThrough) {
    const Filtered r = feed({}, {"Hello", ", ", "world", ""});
    EXPECT_EQ(r.out, (V{"Hello", ", ", "world", ""}));
    EXPECT_EQ(r.finished, "");
    EXPECT_FALSE(r.stopped);
}

TEST(StopStrings, StopInsideOnePiece) {
    const Filtered r = feed({"STOP"}, {"one two STOP three", " four"});
    EXPECT_EQ(r.out, (V{"one two ", ""}));
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.finished, "");
}

TEST(StopStrings, StopSplitAcrossPieces) {
    // The possible start is held back piece by piece, then dropped with the stop string.
    const Filtered r = feed({"</s>"}, {"Hello <", "/", "s", "> more"});
    EXPECT_EQ(r.out, (V{"Hello ", "", "", ""}));
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.all(), "Hello ");
}

TEST(StopStrings, HeldPrefixIsReleasedWhenItDiverges) {
    const Filtered r = feed({"abc"}, {"xab", "d", "ab", "x"});
    EXPECT_EQ(r.out, (V{"x", "abd", "", "abx"}));
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(r.all(), "xabdabx");
}

TEST(StopStrings, StopAtTheVeryStart) {
    EXPECT_EQ(feed({"Hi"}, {"Hi there"}).out, V{""});
    const Filtered r = feed({"Hi"}, {"H", "i", " there"});
    EXPECT_EQ(r.out, (V{"", "", ""}));
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.all(), "");
}

TEST(StopStrings, EarliestOfSeveralStops) {
    // Both complete in the same piece: the text stops at the earlier one.
    Filtered r = feed({"world", "lo"}, {"hello world"});
    EXPECT_EQ(r.out, V{"hel"});
    r = feed({"lo", "world"}, {"hello world"});  // the list order does not matter
    EXPECT_EQ(r.out, V{"hel"});
    // A later stop string in the list, earlier in the text.
    r = feed({"\n\n", "User:"}, {"fine. User: hi\n\n"});
    EXPECT_EQ(r.out, V{"fine. "});
}

TEST(StopStrings, OverlappingPrefixes) {
    // "aab" after "aa": the held tail is the longest one that can still become the stop string.
    Filtered r = feed({"aab"}, {"a", "a", "a", "b", "c"});
    EXPECT_EQ(r.out, (V{"", "", "a", "", ""}));
    EXPECT_EQ(r.all(), "a");
    // Stops that are prefixes of each other: the shorter completes first.
    r = feed({"abc", "ab"}, {"xa", "bc"});
    EXPECT_EQ(r.all(), "x");
    // One stop inside another: the inner one completes first, however the text is split.
    for (const V& pieces : {V{"abcd"}, V{"ab", "cd"}, V{"a", "b", "c", "d"}, V{"abc", "d"}}) {
        r = feed({"abcd", "bc"}, pieces);
        EXPECT_EQ(r.all(), "a");
        EXPECT_TRUE(r.stopped);
    }
    // Two stops ending together: cut before the longer (it starts earlier).
    r = feed({"bc", "abc"}, {"xab", "c"});
    EXPECT_EQ(r.all(), "x");
    // Held for two different stop strings at once.
    r = feed({"ab", "bc"}, {"xb", "c"});
    EXPECT_EQ(r.out, (V{"x", ""}));
}

TEST(StopStrings, Utf8CharactersSplitAcrossPieces) {
    const std::string e_acute = "\xC3\xA9", grin = "\xF0\x9F\x98\x80";
    // Without stop strings: the bytes of an unfinished character wait for the rest.
    Filtered r = feed({}, {"caf\xC3", "\xA9!", "\xF0\x9F", "\x98", "\x80 ok"});
    EXPECT_EQ(r.out, (V{"caf", e_acute + "!", "", "", grin + " ok"}));
    // A stop string that is one multi-byte character, split across pieces.
    r = feed({e_acute}, {"caf\xC3", "\xA9 au lait"});
    EXPECT_EQ(r.out, (V{"caf", ""}));
    EXPECT_TRUE(r.stopped);
    // A character that starts like the stop string but is another one (U+00E8).
    r = feed({e_acute}, {"caf\xC3", "\xA8"});
    EXPECT_EQ(r.all(), "caf\xC3\xA8");
    EXPECT_FALSE(r.stopped);
    // A stop string ending in a multi-byte character, fed byte by byte.
    r = feed({"\xC3\xBC!"}, {"gr", "\xC3", "\xBC", "!", "ne"});
    EXPECT_EQ(r.out, (V{"gr", "", "", "", ""}));
    // An emoji stop string after text.
    r = feed({grin}, {"ok \xF0\x9F\x98", "\x80 no"});
    EXPECT_EQ(r.all(), "ok ");
}

TEST(StopStrings, FinishFlushesWhatIsHeld) {
    Filtered r = feed({"END"}, {"the E", "N"});
    EXPECT_EQ(r.out, (V{"the ", ""}));
    EXPECT_EQ(r.finished, "EN");  // the text ended before the stop string could complete
    EXPECT_EQ(r.all(), "the EN");
    // An unfinished character at the very end comes out as it is (the caller's decoder never leaves one).
    r = feed({}, {"a\xE2\x82"});
    EXPECT_EQ(r.out, V{"a"});
    EXPECT_EQ(r.finished, "\xE2\x82");
    // After a stop: nothing more, ever.
    StopStringFilter f({"x"});
    EXPECT_EQ(f.add("abxcd"), "ab");
    EXPECT_EQ(f.add("more"), "");
    EXPECT_EQ(f.finish(), "");
    EXPECT_EQ(f.add("x"), "");
    EXPECT_TRUE(f.stopped());
}

TEST(StopStrings, EmptyStopStringIsAnError) { EXPECT_THROW(StopStringFilter({"a", ""}), Error); }

// Random texts (ASCII and multi-byte characters), random stop strings (often parts of the text,
// so they overlap and nest), random splits at any byte: the result equals the text cut where a
// byte-by-byte reading first completes a stop string, and every piece is whole characters.
TEST(StopStrings, AnySplitGivesTheByteByByteResult) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    const V alphabet = {"a", "b", "c", " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto random_text = [&](std::size_t n_chars) {
        std::string s;
        for (std::size_t i = 0; i < n_chars; ++i) s += alphabet[pick(alphabet.size())];
        return s;
    };
    for (int iter = 0; iter < 3000; ++iter) {
        const std::string text = random_text(pick(24));
        V stops;
        for (std::size_t k = 0, n = pick(4); k < n; ++k) stops.push_back(random_text(1 + pick(3)));
        // The reference: the first prefix of the text that ends with a stop string; the longest such.
        std::string want = text;
        for (std::size_t end = 1; end <= text.size(); ++end) {
            std::size_t len = 0;
            for (const auto& s : stops)
                if (s.size() <= end && s.size() > len && text.compare(end - s.size(), s.size(), s) == 0) len = s.size();
            if (len > 0) {
                want = text.substr(0, end - len);
                break;
            }
        }
        V pieces;
        for (std::size_t at = 0; at < text.size();) {
            const std::size_t n = std::min(text.size() - at, pick(7));
            pieces.push_back(text.substr(at, n));
            at += n;
        }
        const Filtered r = feed(stops, pieces);
        SCOPED_TRACE("text '" + text + "'");
        ASSERT_EQ(r.all(), want);
        for (const auto& o : r.out) ASSERT_TRUE(text::utf8::is_valid(o)) << "a piece splits a character";
        ASSERT_TRUE(text::utf8::is_valid(r.finished));
    }
}

TEST(StopReason, Names) {
    EXPECT_STREQ(stop_reason_name(StopReason::stop_token), "stop token");
    EXPECT_STREQ(stop_reason_name(StopReason::stop_string), "stop string");
    EXPECT_STREQ(stop_reason_name(StopReason::max_tokens), "token limit");
    EXPECT_STREQ(stop_reason_name(StopReason::context_full), "context full");
    EXPECT_STREQ(stop_reason_name(StopReason::cancelled), "cancelled");
    EXPECT_STREQ(stop_reason_name(StopReason::error), "error");
    EXPECT_STREQ(stop_reason_name(StopReason::none), "none");
}

TEST(StopReason, EndedNormally) {
    for (StopReason r : {StopReason::stop_token, StopReason::stop_string, StopReason::max_tokens, StopReason::context_full})
        EXPECT_TRUE(ended_normally(r)) << stop_reason_name(r);
    for (StopReason r : {StopReason::none, StopReason::cancelled, StopReason::error})
        EXPECT_FALSE(ended_normally(r)) << stop_reason_name(r);
}

TEST(StopReason, MessageEndOfAReply) {
    using text::MessageEnd;
    EXPECT_EQ(message_end(StopReason::stop_token, text::token::eot), MessageEnd::end_of_turn);
    EXPECT_EQ(message_end(StopReason::stop_token, text::token::eom), MessageEnd::end_of_message);
    // Another stop token (<|end_of_text|>) or no stop token: the reply has no chat end token.
    EXPECT_EQ(message_end(StopReason::stop_token, text::token::eos), MessageEnd::none);
    for (StopReason r : {StopReason::stop_string, StopReason::max_tokens, StopReason::context_full, StopReason::cancelled,
                         StopReason::error, StopReason::none})
        EXPECT_EQ(message_end(r, text::token::eot), MessageEnd::none) << stop_reason_name(r);
}

}  // namespace
}  // namespace scout::engine
