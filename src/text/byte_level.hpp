// GPT-2's byte-level alphabet, the form HF tokenizer.json and llama.cpp GGUF files store BPE
// token texts in: each byte is one visible code point (printable Latin-1 bytes keep their own,
// the other 68 take U+0100.. in byte order), so a token's bytes can be written as UTF-8 text.
#pragma once

#include <string>
#include <string_view>

namespace scout::text {

// Byte-level text -> the raw bytes it stands for. False (out unspecified) when `text` is not
// valid UTF-8 or holds a code point outside the alphabet.
bool byte_level_decode(std::string_view text, std::string& out);

}  // namespace scout::text
