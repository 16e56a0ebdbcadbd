// Structured output on the real Llama 4 vocabulary (202,048 ids): the trie mask equals trying
// every token string, special tokens stay out, and the time of one mask is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grammar/json_schema.hpp"
#include "grammar/token_mask.hpp"
#include "test_util.hpp"
#include "text/tokenizer.hpp"
#include "text/utf8.hpp"

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

// A random-token "model" (uniform over the allowed tokens, like the random-weight demo model at
// its most erratic) always ends with a stop token and writes parseable JSON of the right shape.
TEST(GrammarVocab, RandomTokenGenerationsEndAndParse) {
    const auto path = test::tokenizer_file();
    if (path.empty()) SCOUT_SKIP_WITHOUT_DATA("the real tokenizer.model is absent");
    const text::Tokenizer tok = text::Tokenizer::load(path);
    auto trie = std::make_shared<const TokenTrie>(TokenTrie::from_tokenizer(tok));
    const auto schema = nlohmann::ordered_json::parse(
        R"({"type":"object","properties":{"name":{"type":"string","maxLength":6},"tags":{"type":"array","items":{"enum":["日本","ü"]},"maxItems":3},
            "code":{"type":"string","pattern":"^[A-Z]{2}\\d$"},"n":{"type":["integer","null"]}},"required":["name","code"]})");
    auto g = json_schema_to_grammar(schema);
    for (uint64_t seed = 0; seed < 4; ++seed) {
        TokenConstraint c(g, trie, tok.stop_tokens());
        std::mt19937_64 rng(seed);
        std::string text;
        bool ended = false;
        for (int step = 0; step < 400 && !ended; ++step) {
            const auto mask = c.mask(static_cast<size_t>(tok.n_vocab()));
            std::vector<int32_t> ok;
            for (int32_t t = 0; t < tok.n_vocab(); ++t)
                if (mask_allows(mask, t)) ok.push_back(t);
            ASSERT_FALSE(ok.empty()) << text;
            const int32_t id = ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)];
            if (tok.is_special(id)) {
                ended = true;
                break;
            }
            ASSERT_TRUE(c.accept(tok.token_bytes(id)));
            text += tok.token_bytes(id);
        }
        ASSERT_TRUE(ended) << text;
        const auto v = nlohmann::json::parse(text);
        ASSERT_TRUE(v.is_object()) << text;
        EXPECT_TRUE(v.contains("name") && v["name"].is_string()) << text;
        EXPECT_LE(text::utf8::sanitize(v["name"].get<std::string>()).size(), 6u * 4u) << text;
        ASSERT_TRUE(v.contains("code") && v["code"].is_string()) << text;
        const std::string code = v["code"].get<std::string>();
        EXPECT_TRUE(code.size() == 3 && std::isupper(static_cast<unsigned char>(code[0])) &&
                    std::isupper(static_cast<unsigned char>(code[1])) && std::isdigit(static_cast<unsigned char>(code[2])))
            << text;
    }
}

