#include "engine/generate.hpp"

#include <algorithm>
#include <chrono>

#include "base/error.hpp"
#include "text/stream_decoder.hpp"

namespace scout::engine {

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::stop_token: return "stop token";
        case StopReason::stop_string: return "stop string";
        case StopReason::max_tokens: return "token limit";
        case StopReason::context_full: return "context full";
        case StopReason::cancelled: return "cancelled";
    }
    return "?";
}

namespace {

// Holds generated text back while it could still turn into a stop string.
class StopStringFilter {
public:
    StopStringFilter(std::vector<std::string> stops, const TextCallback& out, std::string& text)
        : stops_(std::move(stops)), out_(out), text_(text) {
        for (const auto& s : stops_) check(!s.empty(), "stop strings must not be empty");
    }

    // Adds text; returns true when a stop string completed (text is cut before it).
    bool add(std::string_view piece) {
        pending_ += piece;
        std::size_t cut = std::string::npos;
        for (const auto& s : stops_) cut = std::min(cut, pending_.find(s));
        if (cut != std::string::npos) {
            emit(pending_.substr(0, cut));
            pending_.clear();
            return true;
        }
        // Keep the longest suffix of pending_ that is a proper prefix of some stop string.
        std::size_t keep = 0;
        for (const auto& s : stops_)
            for (std::size_t len = std::min(s.size() - 1, pending_.size()); len > keep; --len)
                if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
                    keep = len;
                    break;
                }
        emit(pending_.substr(0, pending_.size() - keep));
        pending_.erase(0, pending_.size() - keep);
        return false;
    }
    void finish() {
        emit(pending_);
        pending_.clear();
    }

private:
    void emit(const std::string& s) {
        if (s.empty()) return;
        text_ += s;
        if (out_) out_(s);
    }
    std::vector<std::string> stops_;  // owned: the caller's list may be a temporary
    const TextCallback& out_;
    std::string& text_;
    std::string pending_;
};

}  // namespace

GenerateResult generate(Session& session, Sampler& sampler, const text::Tokenizer* tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options, const TextCallback& on_text) {
    using clock = std::chrono::steady_clock;
    check(!prompt.empty(), "the prompt is empty: give at least one token");
    check(options.max_new_tokens >= 0, "the token limit must not be negative");
    GenerateResult result;
    result.n_prompt = static_cast<int64_t>(prompt.size());

    const auto t0 = clock::now();
    std::span<const float> logits = session.feed(prompt);
    const auto t1 = clock::now();
    result.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    std::optional<text::StreamDecoder> decoder;
    if (tokenizer) decoder.emplace(*tokenizer);
    StopStringFilter filter(tokenizer ? options.stop_strings : std::vector<std::string>{}, on_text, result.text);
    auto is_stop = [&](int32_t id) {
        return std::find(options.stop_tokens.begin(), options.stop_tokens.end(), id) != options.stop_tokens.end();
    };

    auto t_first = clock::now();
    bool stopped = false;
    for (int64_t i = 0; i < options.max_new_tokens && !stopped; ++i) {
        if (options.cancel && options.cancel->load()) {
            result.reason = StopReason::cancelled;
            stopped = true;
            break;
        }
        const int32_t id = sampler.sample(logits, session.tokens());
        if (i == 0) t_first = clock::now();
        result.tokens.push_back(id);
        if (is_stop(id)) {
            result.reason = StopReason::stop_token;
            stopped = true;
        } else if (decoder && filter.add(decoder->push(id))) {
            result.reason = StopReason::stop_string;
            stopped = true;
        }
        if (stopped || i + 1 == options.max_new_tokens) break;  // nobody needs the next logits
        if (session.remaining() < 1) {
            result.reason = StopReason::context_full;
            break;
        }
        logits = session.feed(std::span<const int32_t>(&result.tokens.back(), 1));
    }
    if (decoder && result.reason != StopReason::stop_string) filter.add(decoder->flush());
    filter.finish();
    result.gen_seconds = std::chrono::duration<double>(clock::now() - t_first).count();
    return result;
}

}  // namespace scout::engine
