// Tool-call parsing in the three forms models use, the tools prompt, and what must not parse.
#include <gtest/gtest.h>

#include "server/tool_calls.hpp"

namespace scout::server {
namespace {

std::vector<std::pair<std::string, std::string>> calls(std::string_view reply) {
    auto r = parse_tool_calls(reply);
    std::vector<std::pair<std::string, std::string>> out;
    if (r)
        for (const auto& c : r->calls) out.emplace_back(c.name, c.arguments_json);
    return out;
}

using Calls = std::vector<std::pair<std::string, std::string>>;

TEST(ToolCalls, Pythonic) {
    EXPECT_EQ(calls(R"([get_weather(city="San Francisco"), get_weather(city="Seattle")])"),
              (Calls{{"get_weather", R"({"city":"San Francisco"})"}, {"get_weather", R"({"city":"Seattle"})"}}));
    EXPECT_EQ(calls(R"([f(n=1, x=-2.5, b=True, z=None, s='it\'s', l=[1, [2, 3]], d={"k": (1, 2)})])"),
              (Calls{{"f", R"({"n":1,"x":-2.5,"b":true,"z":null,"s":"it's","l":[1,[2,3]],"d":{"k":[1,2]}})"}}));
    EXPECT_EQ(calls("  [noargs()]\n"), (Calls{{"noargs", "{}"}}));
    EXPECT_EQ(calls("<|python_start|>[f(a=1)]<|python_end|>"), (Calls{{"f", R"({"a":1})"}}));
    EXPECT_EQ(calls("f(a=\"x\")"), (Calls{{"f", R"({"a":"x"})"}}));
    EXPECT_EQ(calls(R"([search(q="a, b) [c]")])"), (Calls{{"search", R"({"q":"a, b) [c]"})"}}));
}

TEST(ToolCalls, StringEscapes) {
    EXPECT_EQ(calls(R"([f(s="caf\u00e9\t\"q\"")])"), (Calls{{"f", "{\"s\":\"caf\u00e9\\t\\\"q\\\"\"}"}}));
    for (std::string_view s : {R"([f(s="\u00")])", R"([f(s="\uzzzz")])", R"([f(s="open)])"}) {
        SCOPED_TRACE(s);
        EXPECT_FALSE(parse_tool_calls(s));
        EXPECT_TRUE(text::parse_assistant_reply(s, text::MessageEnd::none).tool_calls.empty());
    }
}

TEST(ToolCalls, Json) {
    EXPECT_EQ(calls(R"({"name": "f", "parameters": {"a": 1}})"), (Calls{{"f", R"({"a":1})"}}));
    EXPECT_EQ(calls(R"({"type": "function", "name": "f", "parameters": {"a": [1, 2]}})"), (Calls{{"f", R"({"a":[1,2]})"}}));
    EXPECT_EQ(calls(R"([{"name": "f", "arguments": "{\"a\": 1}"}, {"name": "g", "parameters": {}}])"),
              (Calls{{"f", R"({"a":1})"}, {"g", "{}"}}));
    EXPECT_EQ(calls(R"(<function=trending_songs>{"n": 10}</function>)"), (Calls{{"trending_songs", R"({"n":10})"}}));
}

TEST(ToolCalls, TextBeforeTheCalls) {
    auto r = parse_tool_calls("Let me look that up.\n[get_weather(city=\"Paris\")]");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->content, "Let me look that up.");
    ASSERT_EQ(r->calls.size(), 1u);
    EXPECT_EQ(r->calls[0].name, "get_weather");
}

TEST(ToolCalls, PlainTextIsNotACall) {
    for (std::string_view s : {"", "Hello there", "[1, 2, 3]", "[f(a=1)] and more text", "[f(a=)]", "[f(a=1)", "{\"x\": 1}",
                               "f(1, 2)", "The answer is [f(x=1)]x", "{\"name\": 5}", "<function=f>{bad}</function>"}) {
        SCOPED_TRACE(s);
        EXPECT_FALSE(parse_tool_calls(s));
    }
}

