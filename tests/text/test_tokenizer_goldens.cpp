// Token-exact comparison with ids produced by the reference (llama-models + tiktoken 0.14.0),
// written by tools/reference/tokenizer/make_goldens.py.
#include <string>

#include "text_test_util.hpp"

namespace scout::text {
namespace {

using testing::ids_of;
using testing::read_jsonl;

std::string hex_to_bytes(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string input_of(const nlohmann::json& c) {
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

EncodeOptions options_of(const nlohmann::json& c) {
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

TEST(TokenizerGoldens, Cases) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto cases = read_jsonl("cases.jsonl");
    ASSERT_GE(cases.size(), 300u);
    size_t n_ok = 0;
    for (const auto& c : cases) {
        const auto got = tok->encode(input_of(c), options_of(c));
        const auto want = ids_of(c["ids"]);
        if (got == want) {
            ++n_ok;
            continue;
        }
        size_t k = 0;
        while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
        ADD_FAILURE() << "case " << c["name"] << ": ids differ at index " << k << " (got " << got.size()
                      << " ids, want " << want.size() << ")";
    }
    EXPECT_EQ(n_ok, cases.size());
}

TEST(TokenizerGoldens, Corpus) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const auto docs = read_jsonl("corpus.jsonl");
    size_t bytes = 0;
    for (const auto& d : docs) {
        const auto text = d["text"].get<std::string>();
        bytes += text.size();
        const auto got = tok->encode(text);
        const auto want = ids_of(d["ids"]);
        EXPECT_EQ(got, want) << "corpus document " << d["name"];
        // Round trip: every corpus document is valid UTF-8.
        EXPECT_EQ(tok->decode(got), text) << "round trip of " << d["name"];
    }
    EXPECT_GE(bytes, 1'000'000u);
}

TEST(TokenizerGoldens, RoundTripOfValidCases) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    for (const auto& c : read_jsonl("cases.jsonl")) {
        if (!c.contains("text") || c["allowed"] != "none") continue;
        const auto text = c["text"].get<std::string>();
        EXPECT_EQ(tok->decode(tok->encode(text)), text) << c["name"];
    }
}

}  // namespace
}  // namespace scout::text
