// Shared helpers for the text tests: the real tokenizer (loaded once per test binary) and the
// committed golden files.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "text/tokenizer.hpp"

namespace scout::text::testing {

// CMake's SCOUT_TOKENIZER (tests/CMakeLists.txt), whether or not the file is there.
inline std::filesystem::path tokenizer_model_path() { return SCOUT_TOKENIZER_PATH; }

// The real Llama 4 tokenizer, or nullptr when the file is absent (tests then skip, or fail under CI).
inline const Tokenizer* real_tokenizer() {
    static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
        if (!std::filesystem::exists(tokenizer_model_path())) return nullptr;
        return std::make_unique<Tokenizer>(Tokenizer::load(tokenizer_model_path()));
    }();
    return tok.get();
}

#define SCOUT_REQUIRE_TOKENIZER(tok)                                                                 \
    const ::scout::text::Tokenizer* tok = ::scout::text::testing::real_tokenizer();                 \
    if (tok == nullptr)                                                                              \
    SCOUT_SKIP_WITHOUT_DATA("no tokenizer.model at " + ::scout::text::testing::tokenizer_model_path().string())

// Json = nlohmann::ordered_json keeps object keys in file order (needed where order is rendered).
template <typename Json = nlohmann::json>
std::vector<Json> read_jsonl(const std::string& name) {
    const auto path = std::filesystem::path(SCOUT_TEST_DATA) / "tokenizer" / name;
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << "missing golden file " << path;
    std::vector<Json> out;
    std::string line;
    while (std::getline(f, line))
        if (!line.empty()) out.push_back(Json::parse(line));
    return out;
}

template <typename Json>
std::vector<int32_t> ids_of(const Json& j) { return j.template get<std::vector<int32_t>>(); }

}  // namespace scout::text::testing
