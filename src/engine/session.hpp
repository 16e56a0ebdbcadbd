// One conversation's state on one model: its KV memory and the tokens it has seen.
// The generation loop and the chat/server front-ends talk to the model only through this.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <memory>

#include "backend/forward.hpp"
#include "kv/kv_memory.hpp"

namespace scout::engine {

// Vision features for a prompt (docs/images.md): every occurrence of `token` in the fed tokens
// takes the next row of `rows` [n, hidden] instead of its embedding, in order.
struct PromptImages {
    int32_t token = -1;             // the config's image_token_index (<|patch|>)
    std::span<const float> rows;    // [number of `token`s in the prompt, hidden]
};

struct SessionOptions {
    int64_t context_length = 8192;  // positions this session may hold (prompt + generated)
    int64_t prefill_batch = 512;    // tokens per forward call while prefilling (bounds activation memory)
};

class Session {
public:
    // forward must outlive the session; the session's KV memory is made by it.
    Session(backend::Forward& forward, SessionOptions options = {});

    // Runs tokens through the model (in batches of prefill_batch) and returns the logits
    // [vocab] of the last one. Throws scout::Error when the context would overflow, or when
    // `images` has another number of rows than `tokens` has image tokens.
    std::span<const float> feed(std::span<const int32_t> tokens, const PromptImages& images = {});

    const std::vector<int32_t>& tokens() const { return tokens_; }
    int64_t n_past() const { return kv_->n_past(); }
    int64_t context_length() const { return options_.context_length; }
    int64_t remaining() const { return options_.context_length - n_past(); }
    const kv::KvMemory& kv() const { return *kv_; }
    void reset();

private:
    backend::Forward& forward_;
    SessionOptions options_;
    std::unique_ptr<kv::KvMemory> kv_;
    std::vector<int32_t> tokens_;
    std::vector<float> logits_;
};

}  // namespace scout::engine
