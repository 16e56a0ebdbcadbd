// Request parsing: accepted shapes, defaults, and a 400 naming the field for each wrong type.
#include <gtest/gtest.h>

#include "server/api_error.hpp"
#include "server/openai_request.hpp"

namespace scout::server {
namespace {

std::string param_of(auto&& fn) {
    try {
        fn();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        return e.param.empty() ? "<none>" : e.param;
    }
    return "<accepted>";
}

std::string chat_param(const std::string& extra) {
    return param_of([&] { parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}])" + extra + "}"); });
}

TEST(OpenAiRequest, ChatMinimalAndFull) {
    ChatRequest r = parse_chat_request(R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_FALSE(r.sampling.stream);
    EXPECT_FALSE(r.sampling.max_tokens);

    r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"top_p":0.9,
        "max_completion_tokens":7,"stop":["a","b"],"seed":42,"presence_penalty":1,"frequency_penalty":-1,
        "logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_usage":true},"n":1,
        "user":"x","some_vendor_field":{"a":1},"tool_choice":"none"})");
    EXPECT_FLOAT_EQ(*r.sampling.temperature, 0.5f);
    EXPECT_EQ(*r.sampling.max_tokens, 7);
    EXPECT_EQ(r.sampling.stop, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(*r.sampling.seed, 42u);
    EXPECT_EQ(r.sampling.top_logprobs, 3);
    EXPECT_TRUE(r.sampling.include_usage);
    EXPECT_EQ(r.tool_choice, ToolChoice::none);
}

TEST(OpenAiRequest, NullMeansUnset) {
    ChatRequest r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}],"temperature":null,"stop":null,"max_tokens":null})");
    EXPECT_FALSE(r.sampling.temperature);
    EXPECT_TRUE(r.sampling.stop.empty());
}

TEST(OpenAiRequest, WrongTypesNameTheField) {
    EXPECT_EQ(chat_param(R"(,"temperature":"hot")"), "temperature");
    EXPECT_EQ(chat_param(R"(,"temperature":3)"), "temperature");
    EXPECT_EQ(chat_param(R"(,"top_p":0)"), "top_p");
    EXPECT_EQ(chat_param(R"(,"max_tokens":1.5)"), "max_tokens");
    EXPECT_EQ(chat_param(R"(,"max_tokens":0)"), "max_tokens");
    EXPECT_EQ(chat_param(R"(,"max_tokens":-3)"), "max_tokens");
    EXPECT_EQ(chat_param(R"(,"stop":5)"), "stop");
    EXPECT_EQ(chat_param(R"(,"stop":[""])"), "stop");
    EXPECT_EQ(chat_param(R"(,"seed":"x")"), "seed");
    EXPECT_EQ(chat_param(R"(,"stream":"yes")"), "stream");
    EXPECT_EQ(chat_param(R"(,"stream_options":{"include_usage":true})"), "stream_options");
    EXPECT_EQ(chat_param(R"(,"n":2)"), "n");
    EXPECT_EQ(chat_param(R"(,"top_logprobs":2)"), "top_logprobs");
    EXPECT_EQ(chat_param(R"(,"logprobs":true,"top_logprobs":21)"), "top_logprobs");
    EXPECT_EQ(chat_param(R"(,"model":3)"), "model");
    EXPECT_EQ(chat_param(R"(,"logit_bias":{"1":2})"), "logit_bias");
    EXPECT_EQ(chat_param(R"(,"response_format":{"type":"json_object"})"), "<accepted>");
    EXPECT_EQ(chat_param(R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"integer"},"strict":true}})"),
              "<accepted>");
    EXPECT_EQ(chat_param(R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","format":"date"}}})"),
              "response_format");
    EXPECT_EQ(chat_param(R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x"}})"), "response_format");
    EXPECT_EQ(chat_param(R"(,"response_format":{"type":"yaml"})"), "response_format");
    EXPECT_EQ(chat_param(R"(,"tools":{})"), "tools");
    EXPECT_EQ(chat_param(R"(,"tools":[{"type":"function","function":{"name":"a b"}}])"), "tools[0].function.name");
    EXPECT_EQ(chat_param(R"(,"tool_choice":"always")"), "tool_choice");
    EXPECT_EQ(chat_param(R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}})"),
              "tool_choice");
    EXPECT_EQ(chat_param(R"(,"unknown_field":[1,2,3])"), "<accepted>");
}

TEST(OpenAiRequest, MessagesAreChecked) {
    auto p = [](const std::string& body) { return param_of([&] { parse_chat_request(body); }); };
    EXPECT_EQ(p(R"({})"), "messages");
    EXPECT_EQ(p(R"({"messages":[]})"), "messages");
    EXPECT_EQ(p(R"({"messages":"hi"})"), "messages");
    EXPECT_EQ(p(R"({"messages":[{"role":"wizard","content":"x"}]})"), "messages");
    EXPECT_EQ(p(R"({"messages":[{"content":"x"}]})"), "messages");
    EXPECT_EQ(p(R"({"messages":[{"role":"user","content":5}]})"), "messages");
}

TEST(OpenAiRequest, MalformedBodies) {
    for (const std::string& body : std::vector<std::string>{"", "{", "[]", "null", "\"x\"", "{\"messages\":[}", "{\"a\":1}garbage",
                             std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}")}) {
        SCOPED_TRACE(body);
        try {
            parse_chat_request(body);
            ADD_FAILURE() << "accepted";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 400);
        }
    }
}

TEST(OpenAiRequest, DeepNestingIsRefusedBeforeParsing) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    for (const std::string& body :
         {R"({"messages":[{"role":"user","content":)" + deep + "}]}", R"({"messages":[{"role":"user","content":"hi"}],"x":)" + deep + "}"}) {
        try {
            parse_chat_request(body);
            ADD_FAILURE() << "accepted";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 400);
            EXPECT_EQ(e.code, "invalid_json");
        }
    }
    // Brackets inside strings do not count; 60 levels are fine.
    const std::string ok = std::string(60, '[') + std::string(60, ']');
    EXPECT_NO_THROW(parse_chat_request(R"({"messages":[{"role":"user","content":")" + std::string(1000, '[') +
                                       R"(\"["}],"x":)" + ok + "}"));
}

TEST(OpenAiRequest, Completions) {
    CompletionRequest r = parse_completion_request(R"({"prompt":"hello","max_tokens":3,"logprobs":2,"echo":true})");
    EXPECT_EQ(r.prompt, "hello");
    EXPECT_TRUE(r.echo);
    EXPECT_EQ(r.sampling.top_logprobs, 2);
    r = parse_completion_request(R"({"prompt":[1,2,3]})");
    EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
    r = parse_completion_request(R"({"prompt":["one"]})");
    EXPECT_EQ(r.prompt, "one");
    auto p = [](const std::string& body) { return param_of([&] { parse_completion_request(body); }); };
    EXPECT_EQ(p(R"({"prompt":5})"), "prompt");
    EXPECT_EQ(p(R"({"prompt":""})"), "prompt");
    EXPECT_EQ(p(R"({"prompt":["a","b"]})"), "prompt");
    EXPECT_EQ(p(R"({"prompt":[1,-2]})"), "prompt");
    EXPECT_EQ(p(R"({"prompt":"x","logprobs":6})"), "logprobs");
    EXPECT_EQ(p(R"({"prompt":"x","best_of":2})"), "best_of");
    EXPECT_EQ(p(R"({"prompt":"x","suffix":"y"})"), "suffix");
}

}  // namespace
}  // namespace scout::server