TEST(ToolCalls, StreamingPrefix) {
    EXPECT_TRUE(may_start_tool_call(""));
    EXPECT_TRUE(may_start_tool_call("  ["));
    EXPECT_TRUE(may_start_tool_call("<|python"));
    EXPECT_TRUE(may_start_tool_call("<func"));
    EXPECT_TRUE(may_start_tool_call("{\"name\""));
    EXPECT_FALSE(may_start_tool_call("Hello"));
    EXPECT_FALSE(may_start_tool_call("<b>"));
}

TEST(ToolCalls, PromptAndMessages) {
    std::vector<ToolSpec> tools{{"get_weather", "Weather of a city", nlohmann::ordered_json::parse(R"({"type":"object"})")}};
    std::vector<text::ChatMessage> msgs{text::ChatMessage::make("user", "hi")};
    add_tools_to_messages(msgs, tools, ToolChoice::auto_, "");
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].role, "system");
    EXPECT_NE(msgs[0].content[0].text.find("\"name\": \"get_weather\""), std::string::npos);
    EXPECT_NE(msgs[0].content[0].text.find("[func_name1(params_name1=params_value1"), std::string::npos);
    std::vector<text::ChatMessage> with_sys{text::ChatMessage::make("system", "Be brief."), text::ChatMessage::make("user", "hi")};
    add_tools_to_messages(with_sys, tools, ToolChoice::required, "");
    ASSERT_EQ(with_sys.size(), 2u);
    EXPECT_EQ(with_sys[0].content[0].text.rfind("Be brief.\n\n", 0), 0u);
    EXPECT_NE(with_sys[0].content[0].text.find("MUST call"), std::string::npos);
    std::vector<text::ChatMessage> none{text::ChatMessage::make("user", "hi")};
    add_tools_to_messages(none, tools, ToolChoice::none, "");
    EXPECT_EQ(none.size(), 1u);
}

// Feeds a reply to ToolCallStream in pieces; returns (streamed text, final result).
std::pair<std::string, ParsedToolCalls> stream(const std::vector<std::string>& pieces, bool parse = true) {
    ToolCallStream s;
    std::string sent;
    for (const auto& p : pieces) sent += s.add(p);
    ParsedToolCalls r = s.finish(parse);
    return {sent, r};
}

TEST(ToolCallStream, CallListIsHeldAndParsed) {
    auto [sent, r] = stream({"[get_", "weather(city=", "\"Paris\")", "]"});
    EXPECT_EQ(sent, "");
    ASSERT_EQ(r.calls.size(), 1u);
    EXPECT_EQ(r.calls[0].arguments_json, R"({"city":"Paris"})");
    EXPECT_EQ(r.content, "");
}

TEST(ToolCallStream, PlainTextStreamsAsSoonAsItIsClear) {
    ToolCallStream s;
    EXPECT_EQ(s.add("  "), "");  // could still be a call
    EXPECT_EQ(s.add("Hel"), "  Hel");
    EXPECT_FALSE(s.holding());
    EXPECT_EQ(s.add("lo [f(a=1)]"), "lo [f(a=1)]");  // no call parsing once streaming
    EXPECT_TRUE(s.finish(true).calls.empty());
}

TEST(ToolCallStream, BracketTextThatIsNotACallEndsAsContent) {
    auto [sent, r] = stream({"[1, 2", ", 3]"});
    EXPECT_EQ(sent, "");
    EXPECT_TRUE(r.calls.empty());
    EXPECT_EQ(r.content, "[1, 2, 3]");
    auto [sent2, r2] = stream({"[f(a=1)]"}, /*parse=*/false);
    EXPECT_TRUE(r2.calls.empty());
    EXPECT_EQ(r2.content, "[f(a=1)]");
}

TEST(ToolCallStream, JsonAndPythonTagForms) {
    auto [s1, r1] = stream({"{\"name\": \"f\", ", "\"parameters\": {\"x\": 2}}"});
    ASSERT_EQ(r1.calls.size(), 1u);
    EXPECT_EQ(r1.calls[0].name, "f");
    auto [s2, r2] = stream({"<|python_", "start|>[g()]", "<|python_end|>"});
    ASSERT_EQ(r2.calls.size(), 1u);
    EXPECT_EQ(r2.calls[0].name, "g");
}

}  // namespace
}  // namespace scout::server