// JSON mode on the real vocabulary: inside a free string every character brings the matcher back
// to the same state, so the constraint's cache serves the mask instead of a walk over most of the
// trie. Prints the mean mask time per step with the cache, and what the walks alone cost.
TEST(GrammarVocab, MaskCacheServesFreeStrings) {
    const auto path = test::tokenizer_file();
    if (path.empty()) SCOUT_SKIP_WITHOUT_DATA("the real tokenizer.model is absent");
    const text::Tokenizer tok = text::Tokenizer::load(path);
    auto trie = std::make_shared<const TokenTrie>(TokenTrie::from_tokenizer(tok));
    const auto grammar = json_object_grammar();
    auto c = std::make_unique<TokenConstraint>(grammar, trie, tok.stop_tokens());
    std::mt19937_64 rng(test::test_seed());
    double total_ms = 0;
    size_t walks = 0, hits = 0, partial = 0;  // every mask is exactly one of the three
    int steps = 0;
    for (; steps < 150; ++steps) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto mask = c->mask(static_cast<size_t>(tok.n_vocab()));
        total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::vector<int32_t> ok;
        for (int32_t t = 0; t < tok.n_regular(); ++t)
            if (mask_allows(mask, t)) ok.push_back(t);
        if (ok.empty()) {  // the object is complete (only end tokens left): start another
            walks += c->walks(), hits += c->cache_hits(), partial += c->partial_walks();
            c = std::make_unique<TokenConstraint>(grammar, trie, tok.stop_tokens());
            continue;
        }
        ASSERT_TRUE(c->accept(tok.token_bytes(ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)])));
    }
    walks += c->walks(), hits += c->cache_hits(), partial += c->partial_walks();
    std::printf("json_object, %d random-token steps: %zu walks, %zu partial walks (a \\u escape's counted hex digits), "
                "%zu cache hits, %.2f ms per mask on average\n",
                steps, walks, partial, hits, total_ms / steps);
    EXPECT_EQ(walks + partial + hits, static_cast<size_t>(steps));
    EXPECT_GT(hits, static_cast<size_t>(steps) / 2);  // most steps are inside strings
}

// A long bounded string (minLength 150, maxLength 400) on the real vocabulary: each character
// is a new count, but while the counts exceed the longest token (113 bytes) the cached mask is
// the answer, and near the bound only the longer tokens are walked. Every mask is checked
// against a fresh walk of its own state.
TEST(GrammarVocab, LongBoundedStringsShareMasks) {
    const auto path = test::tokenizer_file();
    if (path.empty()) SCOUT_SKIP_WITHOUT_DATA("the real tokenizer.model is absent");
    const text::Tokenizer tok = text::Tokenizer::load(path);
    auto trie = std::make_shared<const TokenTrie>(TokenTrie::from_tokenizer(tok));
    TokenMasker masker(*trie);
    const auto grammar = json_schema_to_grammar(nlohmann::ordered_json::parse(
        R"({"type":"object","properties":{"note":{"type":"string","minLength":150,"maxLength":400}},"required":["note"]})"));
    const auto n_vocab = static_cast<size_t>(tok.n_vocab());
    std::mt19937_64 rng(test::test_seed());
    double mask_ms = 0, fresh_ms = 0;
    TokenConstraint c(grammar, trie, tok.stop_tokens());
    int steps = 0, masks = 0;
    for (; steps < 400; ++steps, ++masks) {
        auto t0 = std::chrono::steady_clock::now();
        const auto mask = c.mask(n_vocab);
        mask_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::vector<uint64_t> fresh(mask.size(), ~uint64_t{0});
        t0 = std::chrono::steady_clock::now();
        masker.compute(c.matcher(), tok.stop_tokens(), fresh);
        fresh_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        ASSERT_TRUE(std::equal(mask.begin(), mask.end(), fresh.begin())) << "step " << steps;
        std::vector<int32_t> ok;
        for (int32_t t = 0; t < tok.n_regular(); ++t)
            if (mask_allows(mask, t)) ok.push_back(t);
        if (ok.empty()) {  // complete: only the end tokens are left
            ++masks;
            break;
        }
        ASSERT_TRUE(c.accept(tok.token_bytes(ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)])));
    }
    std::printf("maxLength 400 string, %d masks: %zu walks, %zu partial walks, %zu cache hits; %.2f ms per mask, "
                "%.2f ms per fresh walk\n", masks, c.walks(), c.partial_walks(), c.cache_hits(), mask_ms / masks,
                fresh_ms / masks);
    EXPECT_EQ(c.walks() + c.partial_walks() + c.cache_hits(), static_cast<size_t>(masks));
    // Most masks come from the cache, whole or for the short tokens (the times above are printed,
    // not asserted: speed is measured by bench/grammar, not by a timed test).
    EXPECT_GT(c.cache_hits() + c.partial_walks(), c.walks());
}

}  // namespace
}  // namespace scout::grammar
