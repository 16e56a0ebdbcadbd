// The Llama 4 (o200k) pre-tokenizer as a hand-written leftmost-first matcher.
//
// It reproduces tiktoken's fancy-regex run of this pattern (tokenizer.md §2.1):
//   A1 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//   A2 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//   A3 \p{N}{1,3}
//   A4  ?[^\s\p{L}\p{N}]+[\r\n/]*
//   A5 \s*[\r\n]+
//   A6 \s+(?!\S)
//   A7 \s+
// At each position the alternatives are tried in order and the first that matches wins; each
// alternative's greedy-with-backtracking result is computed directly (see pretokenizer.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace scout::text {

// A run of code points with their class flags (unicode_tables.hpp). The matcher sees only this
// range: the end of the range is the end of the text for the lookahead in A6.
struct CodePointSpan {
    const uint32_t* cps;
    const uint8_t* flags;
    size_t n;
};

// Length in code points of the piece that starts at index i (i < span.n); always >= 1.
size_t match_piece(const CodePointSpan& span, size_t i);

}  // namespace scout::text
