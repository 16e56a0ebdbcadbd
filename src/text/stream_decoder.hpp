// Incremental detokenization for streamed generation: emits only whole UTF-8 characters and
// holds back the bytes of a character that a later token completes (tokenizer.md §3.2).
// Concatenating every push() and the final flush() equals Tokenizer::decode of all ids.
#pragma once

#include <cstdint>
#include <string>

#include "text/tokenizer.hpp"

namespace scout::text {

class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

    // Adds one token; returns the text that is now complete (may be empty).
    std::string push(int32_t id);
    // Returns what is left, with incomplete bytes replaced by U+FFFD, and resets.
    std::string flush();

private:
    const Tokenizer* tokenizer_;
    std::string pending_;  // bytes of an unfinished character (at most 3)
};

}  // namespace scout::text
