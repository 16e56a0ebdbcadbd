// Structured output (src/grammar): JSON Schema -> grammar, the pushdown matcher, the token-trie
// mask against its slow twin, and the sampler's mask step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_mask.hpp"
#include "sample/sampler.hpp"
#include "sample/steps.hpp"
#include "text/chat_reply.hpp"
#include "test_util.hpp"

namespace scout::grammar {
namespace {

using Json = nlohmann::ordered_json;

bool matches(const std::shared_ptr<const Grammar>& g, const std::string& s) {
    Matcher m(g);
    return m.accept(s) && m.can_end();
}

std::shared_ptr<const Grammar> schema(const char* text) { return json_schema_to_grammar(Json::parse(text)); }

std::string error_of(const char* text) {
    try {
        schema(text);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(JsonSchema, Types) {
    auto g = schema(R"({"type":"integer"})");
    EXPECT_TRUE(matches(g, "0"));
    EXPECT_TRUE(matches(g, "-42"));
    EXPECT_FALSE(matches(g, "01"));
    EXPECT_FALSE(matches(g, "1.5"));
    g = schema(R"({"type":"number"})");
    EXPECT_TRUE(matches(g, "1.5e-3"));
    EXPECT_TRUE(matches(g, "-0.25"));
    EXPECT_FALSE(matches(g, "1."));
    EXPECT_FALSE(matches(g, "+1"));
    g = schema(R"({"type":"boolean"})");
    EXPECT_TRUE(matches(g, "true"));
    EXPECT_TRUE(matches(g, "false"));
    EXPECT_FALSE(matches(g, "null"));
    g = schema(R"({"type":"null"})");
    EXPECT_TRUE(matches(g, "null"));
    g = schema(R"({"type":["string","null"]})");
    EXPECT_TRUE(matches(g, "null"));
    EXPECT_TRUE(matches(g, R"("x")"));
    EXPECT_FALSE(matches(g, "1"));
}

TEST(JsonSchema, NumbersAreBounded) {
    auto g = schema(R"({"type":"integer"})");
    EXPECT_TRUE(matches(g, std::string(16, '9')));
    EXPECT_FALSE(matches(g, std::string(17, '9')));
}

TEST(JsonSchema, StringsEscapesAndUtf8) {
    auto g = schema(R"({"type":"string","minLength":2,"maxLength":3})");
    EXPECT_FALSE(matches(g, R"("a")"));
    EXPECT_TRUE(matches(g, R"("ab")"));
    EXPECT_TRUE(matches(g, R"("a\"b")"));  // an escape is one character
    EXPECT_TRUE(matches(g, "\"h\xC3\xA9\xE2\x82\xAC\""));  // hé€: 3 characters, 6 bytes
    EXPECT_FALSE(matches(g, R"("abcd")"));
    g = schema(R"({"type":"string"})");
    EXPECT_TRUE(matches(g, "\"\xF0\x9F\x98\x80\""));
    EXPECT_FALSE(matches(g, "\"\xC0\xAF\""));      // overlong
    // Overlong 3- and 4-byte forms (a 2-byte / BMP code point written long) and past U+10FFFF: these
    // were once accepted at their second byte, which a random walk over tool calls found.
    for (const char* bad : {"\"\xE0\x80\xAF\"", "\"\xE0\x9F\xBF\"", "\"\xF0\x8A\x83\xA8\"", "\"\xF0\x80\x80\x80\"",
                            "\"\xF4\x90\x80\x80\""})
        EXPECT_FALSE(matches(g, bad));
    EXPECT_TRUE(matches(g, "\"\xE0\xA0\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\""));  // U+0800 U+10000 U+10FFFF
    EXPECT_FALSE(matches(g, "\"\xED\xA0\x80\""));  // surrogate
    EXPECT_FALSE(matches(g, "\"\xFF\""));
    EXPECT_FALSE(matches(g, "\"a\nb\""));  // raw control character
    EXPECT_TRUE(matches(g, R"("\u00e9\n")"));
    EXPECT_FALSE(matches(g, R"("\ud800")"));
}

TEST(JsonSchema, ObjectsRequiredOptionalOrder) {
    auto g = schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                       "required":["b"],"additionalProperties":false})");
    EXPECT_TRUE(matches(g, R"({"b":"x"})"));
    EXPECT_TRUE(matches(g, R"({"a":1,"b":"x"})"));
    EXPECT_TRUE(matches(g, R"({"a": 1, "b": "x", "c": true})"));
    EXPECT_TRUE(matches(g, R"({"b":"x","c":false})"));
    EXPECT_FALSE(matches(g, R"({"a":1})"));            // b is required
    EXPECT_FALSE(matches(g, R"({"b":"x","d":1})"));    // no additional properties
    EXPECT_FALSE(matches(g, R"({"b":"x",})"));
    EXPECT_FALSE(matches(g, R"({"b":"x",  "c":true})"));  // at most one whitespace character
}

TEST(JsonSchema, ArraysEnumConstAnyOfRefs) {
    auto g = schema(R"({"type":"array","items":{"enum":["x",2,null]},"minItems":1,"maxItems":2})");
    EXPECT_FALSE(matches(g, "[]"));
    EXPECT_TRUE(matches(g, R"(["x"])"));
    EXPECT_TRUE(matches(g, R"([2, null])"));
    EXPECT_FALSE(matches(g, R"([2,2,2])"));
    EXPECT_FALSE(matches(g, R"(["y"])"));
    g = schema(R"({"const":{"k":[1,"é"]}})");
    EXPECT_TRUE(matches(g, R"({"k":[1,"é"]})"));
    g = schema(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})");
    EXPECT_TRUE(matches(g, "7"));
    EXPECT_TRUE(matches(g, R"("z")"));
    EXPECT_FALSE(matches(g, R"("zz")"));
    g = schema(R"({"oneOf":[{"const":1},{"const":2}]})");
    EXPECT_TRUE(matches(g, "2"));
    g = schema(R"({"$defs":{"node":{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},
                  "required":["next"]}},"$ref":"#/$defs/node"})");
    EXPECT_TRUE(matches(g, R"({"next":{"next":{"next":null}}})"));
    EXPECT_FALSE(matches(g, R"({"next":{}})"));
    g = schema(R"({"definitions":{"n":{"type":"integer"}},"type":"array","items":{"$ref":"#/definitions/n"}})");
    EXPECT_TRUE(matches(g, "[1,2,3]"));
}

