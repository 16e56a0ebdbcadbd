// Tokenizer metadata for a llama.cpp `llama4` GGUF, in the form llama.cpp's converter writes
// (`_set_vocab_gpt2` over transformers' TikTokenConverter output; tokenizer.md §4): llama.cpp
// refuses a file without it, and tokenizes with it when scout's tokenizer.model is not at hand.
//
//   tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre = "llama4"
//   tokenizer.ggml.tokens      regular ids: the token bytes in GPT-2 bytes_to_unicode form
//                              ("Ġ" for space, "Ċ" for newline, ...); special ids: their names;
//                              ids past the tokenizer's count (vocab_size is larger): "[PAD{id}]"
//   tokenizer.ggml.token_type  1 normal, 3 control (every special), 5 unused (the padding)
//   tokenizer.ggml.merges      "left right" for every split of a token into two tokens, ordered
//                              by the merged token's rank, then by the left part's rank
//   tokenizer.ggml.add_bos_token = true (the HF post-processor's "<|begin_of_text|> $A")
//
// The converter names the 10 reasoning and 904 generic reserved ids (201134..202047) "[PAD{id}]"
// because the HF tokenizer.json leaves them out; scout has their real names from tokenizer.model
// and writes those, as control tokens: the ids and every text that tokenizes are the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf_writer.hpp"
#include "text/tokenizer.hpp"

namespace scout::model {

// llama.cpp's token types (llama_token_type).
enum class GgufTokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct GgufVocab {
    std::vector<std::string> tokens;  // [n_vocab]
    std::vector<int32_t> types;       // [n_vocab] GgufTokenType values
    std::vector<std::string> merges;  // "left right", byte-level form
};

// GPT-2's bytes_to_unicode applied to each byte, as UTF-8: printable Latin-1 bytes stay
// themselves, the other 68 bytes map to U+0100.. in byte order.
std::string byte_level_encode(std::string_view bytes);

// n_vocab: the model's vocab_size; must be >= tokenizer.n_vocab() (throws scout::Error otherwise).
GgufVocab build_gguf_vocab(const text::Tokenizer& tokenizer, int64_t n_vocab);

// Writes the tokenizer.ggml.* keys above (not the bos/eos/pad ids, which come from the config).
void add_gguf_tokenizer(io::GgufWriter& writer, const text::Tokenizer& tokenizer, int64_t n_vocab);

}  // namespace scout::model
