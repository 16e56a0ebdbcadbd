// A short fuzz run of request parsing and tool-call parsing: random mutations of valid requests
// (byte flips, truncation, insertions, type swaps) must give a parsed request or an ApiError 400,
// never another exception or a crash. The seed is printed so a failure can be replayed.
#include <gtest/gtest.h>

#include <random>

#include "server/api_error.hpp"
#include "server/openai_request.hpp"
#include "server/tool_calls.hpp"
#include "test_util.hpp"

namespace scout::server {
namespace {

const std::vector<std::string> kSeeds = {
    R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.7,"stop":["x"],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true}})",
    R"({"messages":[{"role":"user","content":"w"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c","content":"{}"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","logprobs":true,"top_logprobs":2})",
    R"({"prompt":"hello","max_tokens":3,"logprobs":1,"echo":true,"seed":1,"stop":"\n"})",
    R"({"prompt":[1,2,3],"n":1,"best_of":1})",
};

const std::vector<std::string> kTokens = {"null", "true", "1e308", "-1", "\"\"", "[]", "{}", "\"\\ud800\"", "\xff", "\"",
                                          ",", ":", "0.0", "18446744073709551616", "[[[[[[[[", "}}}}"};

std::string mutate(std::string s, std::mt19937_64& rng) {
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n && !s.empty(); ++k) {
        const std::size_t pos = rng() % s.size();
        switch (rng() % 5) {
            case 0: s[pos] = static_cast<char>(rng() % 256); break;
            case 1: s.erase(pos, 1 + rng() % 8); break;
            case 2: s.insert(pos, kTokens[rng() % kTokens.size()]); break;
            case 3: s.resize(pos); break;
            case 4: s.insert(pos, s.substr(rng() % s.size(), rng() % 16)); break;
        }
    }
    return s;
}

TEST(FuzzRequest, MutatedBodiesGiveRequestsOr400) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string body = mutate(kSeeds[rng() % kSeeds.size()], rng);
        for (bool chat : {true, false}) {
            try {
                if (chat) parse_chat_request(body);
                else parse_completion_request(body);
                ++accepted;
            } catch (const ApiError& e) {
                ASSERT_EQ(e.status, 400) << body;
                ++rejected;
            } catch (const std::exception& e) {
                FAIL() << "unexpected exception " << e.what() << " for body: " << body;
            }
        }
    }
    EXPECT_GT(accepted, 100);
    EXPECT_GT(rejected, 100);
}

TEST(FuzzRequest, ToolCallParserNeverThrows) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    const std::vector<std::string> replies = {R"([get_weather(city="SF", n=1, l=[1,{"a":(2,)}])])",
                                              R"({"name":"f","parameters":{"a":[1,2]}})",
                                              R"(<function=f>{"n":1}</function>)", "Some text [f(a=1)]",
                                              R"([f(s='\u00e9\n', t=True, d={'k': None})]<|eom|>)",
                                              R"(<|python_start|>brave_search.call(query="x")<|python_end|>)"};
    for (int i = 0; i < 20000; ++i) {
        const std::string s = mutate(replies[rng() % replies.size()], rng);
        EXPECT_NO_THROW({
            auto r = parse_tool_calls(s);
            (void)may_start_tool_call(s);
            if (r) {
                for (const auto& c : r->calls) EXPECT_FALSE(c.name.empty());
            }
            // The reference rule (scout chat, tests/text) shares the readers.
            (void)text::parse_assistant_reply(s, text::MessageEnd::none);
        }) << s;
    }
}

}  // namespace
}  // namespace scout::server
