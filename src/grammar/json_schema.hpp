// JSON Schema -> Grammar for constrained generation (docs/structured-output.md lists what is
// supported and the decisions). Every keyword outside the supported set throws scout::Error
// naming the keyword and where it is; so does a schema that admits no value.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "grammar/grammar.hpp"

namespace scout::grammar {

struct JsonGrammarOptions {
    // Digits allowed in an integer part, a fraction and an exponent: bounded so that a sampled
    // number always ends.
    int max_int_digits = 16, max_frac_digits = 16, max_exp_digits = 3;
};

// The grammar of the JSON texts that validate against `schema` (compact JSON: at most one space
// or newline between tokens, object properties in schema order).
std::shared_ptr<const Grammar> json_schema_to_grammar(const nlohmann::ordered_json& schema, const JsonGrammarOptions& options = {});

// JSON mode: any JSON object.
std::shared_ptr<const Grammar> json_object_grammar(const JsonGrammarOptions& options = {});

}  // namespace scout::grammar
