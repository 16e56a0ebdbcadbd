// Structured output on the real Llama 4 vocabulary (202,048 ids): the trie mask equals trying
// every token string, special tokens stay out, and the time of one mask is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grammar/json_schema.hpp"
#include "grammar/token_mask.hpp"
#include "test_util.hpp"
#include "text/tokenizer.hpp"

namespace scout::grammar {
namespace {

TEST(GrammarVocab, TrieMaskEqualsSlowTwinOnTheRealVocabulary) {
    const auto path = test::tokenizer_file();
    if (path.empty()) SCOUT_SKIP_WITHOUT_DATA("the real tokenizer.model is absent");
    const text::Tokenizer tok = text::Tokenizer::load(path);
    std::vector<std::string> bytes(static_cast<size_t>(tok.n_vocab()));
    for (int32_t id = 0; id < tok.n_regular(); ++id) bytes[static_cast<size_t>(id)] = std::string(tok.token_bytes(id));
    const TokenTrie trie = TokenTrie::from_tokenizer(tok);
    EXPECT_EQ(trie.n_tokens(), static_cast<size_t>(tok.n_regular()));
    TokenMasker masker(trie);
    const std::vector<int32_t> end = tok.stop_tokens();
    const size_t n_words = (static_cast<size_t>(tok.n_vocab()) + 63) / 64;

    auto g = json_schema_to_grammar(nlohmann::ordered_json::parse(
        R"({"type":"object","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"enum":["日本","ü"]}},
            "n":{"type":"number"}},"required":["name","tags","n"]})"));
    // States: the start, inside a string, after a multi-byte lead byte, inside a number, complete.
    for (const char* prefix : {"", "{\"name\":\"ab", "{\"name\":\"\xC3", "{\"name\":\"x\",\"tags\":[\"\xE6\x97",
                               "{\"name\":\"x\",\"tags\":[],\"n\":-1.2", "{\"name\":\"x\",\"tags\":[],\"n\":3}"}) {
        Matcher m(g);
        ASSERT_TRUE(m.accept(std::string_view(prefix))) << prefix;
        std::vector<uint64_t> fast(n_words), slow(n_words);
        const auto t0 = std::chrono::steady_clock::now();
        masker.compute(m, end, fast);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        compute_mask_slow(m, bytes, end, slow);
        EXPECT_EQ(fast, slow) << prefix;
        size_t n_allowed = 0;
        for (uint64_t w : fast) n_allowed += static_cast<size_t>(__builtin_popcountll(w));
        for (int32_t id = tok.n_regular(); id < tok.n_vocab(); ++id) {
            const bool is_end = std::find(end.begin(), end.end(), id) != end.end();
            if (!(is_end && m.can_end())) {
                EXPECT_FALSE(mask_allows(fast, id)) << "special token " << id;
            }
        }
        std::printf("mask after %-40s %7zu tokens allowed, %.2f ms\n", prefix, n_allowed, ms);
    }
}

}  // namespace
}  // namespace scout::grammar