TEST(JsonSchema, Patterns) {
    auto g = schema(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3,4}$"})");
    EXPECT_TRUE(matches(g, R"("AB-123")"));
    EXPECT_TRUE(matches(g, R"("AB-1234")"));
    EXPECT_FALSE(matches(g, R"("AB-12")"));
    EXPECT_FALSE(matches(g, R"("ab-123")"));
    g = schema(R"({"type":"string","pattern":"^(cat|dog)s?(?:!)*$"})");
    EXPECT_TRUE(matches(g, R"("dogs!!")"));
    EXPECT_TRUE(matches(g, R"("cat")"));
    EXPECT_FALSE(matches(g, R"("cow")"));
    g = schema(R"({"type":"string","pattern":"x\\.y"})");  // unanchored: anything around
    EXPECT_TRUE(matches(g, R"("aax.ybb")"));
    EXPECT_FALSE(matches(g, R"("xzy")"));
    g = schema(R"({"type":"string","pattern":"^[^a-z]+$"})");
    EXPECT_TRUE(matches(g, "\"\xC3\xA9X1\""));
    EXPECT_FALSE(matches(g, R"("\"")"));  // classes never produce a quote
    g = schema(R"({"type":"string","pattern":"^a\"b$"})");
    EXPECT_TRUE(matches(g, R"("a\"b")"));  // a literal quote is written escaped
}

TEST(JsonSchema, JsonObjectMode) {
    auto g = json_object_grammar();
    EXPECT_TRUE(matches(g, R"({})"));
    EXPECT_TRUE(matches(g, R"({"a":[1,{"b":null}],"c":"d"})"));
    EXPECT_FALSE(matches(g, "[1]"));
    EXPECT_FALSE(matches(g, R"("x")"));
    // {} schema: any value.
    EXPECT_TRUE(matches(schema("{}"), "[true]"));
}

