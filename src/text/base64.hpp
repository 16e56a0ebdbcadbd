// Standard base64 (A-Z a-z 0-9 + /, '=' padding), as in tokenizer.model lines and data URLs.
#pragma once

#include <string>
#include <string_view>

namespace scout::text {

// Decodes in into out; returns false on a character outside the alphabet or a bad length.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace scout::text
