// A documented regex subset (docs/structured-output.md) compiled into grammar rules: literals,
// classes [...] with ranges and negation, \d \w \s \D \W \S, ., groups (...) and (?:...), |,
// ? * + {m} {m,} {m,n}, ^ at the start and $ at the end. Anything else (backreferences,
// lookaround, lazy quantifiers, \b, ...) throws scout::Error naming it.
#pragma once

#include <string>
#include <string_view>

#include "grammar/grammar.hpp"

namespace scout::grammar {

// The sequence matching the *content* of a JSON string whose value matches `pattern` (JSON
// Schema semantics: unanchored unless ^/$ are given). Characters the pattern produces are
// written JSON-escaped; classes and . never produce '"', '\' or control characters.
Sequence compile_pattern(Grammar& g, std::string_view pattern, const std::string& name);

}  // namespace scout::grammar
