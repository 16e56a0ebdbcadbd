// JSON Schema -> Grammar for constrained generation (docs/structured-output.md lists what is
// supported and the decisions). Every keyword outside the supported set throws scout::Error
// naming the keyword and where it is; so does a schema that admits no value.
#pragma once

#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "grammar/grammar.hpp"

namespace scout::grammar {

struct JsonGrammarOptions {
    // Digits allowed in an integer part, a fraction and an exponent: bounded so that a sampled
    // number always ends.
    int max_int_digits = 16, max_frac_digits = 16, max_exp_digits = 3;
    // Values written as Python literals that are JSON at the same time wherever they can be:
    // True / False / None, and strings whose only escapes are those Python and JSON read alike
    // (\" \\ \n \r \t \uXXXX). Tool-call arguments use it (tool_call_grammar).
    bool python_literals = false;
};

// The grammar of the JSON texts that validate against `schema` (compact JSON: at most one space
// or newline between tokens, object properties in schema order).
std::shared_ptr<const Grammar> json_schema_to_grammar(const nlohmann::ordered_json& schema, const JsonGrammarOptions& options = {});

// JSON mode: any JSON object.
std::shared_ptr<const Grammar> json_object_grammar(const JsonGrammarOptions& options = {});

// A function the model may call: its name and its parameters' JSON Schema (an object schema, or
// null / {} for a function without parameters).
struct ToolFunction {
    std::string name;
    nlohmann::ordered_json parameters;
};

// Llama 4's pythonic call list, `[get_weather(city="Paris", days=3), f()]`, as the server's
// tools prompt asks for it (server/tool_calls.cpp) and text::parse_tool_calls reads it: one or
// more calls (exactly one when `parallel` is false) of the given functions, each with keyword
// arguments in schema order whose values satisfy that function's parameter schema, written as
// Python literals (python_literals). Throws scout::Error naming the function and the keyword for
// what cannot be expressed (a parameter name that is not an identifier, a parameters schema
// that is not an object schema, any unsupported keyword as in json_schema_to_grammar).
std::shared_ptr<const Grammar> tool_call_grammar(std::span<const ToolFunction> functions, bool parallel,
                                                 const JsonGrammarOptions& options = {});

}  // namespace scout::grammar
