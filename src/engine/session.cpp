#include "engine/session.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace scout::engine {

Session::Session(backend::Forward& forward, SessionOptions options)
    : forward_(forward), options_(options), kv_(forward.make_kv()) {
    check(options_.context_length > 0, "context length must be positive");
    check(options_.prefill_batch > 0, "prefill batch must be positive");
}

std::span<const float> Session::feed(std::span<const int32_t> tokens, const PromptImages& images) {
    check(!tokens.empty(), "nothing to feed: the token list is empty");
    const auto n = static_cast<int64_t>(tokens.size());
    const auto D = static_cast<std::size_t>(forward_.config().hidden_size);
    if (!images.rows.empty()) {
        const auto marked = static_cast<std::size_t>(std::count(tokens.begin(), tokens.end(), images.token));
        if (marked * D != images.rows.size())
            throw Error(cat("the prompt holds ", marked, " image tokens (id ", images.token, ") but the images give ",
                            images.rows.size() / D, " rows"));
        check(forward_.capabilities().embedding_rows, "this backend cannot take image features");
    }
    if (n > remaining())
        throw Error(cat("the context is full: ", n_past(), " positions used + ", n, " new tokens exceed the context of ",
                        options_.context_length, " (raise it with --ctx, up to the model's ",
                        forward_.config().max_position_embeddings, ")"));
    std::size_t done = 0, rows_used = 0;
    std::vector<int64_t> at;  // a piece's image-token rows
    while (done < tokens.size()) {
        const std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(options_.prefill_batch), tokens.size() - done);
        backend::SequenceStep step;
        step.kv = kv_.get();
        step.tokens = tokens.subspan(done, len);
        at.clear();
        if (!images.rows.empty())
            for (std::size_t i = 0; i < len; ++i)
                if (step.tokens[i] == images.token) at.push_back(static_cast<int64_t>(i));
        step.embedding_rows = at;
        step.embeddings = images.rows.empty() ? images.rows : images.rows.subspan(rows_used * D, at.size() * D);
        rows_used += at.size();
        forward_.forward(backend::Batch(&step, 1), logits_);
        tokens_.insert(tokens_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(done),
                       tokens.begin() + static_cast<std::ptrdiff_t>(done + len));
        done += len;
    }
    return logits_;
}

void Session::reset() {
    kv_->clear();
    tokens_.clear();
}

}  // namespace scout::engine
