// Byte-pair encoding of one pre-tokenized piece, tiktoken's rule (tokenizer.md §3.1):
// repeatedly merge the neighbouring pair whose concatenated bytes have the lowest rank
// (leftmost on ties) until no pair's concatenation is a token.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/rank_table.hpp"

namespace scout::text {

// Appends the ranks of piece to out. Every single byte must be a token (true for Llama 4).
void bpe_encode(const RankTable& ranks, std::string_view piece, std::vector<int32_t>& out);

}  // namespace scout::text
