#include "engine/generate.hpp"

#include <algorithm>
#include <chrono>

#include "base/error.hpp"
#include "engine/stop_strings.hpp"
#include "text/stream_decoder.hpp"

namespace scout::engine {

GenerateResult generate(Session& session, Sampler& sampler, const text::Tokenizer* tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options, const TextCallback& on_text) {
    using clock = std::chrono::steady_clock;
    check(!prompt.empty(), "the prompt is empty: give at least one token");
    check(options.max_new_tokens >= 0, "the token limit must not be negative");
    GenerateResult result;
    result.n_prompt = static_cast<int64_t>(prompt.size());

    const auto t0 = clock::now();
    std::span<const float> logits = session.feed(prompt, options.images);
    const auto t1 = clock::now();
    result.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    std::optional<text::StreamDecoder> decoder;
    if (tokenizer) decoder.emplace(*tokenizer);
    StopStringFilter filter(tokenizer ? options.stop_strings : std::vector<std::string>{});
    auto emit = [&](const std::string& s) {
        if (s.empty()) return;
        result.text += s;
        if (on_text) on_text(s);
    };
    auto is_stop = [&](int32_t id) {
        return std::find(options.stop_tokens.begin(), options.stop_tokens.end(), id) != options.stop_tokens.end();
    };

    std::optional<grammar::TokenConstraint> constraint;
    if (options.grammar) {
        check(tokenizer && options.trie, "structured output needs the tokenizer and its token trie");
        constraint.emplace(options.grammar, options.trie, options.stop_tokens);
    }

    auto t_first = clock::now();
    result.reason = StopReason::max_tokens;  // unless something else ends it first
    bool stopped = false;
    for (int64_t i = 0; i < options.max_new_tokens && !stopped; ++i) {
        if (options.cancel && options.cancel->load()) {
            result.reason = StopReason::cancelled;
            stopped = true;
            break;
        }
        const int32_t id = sampler.sample(logits, session.tokens(),
                                          constraint ? constraint->mask(logits.size()) : std::span<const uint64_t>());
        if (constraint && !tokenizer->is_special(id) && !constraint->accept(tokenizer->token_bytes(id)))
            throw Error("structured output: the grammar refused a token its mask allowed");
        if (i == 0) t_first = clock::now();
        result.tokens.push_back(id);
        if (is_stop(id)) {
            result.reason = StopReason::stop_token;
            stopped = true;
        } else if (decoder) {
            emit(filter.add(decoder->push(id)));
            if (filter.stopped()) {
                result.reason = StopReason::stop_string;
                stopped = true;
            }
        }
        if (stopped || i + 1 == options.max_new_tokens) break;  // nobody needs the next logits
        if (session.remaining() < 1) {
            result.reason = StopReason::context_full;
            break;
        }
        logits = session.feed(std::span<const int32_t>(&result.tokens.back(), 1));
    }
    if (decoder) emit(filter.add(decoder->flush()));  // nothing once a stop string was reached
    emit(filter.finish());
    result.gen_seconds = std::chrono::duration<double>(clock::now() - t_first).count();
    return result;
}

}  // namespace scout::engine