TEST(JsonSchema, ErrorsNameTheProblem) {
    EXPECT_NE(error_of(R"({"type":"string","format":"date"})").find("'format'"), std::string::npos);
    EXPECT_NE(error_of(R"({"allOf":[{}]})").find("'allOf'"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"integer","minimum":3})").find("'minimum'"), std::string::npos);
    EXPECT_NE(error_of(R"({"enum":[]})").find("admits no value"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"array","minItems":3,"maxItems":2})").find("admits no value"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"string","minLength":3,"maxLength":2})").find("admits no value"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"strin"})").find("unknown type"), std::string::npos);
    EXPECT_NE(error_of(R"({"$ref":"#/$defs/missing"})").find("does not resolve"), std::string::npos);
    EXPECT_NE(error_of(R"j({"type":"string","pattern":"(?=a)"})j").find("lookaround"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"string","pattern":"\\bx"})").find("\\b"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"object","properties":{},"required":["a"]})").find("'a'"), std::string::npos);
    EXPECT_NE(error_of(R"({"$defs":{"x":{"$ref":"#/$defs/x"}},"$ref":"#/$defs/x"})").find("admits no value"), std::string::npos);
    EXPECT_NE(error_of("false").find("admits no value"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"object","additionalProperties":{"type":"integer"}})").find("additionalProperties"), std::string::npos);
}

TEST(Matcher, StateIsAValueAndRejectLeavesItUnchanged) {
    auto g = schema(R"({"type":"object","properties":{"k":{"type":"integer"}},"required":["k"]})");
    Matcher m(g);
    ASSERT_TRUE(m.accept(std::string_view(R"({"k":1)")));
    const Matcher copy = m;
    EXPECT_FALSE(m.accept('x'));
    EXPECT_EQ(m.state(), copy.state());
    EXPECT_FALSE(m.can_end());
    ASSERT_TRUE(m.accept('}'));
    EXPECT_TRUE(m.can_end());
    EXPECT_TRUE(m.is_done());
    Matcher n = copy;
    ASSERT_TRUE(n.accept('2'));
    EXPECT_FALSE(n.is_done());
}

TEST(Matcher, DepthIsBounded) {
    auto g = json_object_grammar();
    Matcher m(g, MatcherOptions{.max_depth = 16, .max_stacks = 512});
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += "{\"a\":";
    EXPECT_FALSE(m.accept(deep));
}

// A small vocabulary with multi-byte characters, split characters and JSON pieces.
std::vector<std::string> small_vocab() {
    std::vector<std::string> v = {"{", "}", "\"", "\":", ",", " ", "\n", "[", "]", "{\"", "\"}", "\",", "a", "b", "ab",
                                  "true", "tr", "ue", "false", "null", "0", "1", "12", "-", ".", "5e", "\\", "\\n", "\\\"",
                                  "\xC3", "\xA9", "\xC3\xA9", "\xE2\x82", "\xAC", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                                  "\xED\xA0\x80", "\xFF", "k", "\"k", "\":[", "]}", "x y", "\"a\"", "", "AB", "-1", "23"};
    return v;
}

// A uniformly random token among the first n that the mask allows, or -1 when it allows none:
// the next step of a random walk through a grammar.
int32_t random_allowed(std::span<const uint64_t> mask, size_t n, std::mt19937& rng) {
    std::vector<int32_t> ok;
    for (int32_t t = 0; t < static_cast<int32_t>(n); ++t)
        if (mask_allows(mask, t)) ok.push_back(t);
    return ok.empty() ? -1 : ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)];
}

