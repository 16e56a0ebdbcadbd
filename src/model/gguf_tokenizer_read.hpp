// Scout's tokenizer from the vocabulary a `llama4` GGUF carries (tokenizer.ggml.*), so a GGUF
// file alone is enough to run: the form scout quantize writes and the form llama.cpp's converter
// writes (model/gguf_tokenizer.hpp describes both) give the same tokenizer as tokenizer.model.
#pragma once

#include <cstdint>
#include <string>

#include "io/gguf.hpp"
#include "text/tokenizer.hpp"

namespace scout::model {

// What a GGUF says about its tokenizer, for `scout info` and for choosing where it comes from.
struct GgufTokenizerInfo {
    bool has_vocab = false;          // tokenizer.ggml.tokens is present
    std::string model, pre;          // tokenizer.ggml.model / .pre ("" when absent)
    uint64_t n_tokens = 0;
    bool has_chat_template = false;  // tokenizer.chat_template (scout uses its own Llama 4 format)
};
GgufTokenizerInfo gguf_tokenizer_info(const io::GgufFile& file);

// Builds the tokenizer; throws scout::Error naming the file when it has no vocabulary or one
// that is not Llama 4's (another model or pre-tokenizer, other token texts or special names).
text::Tokenizer tokenizer_from_gguf(const io::GgufFile& file);

}  // namespace scout::model
