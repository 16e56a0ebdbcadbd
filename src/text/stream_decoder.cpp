#include "text/stream_decoder.hpp"

#include "text/utf8.hpp"

namespace scout::text {

std::string StreamDecoder::push(int32_t id) {
    pending_ += tokenizer_->token_bytes(id);
    // Invalid bytes are replaced at once; only a tail that may still become valid waits.
    const size_t keep = utf8::incomplete_tail(pending_);
    std::string out = utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out = utf8::sanitize(pending_);
    pending_.clear();
    return out;
}

}  // namespace scout::text