// The masker keeps its table of interned states across calls and schemas; the second masker's
// table is tiny, so its walks run mostly off the table.
TEST(TokenMask, TrieWalkEqualsTryingEveryToken) {
    const std::vector<std::string> vocab = small_vocab();
    const TokenTrie trie(vocab);
    TokenMasker masker(trie), tiny_table(trie, 3);
    const std::vector<int32_t> end = {static_cast<int32_t>(vocab.size()) + 1};
    const size_t n_words = (vocab.size() + 2 + 63) / 64;
    std::mt19937 rng(1234);
    for (const char* text : {R"({"type":"object","properties":{"k":{"type":"array","items":{"type":"string","maxLength":3}}},"required":["k"]})",
                             R"({"anyOf":[{"type":"number"},{"type":"boolean"},{"type":"null"}]})",
                             R"({"type":"string","pattern":"^[A-Z]+-\\d{2,3}$"})", "{}"}) {
        auto g = schema(text);
        for (int walk = 0; walk < 30; ++walk) {
            Matcher m(g);
            for (int step = 0; step < 12; ++step) {
                std::vector<uint64_t> fast(n_words), slow(n_words);
                masker.compute(m, end, fast);
                compute_mask_slow(m, vocab, end, slow);
                ASSERT_EQ(fast, slow) << text << " step " << step;
                std::vector<uint64_t> off_table(n_words, ~uint64_t{0});
                tiny_table.compute(m, end, off_table);
                ASSERT_EQ(off_table, slow) << text << " step " << step;
                EXPECT_LE(tiny_table.interned_states(), 3u);
                // Move to a random allowed token (a random matcher state for the next check).
                const int32_t t = random_allowed(fast, vocab.size(), rng);
                if (t < 0) break;
                ASSERT_TRUE(m.accept(vocab[static_cast<size_t>(t)]));
            }
        }
    }
}

// Random walks through each schema with a TokenConstraint: at every step its mask (cached,
// shared across counts, or walked) must equal a fresh walk of the same state into a poisoned
// buffer. Adds the constraint's cache hits and partial walks to *hits and *partial.
void check_constraint_walks(const std::vector<std::string>& vocab, std::initializer_list<const char*> schemas, int walks,
                            int steps, size_t* hits, size_t* partial) {
    auto trie = std::make_shared<const TokenTrie>(vocab);
    TokenMasker masker(*trie);
    const std::vector<int32_t> end = {static_cast<int32_t>(vocab.size()) + 1};
    const size_t n_vocab = vocab.size() + 2;
    std::mt19937 rng(static_cast<uint32_t>(test::test_seed()));
    for (const char* text : schemas) {
        for (int walk = 0; walk < walks; ++walk) {
            TokenConstraint c(schema(text), trie, end);
            size_t masks = 0;
            for (int step = 0; step < steps; ++step) {
                const auto cached = c.mask(n_vocab);
                ++masks;
                std::vector<uint64_t> fresh(cached.size(), ~uint64_t{0});  // poisoned: compute must clear it
                masker.compute(c.matcher(), end, fresh);
                ASSERT_TRUE(std::equal(cached.begin(), cached.end(), fresh.begin())) << text << " step " << step;
                const int32_t t = random_allowed(cached, vocab.size(), rng);
                if (t < 0) break;
                ASSERT_TRUE(c.accept(vocab[static_cast<size_t>(t)]));
            }
            EXPECT_EQ(c.walks() + c.cache_hits() + c.partial_walks(), masks);
            *hits += c.cache_hits();
            *partial += c.partial_walks();
        }
    }
}

// The constraint's mask cache against a fresh walk at every step, on random walks through schemas
// whose free strings bring the matcher back to the same state (cache hits) and through bounded ones.
TEST(TokenMask, CachedMasksEqualFreshWalks) {
    size_t hits = 0, partial = 0;
    check_constraint_walks(small_vocab(),
                           {R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"array","items":{"type":"string"}}}})",
                            R"({"type":"string","maxLength":4})", "{}"},
                           20, 40, &hits, &partial);
    EXPECT_GT(hits, 0u);
}

