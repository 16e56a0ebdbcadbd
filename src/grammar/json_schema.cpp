// JSON Schema -> grammar: see json_schema.hpp and docs/structured-output.md.
#include "grammar/json_schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "base/error.hpp"
#include "grammar/regex.hpp"

namespace scout::grammar {

namespace {

using Json = nlohmann::ordered_json;

// Keywords that only annotate: accepted anywhere, no effect on generation.
const std::set<std::string> kAnnotations = {"title", "description", "default", "examples", "$schema", "$id",
                                            "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};
const std::set<std::string> kSupported = {"type", "properties", "required", "additionalProperties", "enum", "const",
                                          "items", "minItems", "maxItems", "anyOf", "oneOf", "$ref",
                                          "minLength", "maxLength", "pattern"};

// v as a Python literal that is also its JSON text where JSON allows (None / True / False).
std::string python_literal(const Json& v) {
    if (v.is_null()) return "None";
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_array()) {
        std::string out = "[";
        for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + python_literal(v[i]);
        return out + "]";
    }
    if (v.is_object()) {
        std::string out = "{";
        bool first = true;
        for (const auto& [k, x] : v.items()) {
            out += (first ? "" : ", ") + Json(k).dump() + ": " + python_literal(x);
            first = false;
        }
        return out + "}";
    }
    return v.dump();  // numbers; strings (escapes \" \\ \b \f \n \r \t \u00XX: Python reads them alike)
}

// A Python identifier as text::parse_tool_calls reads names (also '-' and '.' after the first).
bool is_call_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

class Converter {
public:
    Converter(Grammar& g, const Json& root, const JsonGrammarOptions& o) : g_(g), root_(root), o_(o) {}

    uint32_t visit(const Json& s, const std::string& path) {
        if (s.is_boolean()) {
            if (s.get<bool>()) return any_value();
            fail(path, "the schema false admits no value");
        }
        if (!s.is_object()) fail(path, "a schema must be an object or a boolean");
        for (const auto& [k, v] : s.items()) {
            if (!kSupported.count(k) && !kAnnotations.count(k))
                fail(path, cat("unsupported keyword '", k, "'"));
        }
        auto only = [&](const char* kw, std::set<std::string> also) {
            for (const auto& [k, v] : s.items())
                if (k != kw && !kAnnotations.count(k) && !also.count(k))
                    fail(path, cat("'", kw, "' together with '", k, "' is not supported"));
        };
        if (s.contains("$ref")) {
            only("$ref", {});
            return ref(s["$ref"], path);
        }
        for (const char* kw : {"anyOf", "oneOf"}) {
            if (!s.contains(kw)) continue;
            only(kw, {});
            const Json& list = s[kw];
            if (!list.is_array() || list.empty()) fail(path, cat("'", kw, "' must be a non-empty array"));
            std::vector<Sequence> alts;
            for (size_t i = 0; i < list.size(); ++i)
                alts.push_back({Grammar::ref(visit(list[i], cat(path, "/", kw, "/", i)))});
            return g_.choice(std::move(alts), cat(path, "/", kw));
        }
        if (s.contains("enum")) {
            const Json& list = s["enum"];
            if (!list.is_array()) fail(path, "'enum' must be an array");
            if (list.empty()) fail(path, "an empty 'enum' admits no value");
            std::vector<Sequence> alts;
            for (const auto& v : list) alts.push_back(Grammar::literal(value_text(v)));
            return g_.choice(std::move(alts), path + "/enum");
        }
        if (s.contains("const")) return g_.choice({Grammar::literal(value_text(s["const"]))}, path + "/const");
        if (s.contains("type")) {
            const Json& t = s["type"];
            if (t.is_string()) return visit_type(t.get<std::string>(), s, path);
            if (!t.is_array()) fail(path, "'type' must be a string or an array of strings");
            if (t.empty()) fail(path, "an empty 'type' array admits no value");
            std::vector<Sequence> alts;
            for (const auto& x : t) {
                if (!x.is_string()) fail(path, "'type' must be a string or an array of strings");
                alts.push_back({Grammar::ref(visit_type(x.get<std::string>(), s, path))});
            }
            return g_.choice(std::move(alts), path + "/type");
        }
        for (const char* kw : {"properties", "required", "additionalProperties"})
            if (s.contains(kw)) return visit_type("object", s, path);
        for (const char* kw : {"items", "minItems", "maxItems"})
            if (s.contains(kw)) return visit_type("array", s, path);
        for (const char* kw : {"minLength", "maxLength", "pattern"})
            if (s.contains(kw)) return visit_type("string", s, path);
        return any_value();
    }

