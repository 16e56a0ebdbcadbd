// Byte-pair encoding of one pre-tokenized piece, tiktoken's rule (tokenizer.md §3.1):
// repeatedly merge the neighbouring pair whose concatenated bytes have the lowest rank
// (leftmost on ties) until no pair's concatenation is a token.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/rank_table.hpp"

namespace scout::text {

// How to merge: the default takes a whole-token piece directly (tiktoken's shortcut) and picks the
// array form for short pieces and the heap for long ones; tests force each form, without shortcut.
enum class BpeMode { standard, array_only, heap_only };

// Appends the ranks of piece to out. Every single byte must be a token (true for Llama 4).
void bpe_encode(const RankTable& ranks, std::string_view piece, std::vector<int32_t>& out,
                BpeMode mode = BpeMode::standard);

}  // namespace scout::text
