// Issue 19: every parser and renderer of nested data refuses nesting deeper than kMaxJsonDepth
// with an error, never a stack overflow. Each case nests 100,000 levels, far past any stack.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "text/chat_format.hpp"
#include "text/chat_json.hpp"
#include "text/chat_reply.hpp"
#include "text/json_limits.hpp"
#include "text/py_json.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

constexpr int kDeep = 100000;

std::string deep_array(int n) { return std::string(static_cast<size_t>(n), '[') + std::string(static_cast<size_t>(n), ']'); }

// A JSON string literal holding `s` (quotes escaped).
std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// A value nested n deep, built without recursion (nlohmann destroys values iteratively).
nlohmann::ordered_json deep_value(int n) {
    nlohmann::ordered_json root = nlohmann::ordered_json::array();
    nlohmann::ordered_json* cur = &root;
    for (int i = 1; i < n; ++i) {
        cur->push_back(nlohmann::ordered_json::array());
        cur = &(*cur)[0];
    }
    return root;
}

TEST(JsonLimits, NestingScan) {
    EXPECT_FALSE(json_nesting_exceeds(deep_array(kMaxJsonDepth)));
    EXPECT_TRUE(json_nesting_exceeds(deep_array(kMaxJsonDepth + 1)));
    EXPECT_FALSE(json_nesting_exceeds(quoted(std::string(kDeep, '['))));  // brackets inside a string
    EXPECT_FALSE(json_nesting_exceeds(R"(["\"[[[[", 1])", 1));
    EXPECT_TRUE(json_nesting_exceeds(deep_array(kDeep)));
}

TEST(JsonLimits, ParseLimited) {
    EXPECT_EQ(parse_json_limited(deep_array(kMaxJsonDepth), "x").dump(), deep_array(kMaxJsonDepth));
    EXPECT_THROW(parse_json_limited(deep_array(kDeep), "x"), Error);
    EXPECT_THROW(parse_json_limited("[", "x"), Error);
    EXPECT_FALSE(try_parse_json_limited(deep_array(kDeep)));
    EXPECT_TRUE(try_parse_json_limited("{\"a\": [1]}"));
}

TEST(JsonLimits, ChatMessagesToolArgumentsString) {
    // The crash of issue 19: the arguments string is itself JSON, parsed after the body's guard.
    const std::string body = R"([{"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": )" +
                             quoted(std::string(kDeep, '[')) + "}}]}]";
    try {
        parse_chat_messages(body);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("deeper than 64"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_chat_messages(deep_array(kDeep)), Error);
}

TEST(ChatJson, TileGridOverflow) {
    // 65536 * 65536 overflowed int to 0 and passed the r * c <= max_chunks check.
    for (const char* tiles : {"[65536, 65536]", "[4294967297, 1]", "[1, 17]", "[0, 1]"})
        EXPECT_THROW(parse_chat_messages(std::string(R"([{"role": "user", "content": [{"type": "image", "tiles": )") +
                                         tiles + "}]}]"),
                     Error)
            << tiles;
    EXPECT_NO_THROW(parse_chat_messages(R"([{"role": "user", "content": [{"type": "image", "tiles": [2, 2]}]}])"));
}

TEST(JsonLimits, ModelToolCallReplies) {
    // JSON form, <function=...> form and the Python list form, each 100,000 deep.
    const std::string deep = deep_array(kDeep);
    EXPECT_FALSE(parse_tool_calls(R"({"name": "f", "parameters": {"a": )" + deep + "}}"));
    EXPECT_FALSE(parse_tool_calls("<function=f>{\"a\": " + deep + "}</function>"));
    EXPECT_FALSE(parse_tool_calls("[f(a=" + deep + ")]"));
    EXPECT_FALSE(parse_tool_calls("[f(a=" + std::string(kDeep, '(') + std::string(kDeep, ')') + ")]"));
    EXPECT_FALSE(parse_tool_calls("[f(a=" + std::string(kDeep, '{') + ")]"));
    const auto r = parse_assistant_reply("[f(a=" + deep + ")]", MessageEnd::none);
    EXPECT_TRUE(r.tool_calls.empty());
    // After <|python_start|> the reply is code for code_interpreter, kept as a string: no walk.
    const auto code = parse_assistant_reply("<|python_start|>[f(a=" + deep + ")]<|python_end|>", MessageEnd::none);
    ASSERT_EQ(code.tool_calls.size(), 1u);
    EXPECT_EQ(code.tool_calls[0].name, "code_interpreter");
    const auto j = parse_assistant_reply(R"({"name": "f", "parameters": {"a": )" + deep + "}}", MessageEnd::none);
    EXPECT_TRUE(j.tool_calls.empty());
}

TEST(JsonLimits, Renderers) {
    EXPECT_THROW(py_json_dumps(deep_value(kDeep), true), Error);
    EXPECT_THROW(py_json_dumps(deep_value(kDeep), false, 4), Error);
    EXPECT_NO_THROW(py_json_dumps(deep_value(kMaxJsonDepth), true));
    ChatMessage m = ChatMessage::make("assistant", "");
    m.tool_calls.push_back(ToolCall{"", "f", "{\"a\": " + deep_array(kDeep) + "}"});
    EXPECT_THROW(render_hf_chat_text(std::vector{m}), Error);
    HfChatOptions o;
    o.tools_json = deep_array(kDeep);
    EXPECT_THROW(render_hf_chat_text(std::vector{ChatMessage::make("user", "hi")}, o), Error);
}

TEST(JsonLimits, PythonListToolFormat) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    ChatFormatOptions o;
    o.tool_format = ToolPromptFormat::python_list;
    const ChatFormat f(*tok, o);
    EXPECT_THROW(f.tool_call_text(ToolCall{"", "f", "{\"a\": " + deep_array(kDeep) + "}"}), Error);
    EXPECT_EQ(f.tool_call_text(ToolCall{"", "f", R"({"a": [1, {"b": null}]})"}), "[f(a=[1, {b=None}])]");
}

}  // namespace
}  // namespace scout::text