// A hostile vocabulary with a 5,000-byte token: left out of the trie (never allowed), so the
// walk's depth and the per-length bitsets stay bounded.
TEST(TokenMask, OverlongTokensAreLeftOut) {
    std::vector<std::string> vocab = small_vocab();
    const auto huge = static_cast<int32_t>(vocab.size());
    vocab.push_back(std::string(5000, 'a'));
    const TokenTrie trie(vocab);
    EXPECT_EQ(trie.max_depth(), 5);  // "false"
    TokenMasker masker(trie);
    Matcher m(schema(R"({"type":"string"})"));
    ASSERT_TRUE(m.accept(std::string_view("\"a")));
    std::vector<uint64_t> mask((vocab.size() + 63) / 64);
    masker.compute(m, {}, mask);
    EXPECT_TRUE(mask_allows(mask, 12));  // "a"
    EXPECT_FALSE(mask_allows(mask, huge));
}

// Bounded repetitions match exactly min..max items, whatever the chain of rules behind them.
TEST(Grammar, RepeatMatchesExactlyMinToMaxItems) {
    for (int min = 0; min <= 4; ++min)
        for (int max : {-1, min, min + 1, min + 2, min + 5}) {
            auto g = std::make_shared<Grammar>();
            const uint32_t root = g->add_rule("root");
            const uint32_t rep = g->repeat(Grammar::literal("ab"), min, max, "rep");
            g->add_alternative(root, {Grammar::byte('<'), Grammar::ref(rep), Grammar::byte('>')});
            g->set_root(root);
            g->finalize();
            std::string items;
            for (int n = 0; n <= min + 7; ++n, items += "ab")
                EXPECT_EQ(matches(g, "<" + items + ">"), n >= min && (max < 0 || n <= max)) << min << " " << max << " " << n;
        }
}

// States that differ only in a bounded count (one more character of a string with maxLength)
// share masks: whole once both counts exceed the longest token, the short tokens otherwise. Every
// mask is checked against a fresh walk of its own state, on random walks through strings, arrays
// and patterns with bounds below, near and above the longest token (12 bytes here).
TEST(TokenMask, CountedRepetitionsShareMasksExactly) {
    std::vector<std::string> vocab = small_vocab();
    for (const char* t : {"aaaaaaaaaaaa", "a b a b", "\\u00e9", "\xC3\xA9\xC3\xA9\xC3\xA9", "\",\"", "aa", "ba"}) vocab.push_back(t);
    ASSERT_EQ(TokenTrie(vocab).max_depth(), 12);
    size_t hits = 0, partial = 0;
    check_constraint_walks(vocab,
                           {R"({"type":"string","minLength":3,"maxLength":40})",
                            R"({"type":"string","minLength":25,"maxLength":30})", R"({"type":"string","maxLength":9})",
                            R"({"type":"array","items":{"type":"string","maxLength":14},"minItems":2,"maxItems":9})",
                            R"({"type":"string","pattern":"^[a-b]{4,33}-?$"})"},
                           25, 60, &hits, &partial);
    EXPECT_GT(hits, 100u);
    EXPECT_GT(partial, 100u);
}

TEST(TokenMask, EndTokensOnlyWhenComplete) {
    const std::vector<std::string> vocab = small_vocab();
    const TokenTrie trie(vocab);
    TokenMasker masker(trie);
    const int32_t eot = static_cast<int32_t>(vocab.size()) + 1;
    const std::vector<int32_t> end = {eot};
    std::vector<uint64_t> mask(2);
    Matcher m(schema(R"({"type":"boolean"})"));
    masker.compute(m, end, mask);
    EXPECT_FALSE(mask_allows(mask, eot));
    EXPECT_TRUE(mask_allows(mask, 15));   // "true"
    EXPECT_FALSE(mask_allows(mask, 19));  // "null"
    ASSERT_TRUE(m.accept(std::string_view("true")));
    masker.compute(m, end, mask);
    EXPECT_TRUE(mask_allows(mask, eot));
    for (int32_t t = 0; t < static_cast<int32_t>(vocab.size()); ++t) EXPECT_FALSE(mask_allows(mask, t)) << t;
}

// --- Tool calls (tool_call_grammar) ---------------------------------------------------------