    // `[call, call, ...]`: at least one call, at most max (< 0: unbounded).
    uint32_t call_list(uint32_t call, int64_t max) { return list_rule("calls", "[", "]", call, 1, max); }

    uint32_t any_object() {
        if (!any_object_) {
            any_object_ = g_.add_rule("any-object");
            const uint32_t member = g_.choice({concat({{Grammar::ref(string_rule(0, -1))}, ws(), Grammar::literal(":"), ws(),
                                                       {Grammar::ref(any_value())}})},
                                              "any-member");
            g_.add_alternative(*any_object_, {Grammar::ref(list_rule("any-object-list", "{", "}", member, 0, -1))});
        }
        return *any_object_;
    }

    // A call `name(k=v, ...)` whose keyword arguments follow the object schema `params` (this
    // converter's root, so its $refs resolve there).
    uint32_t call(const std::string& name, const Json& params, const std::string& path) {
        if (!is_call_name(name))
            fail(path, cat("function name '", name, "' is not an identifier the call format can write"));
        if (params.is_null() || (params.is_object() && params.empty()))
            return g_.choice({Grammar::literal(name + "()")}, path);
        if (!params.is_object()) fail(path, "the parameters must be an object schema");
        for (const auto& [k, v] : params.items())
            if (!kAnnotations.count(k) && k != "type" && k != "properties" && k != "required" && k != "additionalProperties")
                fail(path, cat("'", k, "' in the parameters schema is not supported (keyword arguments need an object "
                               "schema with 'properties')"));
        if (params.contains("type") && params["type"] != "object") fail(path, "the parameters must have type 'object'");
        if (params.contains("properties") && params["properties"].is_object())
            for (const auto& [k, v] : params["properties"].items())
                if (!is_call_name(k)) fail(path, cat("parameter name '", k, "' is not an identifier a keyword argument can use"));
        return members(params, path, name + "(", ")", true);
    }

private:
    const char* lit_true() const { return o_.python_literals ? "True" : "true"; }
    const char* lit_false() const { return o_.python_literals ? "False" : "false"; }
    const char* lit_null() const { return o_.python_literals ? "None" : "null"; }
    std::string value_text(const Json& v) const { return o_.python_literals ? python_literal(v) : v.dump(); }

    [[noreturn]] static void fail(const std::string& path, const std::string& what) {
        throw Error(cat("json schema at ", path.empty() ? "#" : path, ": ", what));
    }

    static Sequence concat(std::initializer_list<Sequence> parts) {
        Sequence out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return out;
    }

    Sequence ws() {
        if (!ws_) ws_ = g_.choice({{}, Grammar::literal(" "), Grammar::literal("\n")}, "ws");
        return {Grammar::ref(*ws_)};
    }

    static int64_t count(const Json& s, const char* kw, const std::string& path, int64_t dflt) {
        if (!s.contains(kw)) return dflt;
        const Json& v = s[kw];
        if (!v.is_number_integer() || v.get<int64_t>() < 0) fail(path, cat("'", kw, "' must be a non-negative integer"));
        if (v.get<int64_t>() > 100000) fail(path, cat("'", kw, "' above 100000 is not supported"));
        return v.get<int64_t>();
    }

    uint32_t ref(const Json& r, const std::string& path) {
        if (!r.is_string()) fail(path, "'$ref' must be a string");
        const std::string target = r.get<std::string>();
        if (auto it = refs_.find(target); it != refs_.end()) return it->second;
        const Json* node = nullptr;
        if (target == "#") {
            node = &root_;
        } else {
            for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
                const std::string p = prefix;
                if (target.rfind(p, 0) != 0) continue;
                const std::string name = target.substr(p.size());
                const std::string key = p.substr(2, p.size() - 3);
                if (root_.contains(key) && root_[key].is_object() && root_[key].contains(name)) node = &root_[key][name];
            }
        }
        if (!node) fail(path, cat("'$ref' ", target, " does not resolve (only #, #/$defs/NAME and #/definitions/NAME are supported)"));
        // The rule exists before its body is built, so recursive schemas refer to themselves.
        const uint32_t rule = g_.add_rule(target);
        refs_[target] = rule;
        g_.add_alternative(rule, {Grammar::ref(visit(*node, target))});
        return rule;
    }

