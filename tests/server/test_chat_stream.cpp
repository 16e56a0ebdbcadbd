// Chat response bodies from scripted scheduler events: a reply that is a tool call becomes
// tool_calls (streamed and whole) with finish_reason "tool_calls"; plain text streams as content;
// usage and [DONE] close the stream.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/openai_response.hpp"

namespace scout::server {
namespace {

using Json = nlohmann::ordered_json;

engine::StreamEvent piece(std::string text) {
    engine::StreamEvent e;
    e.text = std::move(text);
    return e;
}

engine::StreamEvent end(engine::StopReason r, std::string text = {}) {
    engine::StreamEvent e;
    e.text = std::move(text);
    e.done = true;
    e.finish = r;
    e.n_prompt = 10;
    e.n_generated = 7;
    e.n_prompt_reused = 4;
    return e;
}

// The JSON objects of an SSE text, in order; "[DONE]" as a string.
std::vector<Json> events(const std::string& sse) {
    std::vector<Json> out;
    std::size_t p = 0;
    while (p < sse.size()) {
        const std::size_t q = sse.find("\n\n", p);
        EXPECT_NE(q, std::string::npos);
        const std::string line = sse.substr(p, q - p);
        EXPECT_EQ(line.rfind("data: ", 0), 0u) << line;
        const std::string data = line.substr(6);
        out.push_back(data == "[DONE]" ? Json("[DONE]") : Json::parse(data));
        p = q + 2;
    }
    return out;
}

ChatReplyInfo info(bool tools, bool usage = true) {
    return {.id = "chatcmpl-1", .created = 5, .model = "m", .tools_on = tools, .include_usage = usage};
}

std::string run(ChatStream& s, std::vector<engine::StreamEvent> evs) {
    std::string out = s.start();
    for (auto& e : evs) out += s.add(e);
    return out;
}

TEST(ChatStream, ToolCallBecomesToolCallsDelta) {
    ChatStream s(info(true));
    const auto ev = events(run(s, {piece("[get_weather(city="), piece("\"Paris\"), "), piece("f(n=2)]"), end(engine::StopReason::stop_token)}));
    ASSERT_TRUE(s.done());
    ASSERT_EQ(ev.size(), 5u);  // role, tool_calls, finish, usage, [DONE]
    EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
    const Json& calls = ev[1]["choices"][0]["delta"]["tool_calls"];
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0]["index"], 0);
    EXPECT_EQ(calls[0]["type"], "function");
    EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
    EXPECT_EQ(calls[0]["function"]["arguments"], R"({"city":"Paris"})");
    EXPECT_EQ(calls[0]["id"].get<std::string>().rfind("call_", 0), 0u);
    EXPECT_EQ(calls[1]["index"], 1);
    EXPECT_EQ(calls[1]["function"]["arguments"], R"({"n":2})");
    EXPECT_EQ(ev[2]["choices"][0]["finish_reason"], "tool_calls");
    EXPECT_TRUE(ev[3]["choices"].empty());
    EXPECT_EQ(ev[3]["usage"]["completion_tokens"], 7);
    EXPECT_EQ(ev[3]["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    EXPECT_EQ(ev[4], "[DONE]");
}

TEST(ChatStream, JsonToolCallInTheFinalEvent) {
    ChatStream s(info(true, false));
    const auto ev = events(run(s, {piece("{\"name\": \"f\", "), end(engine::StopReason::stop_token, "\"parameters\": {}}")}));
    ASSERT_EQ(ev.size(), 4u);  // role, tool_calls, finish, [DONE]
    EXPECT_EQ(ev[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "f");
    EXPECT_EQ(ev[2]["choices"][0]["finish_reason"], "tool_calls");
}

TEST(ChatStream, PlainTextStreamsWithTools) {
    ChatStream s(info(true, false));
    std::string out = s.start();
    auto e1 = piece("Hello");
    const std::string first = s.add(e1);
    EXPECT_NE(first, "");  // released at once: cannot be a call list
    auto e2 = piece(" [x]");
    out += first + s.add(e2);
    auto e3 = end(engine::StopReason::max_tokens);
    out += s.add(e3);
    const auto ev = events(out);
    std::string text;
    for (const auto& j : ev)
        if (j.is_object() && !j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
            text += j["choices"][0]["delta"]["content"].get<std::string>();
    EXPECT_EQ(text, "Hello [x]");
    EXPECT_EQ(ev[ev.size() - 2]["choices"][0]["finish_reason"], "length");
}

TEST(ChatStream, HeldTextThatIsNotACallIsSentAsContent) {
    ChatStream s(info(true, false));
    const auto ev = events(run(s, {piece("[1, 2"), end(engine::StopReason::stop_token, "]")}));
    ASSERT_EQ(ev.size(), 4u);  // role, content, finish, [DONE]
    EXPECT_EQ(ev[1]["choices"][0]["delta"]["content"], "[1, 2]");
    EXPECT_EQ(ev[2]["choices"][0]["finish_reason"], "stop");
}

TEST(ChatStream, WithoutToolsBracketsAreContent) {
    ChatStream s(info(false, false));
    const auto ev = events(run(s, {piece("[f(a=1)]"), end(engine::StopReason::stop_token)}));
    EXPECT_EQ(ev[1]["choices"][0]["delta"]["content"], "[f(a=1)]");
    EXPECT_EQ(ev[2]["choices"][0]["finish_reason"], "stop");
}

TEST(ChatStream, ErrorEndsWithAnErrorObject) {
    ChatStream s(info(false));
    auto e = end(engine::StopReason::error);
    e.error = "boom";
    const auto ev = events(run(s, {piece("a"), e}));
    ASSERT_TRUE(ev.back().contains("error"));
    EXPECT_NE(ev.back()["error"]["message"].get<std::string>().find("boom"), std::string::npos);
}

TEST(ChatCompletion, WholeReplyWithToolCalls) {
    const Json j = chat_completion_json(info(true), "I'll check.\n[get_weather(city=\"Oslo\")]", Json::array(),
                                        end(engine::StopReason::stop_token));
    const Json& m = j["choices"][0]["message"];
    EXPECT_EQ(m["content"], "I'll check.");
    ASSERT_EQ(m["tool_calls"].size(), 1u);
    EXPECT_FALSE(m["tool_calls"][0].contains("index"));
    EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], R"({"city":"Oslo"})");
    EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
    EXPECT_EQ(j["usage"]["total_tokens"], 17);
    const Json p = chat_completion_json(info(true), "[get_weather(city=\"Oslo\")]", Json::array(), end(engine::StopReason::stop_token));
    EXPECT_TRUE(p["choices"][0]["message"]["content"].is_null());
    const Json q = chat_completion_json(info(false), "[get_weather(city=\"Oslo\")]", Json::array(), end(engine::StopReason::max_tokens));
    EXPECT_FALSE(q["choices"][0]["message"].contains("tool_calls"));
    EXPECT_EQ(q["choices"][0]["finish_reason"], "length");
}

TEST(FinishReason, EveryStopReasonMapsToOpenAi) {
    using engine::StopReason;
    EXPECT_EQ(openai_finish_reason(StopReason::stop_token), "stop");
    EXPECT_EQ(openai_finish_reason(StopReason::stop_string), "stop");
    EXPECT_EQ(openai_finish_reason(StopReason::max_tokens), "length");
    EXPECT_EQ(openai_finish_reason(StopReason::context_full), "length");
    for (StopReason r : {StopReason::stop_token, StopReason::stop_string, StopReason::max_tokens, StopReason::context_full})
        EXPECT_EQ(openai_finish_reason(r, true), "tool_calls");
    // Not ended, or ended without a reply (answered as an error): no finish_reason.
    for (StopReason r : {StopReason::none, StopReason::cancelled, StopReason::error}) {
        EXPECT_TRUE(openai_finish_reason(r).is_null());
        EXPECT_TRUE(openai_finish_reason(r, true).is_null());
    }
}

TEST(ChatStream, StopStringAndContextFullEndNormally) {
    ChatStream a(info(false, false));
    auto ev = events(run(a, {piece("hi"), end(engine::StopReason::stop_string)}));
    EXPECT_EQ(ev[ev.size() - 2]["choices"][0]["finish_reason"], "stop");
    ChatStream b(info(false, false));
    ev = events(run(b, {piece("hi"), end(engine::StopReason::context_full)}));
    EXPECT_EQ(ev[ev.size() - 2]["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(ev.back(), "[DONE]");
}

}  // namespace
}  // namespace scout::server
