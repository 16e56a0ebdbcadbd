#include "engine/session.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace scout::engine {

Session::Session(backend::Forward& forward, SessionOptions options)
    : forward_(forward), options_(options), kv_(forward.make_kv()) {
    check(options_.context_length > 0, "context length must be positive");
    check(options_.prefill_batch > 0, "prefill batch must be positive");
}

std::span<const float> Session::feed(std::span<const int32_t> tokens) {
    check(!tokens.empty(), "nothing to feed: the token list is empty");
    const auto n = static_cast<int64_t>(tokens.size());
    if (n > remaining())
        throw Error(cat("the context is full: ", n_past(), " positions used + ", n, " new tokens exceed the context of ",
                        options_.context_length, " (raise it with --ctx, up to the model's ",
                        forward_.config().max_position_embeddings, ")"));
    std::size_t done = 0;
    while (done < tokens.size()) {
        const std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(options_.prefill_batch), tokens.size() - done);
        forward_.forward(*kv_, tokens.subspan(done, len), /*all_logits=*/false, logits_);
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
