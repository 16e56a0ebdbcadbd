// Token-exact comparison with ids produced by the reference (llama-models + tiktoken 0.14.0),
// written by tools/reference/tokenizer/make_goldens.py.
#include "golden_cases.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

using testing::ids_of;
using testing::input_of;
using testing::options_of;
using testing::read_jsonl;

TEST(TokenizerGoldens, Cases) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto cases = read_jsonl("cases.jsonl");
    ASSERT_GE(cases.size(), 300u);
    size_t n_ok = 0;
    for (const auto& c : cases) {
        const auto got = tok->encode(input_of(c), options_of(c));
        const auto want = ids_of(c["ids"]);
        if (got == want) {
            ++n_ok;
            continue;
        }
        size_t k = 0;
        while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
        ADD_FAILURE() << "case " << c["name"] << ": ids differ at index " << k << " (got " << got.size()
                      << " ids, want " << want.size() << ")";
    }
    EXPECT_EQ(n_ok, cases.size());
}

TEST(TokenizerGoldens, Corpus) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto docs = read_jsonl("corpus.jsonl");
    size_t bytes = 0;
    for (const auto& d : docs) {
        const auto text = d["text"].get<std::string>();
        bytes += text.size();
        const auto got = tok->encode(text);
        const auto want = ids_of(d["ids"]);
        EXPECT_EQ(got, want) << "corpus document " << d["name"];
        // Round trip: every corpus document is valid UTF-8.
        EXPECT_EQ(tok->decode(got), text) << "round trip of " << d["name"];
    }
    EXPECT_GE(bytes, 1'000'000u);
}

TEST(TokenizerGoldens, RoundTripOfValidCases) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    for (const auto& c : read_jsonl("cases.jsonl")) {
        if (!c.contains("text") || c["allowed"] != "none") continue;
        const auto text = c["text"].get<std::string>();
        EXPECT_EQ(tok->decode(tok->encode(text)), text) << c["name"];
    }
}

}  // namespace
}  // namespace scout::text