    uint32_t visit_type(const std::string& t, const Json& s, const std::string& path) {
        if (t == "object") return object(s, path);
        if (t == "array") return array(s, path);
        if (t == "string") return string(s, path);
        if (t == "number") return number(true);
        if (t == "integer") return number(false);
        if (t == "boolean") return g_.choice({Grammar::literal(lit_true()), Grammar::literal(lit_false())}, "boolean");
        if (t == "null") return g_.choice({Grammar::literal(lit_null())}, "null");
        fail(path, cat("unknown type '", t, "'"));
    }

    // open item (ws "," ws item){min-1, max-1} close, or open close when min == 0.
    uint32_t list_rule(const std::string& name, const char* open, const char* close, uint32_t item, int64_t min, int64_t max) {
        const uint32_t rule = g_.add_rule(name);
        if (max == 0) {
            g_.add_alternative(rule, concat({Grammar::literal(open), ws(), Grammar::literal(close)}));
            return rule;
        }
        const Sequence next = concat({ws(), Grammar::literal(","), ws(), {Grammar::ref(item)}});
        const int lo = static_cast<int>(std::max<int64_t>(min - 1, 0));
        const int hi = max < 0 ? -1 : static_cast<int>(max - 1);
        const uint32_t rest = g_.repeat(next, lo, hi, name + "-rest");
        const Sequence items = {Grammar::ref(item), Grammar::ref(rest)};
        g_.add_alternative(rule, concat({Grammar::literal(open), ws(), items, ws(), Grammar::literal(close)}));
        if (min == 0) g_.add_alternative(rule, concat({Grammar::literal(open), ws(), Grammar::literal(close)}));
        return rule;
    }

    uint32_t object(const Json& s, const std::string& path) { return members(s, path, "{", "}", false); }

    // The listed properties of object schema s between open and close: `"key": value` members
    // (JSON) or `key=value` keyword arguments (kwargs).
    uint32_t members(const Json& s, const std::string& path, const std::string& open, const std::string& close, bool kwargs) {
        const Json empty = Json::object();
        const Json& props = s.contains("properties") ? s["properties"] : empty;
        if (!props.is_object()) fail(path, "'properties' must be an object");
        std::set<std::string> required;
        if (s.contains("required")) {
            if (!s["required"].is_array()) fail(path, "'required' must be an array of strings");
            for (const auto& r : s["required"]) {
                if (!r.is_string()) fail(path, "'required' must be an array of strings");
                if (!props.contains(r.get<std::string>()))
                    fail(path, cat("required property '", r.get<std::string>(),
                                   "' is not in 'properties' (only listed properties are generated)"));
                required.insert(r.get<std::string>());
            }
        }
        if (s.contains("additionalProperties")) {
            const Json& a = s["additionalProperties"];
            if (!a.is_boolean()) fail(path, "'additionalProperties' with a schema is not supported (use false)");
        }
        if (!s.contains("properties") && !s.contains("required")) {
            // No properties listed: any object unless additional properties are forbidden.
            if (kwargs) return g_.choice({Grammar::literal(open + close)}, path + "/no-arguments");
            if (s.contains("additionalProperties") && !s["additionalProperties"].get<bool>())
                return g_.choice({concat({Grammar::literal("{"), ws(), Grammar::literal("}")})}, path + "/empty-object");
            return any_object();
        }
        // after[i][c]: the properties from i on; c = 1 when one was written already (needs a comma).
        std::vector<std::pair<std::string, const Json*>> list;
        for (const auto& [k, v] : props.items()) list.emplace_back(k, &v);
        const size_t n = list.size();
        std::vector<std::array<uint32_t, 2>> after(n + 1);
        after[n][0] = g_.choice(std::vector<Sequence>(1), path + "/end");
        after[n][1] = after[n][0];
        for (size_t i = n; i-- > 0;) {
            const std::string& key = list[i].first;
            const uint32_t value = visit(*list[i].second, cat(path, "/properties/", key));
            const Sequence member = kwargs ? concat({Grammar::literal(key + "="), {Grammar::ref(value)}})
                                           : concat({Grammar::literal(Json(key).dump()), ws(), Grammar::literal(":"), ws(), {Grammar::ref(value)}});
            for (int c = 0; c < 2; ++c) {
                std::vector<Sequence> alts;
                alts.push_back(concat({c ? concat({ws(), Grammar::literal(","), ws()}) : Sequence{}, member,
                                       {Grammar::ref(after[i + 1][1])}}));
                if (!required.count(key)) alts.push_back({Grammar::ref(after[i + 1][c])});
                after[i][c] = g_.choice(std::move(alts), cat(path, "/p", i, c ? "+" : ""));
            }
        }
        if (kwargs) return g_.choice({concat({Grammar::literal(open), {Grammar::ref(after[0][0])}, Grammar::literal(close)})}, path);
        return g_.choice({concat({Grammar::literal(open), ws(), {Grammar::ref(after[0][0])}, ws(), Grammar::literal(close)})},
                         path.empty() ? "root-object" : path);
    }

