#include "server/openai_response.hpp"

#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include "server/api_error.hpp"

namespace scout::server {

using Json = nlohmann::ordered_json;

std::string dump_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string random_id(const char* prefix) {
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x", rd(), rd(), rd());
    return std::string(prefix) + buf;
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Json usage_json(const engine::StreamEvent& end) {
    return Json{{"prompt_tokens", end.n_prompt},
                {"completion_tokens", end.n_generated},
                {"total_tokens", end.n_prompt + end.n_generated},
                {"prompt_tokens_details", {{"cached_tokens", end.n_prompt_reused}}}};
}

Json openai_finish_reason(engine::StopReason r, bool tool_calls) {
    switch (r) {
        case engine::StopReason::stop_token:
        case engine::StopReason::stop_string: return tool_calls ? "tool_calls" : "stop";
        case engine::StopReason::max_tokens:
        case engine::StopReason::context_full: return tool_calls ? "tool_calls" : "length";
        case engine::StopReason::none:
        case engine::StopReason::cancelled:
        case engine::StopReason::error: return nullptr;
    }
    return nullptr;
}

Json chat_logprob_json(const text::Tokenizer& tok, const engine::TokenLogprob& lp) {
    auto entry = [&](int32_t id, float logprob) {
        const std::string_view b = tok.token_bytes(id);
        Json bytes = Json::array();
        for (unsigned char c : b) bytes.push_back(static_cast<int>(c));
        return Json{{"token", std::string(b)}, {"logprob", logprob}, {"bytes", bytes}};
    };
    Json e = entry(lp.id, lp.logprob);
    Json top = Json::array();
    for (const auto& [id, l] : lp.top) top.push_back(entry(id, l));
    e["top_logprobs"] = std::move(top);
    return e;
}

Json tool_calls_json(const std::vector<text::ToolCall>& calls, bool with_index) {
    Json a = Json::array();
    for (std::size_t i = 0; i < calls.size(); ++i) {
        Json c;
        if (with_index) c["index"] = i;
        c["id"] = random_id("call_");
        c["type"] = "function";
        c["function"] = Json{{"name", calls[i].name}, {"arguments", calls[i].arguments_json}};
        a.push_back(std::move(c));
    }
    return a;
}

Json chat_completion_json(const ChatReplyInfo& info, const std::string& text, const Json& logprobs,
                          const engine::StreamEvent& end) {
    Json message{{"role", "assistant"}, {"content", text}};
    bool tool_calls = false;
    if (info.tools_on)
        if (auto calls = parse_tool_calls(text)) {
            message["content"] = calls->content.empty() ? Json(nullptr) : Json(calls->content);
            message["tool_calls"] = tool_calls_json(calls->calls, false);
            tool_calls = true;
        }
    Json choice{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", openai_finish_reason(end.finish, tool_calls)}};
    if (info.want_logprobs) choice["logprobs"] = Json{{"content", logprobs}};
    return Json{{"id", info.id}, {"object", "chat.completion"}, {"created", info.created}, {"model", info.model},
                {"choices", Json::array({choice})}, {"usage", usage_json(end)}};
}

ChatStream::ChatStream(ChatReplyInfo info) : info_(std::move(info)) {
    if (info_.tools_on) tools_.emplace();
}

std::string ChatStream::chunk(Json delta, Json finish, Json logprobs) const {
    Json choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)}, {"finish_reason", std::move(finish)}};
    return "data: " +
           dump_json(Json{{"id", info_.id}, {"object", "chat.completion.chunk"}, {"created", info_.created},
                          {"model", info_.model}, {"choices", Json::array({choice})}}) +
           "\n\n";
}

std::string ChatStream::start() { return chunk(Json{{"role", "assistant"}, {"content", ""}}, nullptr, nullptr); }

std::string ChatStream::add(engine::StreamEvent& e) {
    std::string out;
    std::string text = tools_ ? tools_->add(e.text) : e.text;
    if (e.logprob && info_.tokenizer) held_logprobs_.push_back(chat_logprob_json(*info_.tokenizer, *e.logprob));
    bool tool_calls = false;
    if (e.done && tools_) {
        ParsedToolCalls parsed = tools_->finish(engine::ended_normally(e.finish));
        text += parsed.content;
        if (!parsed.calls.empty()) {
            if (!text.empty()) out += chunk(Json{{"content", text}}, nullptr, nullptr);
            text.clear();
            out += chunk(Json{{"tool_calls", tool_calls_json(parsed.calls, true)}}, nullptr, nullptr);
            tool_calls = true;
        }
    }
    const bool held = tools_ && tools_->holding();
    if (!held && (!text.empty() || !held_logprobs_.empty())) {
        Json lp = info_.want_logprobs ? Json{{"content", std::exchange(held_logprobs_, Json::array())}} : Json(nullptr);
        out += chunk(Json{{"content", text}}, nullptr, lp);
    }
    if (!e.done) return out;
    done_ = true;
    if (!engine::ended_normally(e.finish)) {
        const std::string msg = e.finish == engine::StopReason::error ? "generation failed: " + e.error
                                                                      : std::string("the server is shutting down");
        return out + "data: " + error_body(500, msg) + "\n\n";
    }
    out += chunk(Json::object(), openai_finish_reason(e.finish, tool_calls), nullptr);
    if (info_.include_usage)
        out += "data: " +
               dump_json(Json{{"id", info_.id}, {"object", "chat.completion.chunk"}, {"created", info_.created},
                              {"model", info_.model}, {"choices", Json::array()}, {"usage", usage_json(e)}}) +
               "\n\n";
    return out + "data: [DONE]\n\n";
}

}  // namespace scout::server
