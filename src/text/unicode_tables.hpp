// Per-code-point class flags used by the pre-tokenizer and the chunker.
// The data (unicode_tables.cpp) is generated from Unicode 16.0, the version tiktoken's regex uses.
#pragma once

#include <cstdint>

namespace scout::text::unicode {

enum Flag : uint8_t {
    k_upper_set = 1,   // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    k_lower_set = 2,   // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    k_letter = 4,      // \p{L}
    k_number = 8,      // \p{N}
    k_white = 16,      // \s = White_Space
    k_py_space = 32,   // Python str.isspace() (used only for the 25k chunking)
    k_cr_lf = 64,      // \r or \n
};

extern const uint16_t k_stage1[0x110000 / 256];
extern const uint8_t k_stage2[][256];

// Flags of a code point; cp must be <= 0x10FFFF.
inline uint8_t flags_of(uint32_t cp) { return k_stage2[k_stage1[cp >> 8]][cp & 0xFF]; }

}  // namespace scout::text::unicode