const char* kWeather = R"({"type":"object","properties":{
    "city":{"type":"string","minLength":1,"maxLength":6},
    "unit":{"enum":["celsius","fahrenheit"]},
    "days":{"type":"integer"}},
  "required":["city"],"additionalProperties":false})";
const char* kFlags = R"({"type":"object","properties":{
    "on":{"type":"boolean"},"note":{"type":["string","null"],"maxLength":4},
    "tags":{"type":"array","items":{"$ref":"#/$defs/tag"},"maxItems":2},
    "point":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}},
  "$defs":{"tag":{"type":"string","pattern":"^[a-z]{1,3}$"}},
  "required":["on","tags"]})";

std::vector<ToolFunction> tools() {
    return {{"get_weather", Json::parse(kWeather)}, {"set_flags", Json::parse(kFlags)}, {"ping", Json()}};
}

TEST(ToolCalls, AcceptsCallsThatFitTheSchemas) {
    const auto fns = tools();
    const auto g = tool_call_grammar(fns, true);
    for (const char* ok : {R"([get_weather(city="Paris")])", R"([get_weather(city="Rome", unit="celsius", days=3)])",
                           R"([get_weather(city="Oslo", days=-2)])", "[ping()]", R"([ping(), get_weather(city="a")])",
                           R"([set_flags(on=True, tags=["ab", "c"])])", R"([set_flags(on=False, note=None, tags=[], point={"x": 1.5e3})])",
                           R"([set_flags(on=True, note="hé", tags=[])])", R"([get_weather(city="\u00e9\n")])"})
        EXPECT_TRUE(matches(g, ok)) << ok;
    for (const char* bad : {"[]", R"([get_weather(unit="celsius")])", R"([get_weather(city="Paris", unit="kelvin")])",
                            R"([get_weather(city="")])", R"([get_weather(city="toolongname")])",
                            R"([set_flags(on=true, tags=[])])", R"([set_flags(on=True, note=null, tags=[])])",
                            R"([set_flags(on=True, tags=["ABC"])])", R"([get_weather(unit="celsius", city="x")])",
                            R"([get_weather(city="a\/b")])", R"([nope()])", R"(get_weather(city="x"))",
                            R"([get_weather(city='x')])", R"([get_weather(city="x", extra=1)])"})
        EXPECT_FALSE(matches(g, bad)) << bad;
}

TEST(ToolCalls, ParallelFalseMeansOneCall) {
    const auto fns = tools();
    const auto one = tool_call_grammar(fns, false);
    EXPECT_TRUE(matches(one, "[ping()]"));
    EXPECT_FALSE(matches(one, "[ping(), ping()]"));
    EXPECT_TRUE(matches(tool_call_grammar(fns, true), "[ping(), ping(),\nping()]"));
}

// Random byte-level walks through the grammar: every finished one parses as calls (the server's
// reader) whose arguments satisfy the schema rules checked here.
TEST(ToolCalls, RandomWalksParseAsCalls) {
    const auto fns = tools();
    const auto g = tool_call_grammar(fns, true);
    std::mt19937 rng(static_cast<uint32_t>(test::test_seed()));
    int finished = 0;
    for (int walk = 0; walk < 300; ++walk) {
        Matcher m(g);
        std::string out;
        for (int step = 0; step < 600; ++step) {
            if (m.can_end() && (m.is_done() || rng() % 4 == 0)) break;
            std::vector<uint8_t> ok;
            for (int b = 0; b < 256; ++b) {
                Matcher copy = m;
                if (copy.accept(static_cast<uint8_t>(b))) ok.push_back(static_cast<uint8_t>(b));
            }
            ASSERT_FALSE(ok.empty()) << out;
            const uint8_t b = ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)];
            ASSERT_TRUE(m.accept(b));
            out += static_cast<char>(b);
        }
        if (!m.can_end()) continue;
        ++finished;
        const auto parsed = text::parse_tool_calls(out);
        ASSERT_TRUE(parsed.has_value()) << out;
        ASSERT_FALSE(parsed->calls.empty()) << out;
        for (const auto& call : parsed->calls) {
            const Json args = Json::parse(call.arguments_json);
            if (call.name == "get_weather") {
                ASSERT_TRUE(args.contains("city") && args["city"].is_string()) << out;
                const std::string city = args["city"].get<std::string>();
                const auto n = std::count_if(city.begin(), city.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
                EXPECT_TRUE(n >= 1 && n <= 6) << n << " [" << city << "] " << out;
                if (args.contains("unit")) {
                    EXPECT_TRUE(args["unit"] == "celsius" || args["unit"] == "fahrenheit") << out;
                }
                if (args.contains("days")) {
                    EXPECT_TRUE(args["days"].is_number_integer()) << out;
                }
            } else if (call.name == "set_flags") {
                ASSERT_TRUE(args.contains("on") && args["on"].is_boolean()) << out;
                ASSERT_TRUE(args.contains("tags") && args["tags"].is_array() && args["tags"].size() <= 2) << out;
                if (args.contains("note")) {
                    EXPECT_TRUE(args["note"].is_null() || args["note"].is_string()) << out;
                }
                if (args.contains("point")) {
                    EXPECT_TRUE(args["point"]["x"].is_number()) << out;
                }
            } else {
                EXPECT_EQ(call.name, "ping") << out;
                EXPECT_TRUE(args.empty()) << out;
            }
        }
    }
    EXPECT_GT(finished, 100);
}