    uint32_t array(const Json& s, const std::string& path) {
        const int64_t min = count(s, "minItems", path, 0);
        const int64_t max = count(s, "maxItems", path, -1);
        if (max >= 0 && min > max) fail(path, cat("minItems ", min, " > maxItems ", max, " admits no value"));
        uint32_t item;
        if (s.contains("items")) {
            if (s["items"].is_array()) fail(path, "'items' as an array (tuple validation) is not supported");
            item = visit(s["items"], path + "/items");
        } else {
            item = any_value();
        }
        return list_rule(path + "/array", "[", "]", item, min, max);
    }

    uint32_t string_char() {
        if (!string_char_) {
            const uint32_t plain = g_.add_class({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}, true);
            const uint32_t hex = g_.add_class({{'0', '9'}, {'a', 'f'}, {'A', 'F'}}, false);
            const uint32_t hex_no_d = g_.add_class({{'0', '9'}, {'a', 'c'}, {'A', 'C'}, {'e', 'f'}, {'E', 'F'}}, false);
            // Python keeps "\/" as two characters, so Python literals do without \/ (and \b, \f).
            const uint32_t simple = o_.python_literals
                                        ? g_.add_class({{'"', '"'}, {'\\', '\\'}, {'n', 'n'}, {'r', 'r'}, {'t', 't'}}, false)
                                        : g_.add_class({{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', 'b'}, {'f', 'f'}, {'n', 'n'}, {'r', 'r'}, {'t', 't'}}, false);
            // \uXXXX outside the surrogates, so that every string is valid Unicode.
            string_char_ = g_.choice({{Grammar::cls(plain)},
                                      {Grammar::byte('\\'), Grammar::cls(simple)},
                                      {Grammar::byte('\\'), Grammar::byte('u'), Grammar::cls(hex_no_d), Grammar::cls(hex), Grammar::cls(hex), Grammar::cls(hex)}},
                                     "char");
        }
        return *string_char_;
    }

    uint32_t string_rule(int64_t min, int64_t max) {
        const auto key = std::make_pair(min, max);
        if (auto it = strings_.find(key); it != strings_.end()) return it->second;
        const uint32_t body = g_.repeat({Grammar::ref(string_char())}, static_cast<int>(min), static_cast<int>(max), cat("chars", min, "-", max));
        const uint32_t r = g_.choice({{Grammar::byte('"'), Grammar::ref(body), Grammar::byte('"')}}, cat("string", min, "-", max));
        strings_[key] = r;
        return r;
    }

    uint32_t string(const Json& s, const std::string& path) {
        const int64_t min = count(s, "minLength", path, 0);
        const int64_t max = count(s, "maxLength", path, -1);
        if (max >= 0 && min > max) fail(path, cat("minLength ", min, " > maxLength ", max, " admits no value"));
        if (s.contains("pattern")) {
            if (!s["pattern"].is_string()) fail(path, "'pattern' must be a string");
            if (s.contains("minLength") || s.contains("maxLength"))
                fail(path, "'pattern' together with 'minLength'/'maxLength' is not supported (put the length in the pattern)");
            Sequence body;
            try {
                body = compile_pattern(g_, s["pattern"].get<std::string>(), path + "/pattern");
            } catch (const Error& e) {
                fail(path, e.what());
            }
            Sequence seq{Grammar::byte('"')};
            seq.insert(seq.end(), body.begin(), body.end());
            seq.push_back(Grammar::byte('"'));
            return g_.choice({std::move(seq)}, path + "/pattern");
        }
        return string_rule(min, max);
    }

    uint32_t number(bool fractional) {
        auto& cache = fractional ? number_ : integer_;
        if (cache) return *cache;
        const uint32_t digit = g_.add_class({{'0', '9'}}, false);
        const uint32_t nonzero = g_.add_class({{'1', '9'}}, false);
        const uint32_t more = g_.repeat({Grammar::cls(digit)}, 0, o_.max_int_digits - 1, "int-digits");
        const uint32_t int_part = g_.choice({Grammar::literal("0"), {Grammar::cls(nonzero), Grammar::ref(more)}}, "int-part");
        const uint32_t sign = g_.choice({{}, Grammar::literal("-")}, "sign");
        Sequence seq{Grammar::ref(sign), Grammar::ref(int_part)};
        if (fractional) {
            const uint32_t frac_digits = g_.repeat({Grammar::cls(digit)}, 1, o_.max_frac_digits, "frac-digits");
            const uint32_t frac = g_.choice({{}, {Grammar::byte('.'), Grammar::ref(frac_digits)}}, "frac");
            const uint32_t exp_digits = g_.repeat({Grammar::cls(digit)}, 1, o_.max_exp_digits, "exp-digits");
            const uint32_t exp_sign = g_.choice({{}, Grammar::literal("-"), Grammar::literal("+")}, "exp-sign");
            const uint32_t exp = g_.choice({{}, {Grammar::byte_range('E', 'E'), Grammar::ref(exp_sign), Grammar::ref(exp_digits)},
                                            {Grammar::byte('e'), Grammar::ref(exp_sign), Grammar::ref(exp_digits)}},
                                           "exp");
            seq.push_back(Grammar::ref(frac));
            seq.push_back(Grammar::ref(exp));
        }
        cache = g_.choice({std::move(seq)}, fractional ? "number" : "integer");
        return *cache;
    }

    uint32_t any_value() {
        if (!any_value_) {
            any_value_ = g_.add_rule("any-value");
            const uint32_t arr = list_rule("any-array", "[", "]", *any_value_, 0, -1);
            for (uint32_t r : {any_object(), arr, string_rule(0, -1), number(true)}) g_.add_alternative(*any_value_, {Grammar::ref(r)});
            for (const char* lit : {lit_true(), lit_false(), lit_null()}) g_.add_alternative(*any_value_, Grammar::literal(lit));
        }
        return *any_value_;
    }

    Grammar& g_;
    const Json& root_;
    JsonGrammarOptions o_;
    std::map<std::string, uint32_t> refs_;
    std::map<std::pair<int64_t, int64_t>, uint32_t> strings_;
    std::optional<uint32_t> ws_, string_char_, number_, integer_, any_value_, any_object_;
};

}  // namespace

std::shared_ptr<const Grammar> json_schema_to_grammar(const nlohmann::ordered_json& schema, const JsonGrammarOptions& options) {
    auto g = std::make_shared<Grammar>();
    Converter c(*g, schema, options);
    g->set_root(c.visit(schema, ""));
    g->finalize();
    return g;
}

std::shared_ptr<const Grammar> tool_call_grammar(std::span<const ToolFunction> functions, bool parallel,
                                                 const JsonGrammarOptions& options) {
    if (functions.empty()) throw Error("tool calls: no function to call");
    JsonGrammarOptions o = options;
    o.python_literals = true;
    // A double holds at most ~1.8e308, and the call reader (like any JSON reader mapping numbers to
    // doubles) refuses more: 16 digits and a two-digit exponent stay far below.
    o.max_exp_digits = std::min(o.max_exp_digits, 2);
    auto g = std::make_shared<Grammar>();
    std::vector<Sequence> calls;
    for (const ToolFunction& f : functions) {
        // One converter per function: its $refs resolve within its own parameters schema.
        Converter c(*g, f.parameters, o);
        calls.push_back({Grammar::ref(c.call(f.name, f.parameters, cat("function '", f.name, "'")))});
    }
    const Json root = Json::object();
    Converter lists(*g, root, o);
    const uint32_t one = g->choice(std::move(calls), "call");
    g->set_root(lists.call_list(one, parallel ? -1 : 1));
    g->finalize();
    return g;
}

std::shared_ptr<const Grammar> json_object_grammar(const JsonGrammarOptions& options) {
    auto g = std::make_shared<Grammar>();
    const nlohmann::ordered_json root = nlohmann::ordered_json::object();
    Converter c(*g, root, options);
    g->set_root(c.any_object());
    g->finalize();
    return g;
}

}  // namespace scout::grammar
