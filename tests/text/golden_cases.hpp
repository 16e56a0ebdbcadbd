// The golden cases' fields (tests/data/tokenizer/cases.jsonl) as encode() takes them, shared by
// the tokenizer.model goldens and the GGUF-vocabulary goldens (tests/model/test_gguf_vocab.cpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "text/tokenizer.hpp"

namespace scout::text::testing {

inline std::string hex_to_bytes(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string input_of(const nlohmann::json& c) {
    if (c.contains("text")) return c["text"].get<std::string>();
    if (c.contains("hex")) return hex_to_bytes(c["hex"].get<std::string>());
    std::string s;
    for (const auto& part : c["repeat"]) {
        const auto unit = part[0].get<std::string>();
        const auto n = part[1].get<size_t>();
        s.reserve(s.size() + unit.size() * n);
        for (size_t i = 0; i < n; ++i) s += unit;
    }
    return s;
}

inline EncodeOptions options_of(const nlohmann::json& c) {
    EncodeOptions o;
    o.bos = c["bos"].get<bool>();
    o.eos = c["eos"].get<bool>();
    const auto& a = c["allowed"];
    if (a.is_string() && a.get<std::string>() == "all") o.allow_special = AllowSpecial::all;
    if (a.is_array()) {
        o.allow_special = AllowSpecial::set;
        o.allowed = a.get<std::vector<std::string>>();
    }
    return o;
}

}  // namespace scout::text::testing