TEST(ToolCalls, ErrorsNameTheFunctionAndTheProblem) {
    const auto error = [](const char* name, const char* params) {
        try {
            const std::vector<ToolFunction> f = {{name, Json::parse(params)}};
            tool_call_grammar(f, true);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(error("f", R"({"type":"object","properties":{"user id":{"type":"string"}}})").find("'user id'"), std::string::npos);
    EXPECT_NE(error("f", R"({"anyOf":[{"type":"object"}]})").find("'anyOf'"), std::string::npos);
    EXPECT_NE(error("f", R"({"type":"array"})").find("type 'object'"), std::string::npos);
    const std::string fmt = error("get_time", R"({"type":"object","properties":{"when":{"type":"string","format":"date"}}})");
    EXPECT_NE(fmt.find("get_time"), std::string::npos) << fmt;
    EXPECT_NE(fmt.find("'format'"), std::string::npos) << fmt;
    EXPECT_NE(error("9lives", "{}").find("'9lives'"), std::string::npos);
    EXPECT_THROW(tool_call_grammar({}, true), Error);
}

}  // namespace
}  // namespace scout::grammar

namespace scout {
namespace {

TEST(SamplerMask, MaskedTokensAreNeverChosenGreedyOrSampled) {
    std::vector<float> logits = {5.0f, 1.0f, 4.0f, 0.5f, 3.0f};
    const std::vector<uint64_t> allowed = {0b01010};  // tokens 1 and 3
    Sampler greedy(SamplingParams{.temperature = 0.0f});
    EXPECT_EQ(greedy.sample(logits, {}, allowed), 1);
    Sampler sampled(SamplingParams{.temperature = 1.0f, .seed = 7});
    for (int i = 0; i < 200; ++i) {
        const int32_t t = sampled.sample(logits, {}, allowed);
        EXPECT_TRUE(t == 1 || t == 3) << t;
    }
    const SampleResult r = sampled.sample_with_logprobs(logits, {}, 1, allowed);
    EXPECT_TRUE(r.id == 1 || r.id == 3);
    EXPECT_EQ(greedy.sample(logits, {}), 0);  // no mask: unchanged behaviour
    EXPECT_THROW(greedy.sample(logits, {}, std::vector<uint64_t>{0}), Error);
}

TEST(SamplerMask, StepSetsMinusInfinity) {
    std::vector<float> logits = {1, 2, 3};
    EXPECT_EQ(apply_token_mask(logits, std::vector<uint64_t>{0b100}), 1u);
    EXPECT_TRUE(std::isinf(logits[0]) && logits[0] < 0);
    EXPECT_TRUE(std::isinf(logits[1]));
    EXPECT_EQ(logits[2], 3.0f);
}

}  // namespace
}  // namespace scout
