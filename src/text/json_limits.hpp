// The one place that bounds nesting in JSON (and the Python literals written from it). Parsing
// with nlohmann is iterative, but copying, dumping and every walk over a value recurse, so a
// few kilobytes of "[" from a client or a model would overflow the stack. Every parser of text
// that may come from outside (request bodies, tool-call arguments, the model's own tool-call
// replies) goes through parse_json_limited / try_parse_json_limited, and every renderer of
// nested values checks check_json_depth as it descends.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace scout::text {

// Deepest nesting of arrays/objects accepted anywhere; OpenAI's own API documents no deeper
// schema than a few levels, and 64 leaves a wide margin while a walk of 64 frames is harmless.
inline constexpr int kMaxJsonDepth = 64;

// True when the bracket nesting of a JSON text (brackets inside strings do not count) goes
// deeper than max_depth. Linear, stops at the first level too deep; for valid JSON it is exact.
bool json_nesting_exceeds(std::string_view text, int max_depth = kMaxJsonDepth);

// Parses JSON text, throwing scout::Error naming `what` when it is not JSON or nests deeper
// than kMaxJsonDepth.
nlohmann::ordered_json parse_json_limited(std::string_view text, std::string_view what);

// As parse_json_limited, but nullopt instead of an error.
std::optional<nlohmann::ordered_json> try_parse_json_limited(std::string_view text);

// For renderers that recurse over a value: throws scout::Error when depth > kMaxJsonDepth.
void check_json_depth(int depth);

}  // namespace scout::text
