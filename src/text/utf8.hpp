// UTF-8 decoding with replacement, exactly like Python's bytes.decode("utf-8", errors="replace"):
// one U+FFFD per maximal invalid subpart (F0 9F 91 -> 1, C0 AF -> 2, ED A0 80 -> 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scout::text::utf8 {

// Length of the valid sequence starting at s[i] (1..4), or 0 if s[i] starts an invalid subpart;
// in that case *bad_len receives the length of the maximal invalid subpart (>= 1).
size_t valid_sequence_length(std::string_view s, size_t i, size_t* bad_len);

// Decodes the valid sequence of length len at s[i].
uint32_t decode_at(std::string_view s, size_t i, size_t len);

// Appends the UTF-8 encoding of cp.
void append(std::string& out, uint32_t cp);

// Returns s with every maximal invalid subpart replaced by U+FFFD.
std::string sanitize(std::string_view s);

// True when s is entirely valid UTF-8.
bool is_valid(std::string_view s);

// Length of the trailing bytes of s that form an incomplete but still possibly valid sequence
// (0..3). A streaming decoder holds these back until more bytes arrive.
size_t incomplete_tail(std::string_view s);

}  // namespace scout::text::utf8
