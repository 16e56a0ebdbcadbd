// Loading: both file forms give the same ids; malformed files are clear errors.
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "text/utf8.hpp"
#include "text_test_util.hpp"

namespace scout::text {
namespace {

namespace fs = std::filesystem;

// A fresh path under the temp directory, unique per process (tests may run in parallel).
fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() / ("scout_text_files_" + std::to_string(getpid()) + "_" + name);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Writes the HF tokenizer.json form of the regular tokens (byte-level alphabet, as transformers'
// TikTokenConverter does) plus the 1,134 added tokens it registers.
std::string hf_json_from(const Tokenizer& tok) {
    std::array<uint32_t, 256> b2u{};
    uint32_t extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        b2u[b] = printable ? b : extra++;
    }
    nlohmann::json vocab = nlohmann::json::object();
    for (int32_t id = 0; id < tok.n_regular(); ++id) {
        std::string s;
        for (char c : tok.token_bytes(id)) utf8::append(s, b2u[static_cast<uint8_t>(c)]);
        vocab[s] = id;
    }
    nlohmann::json added = nlohmann::json::array();
    for (int32_t id = 200000; id < 201134; ++id)
        added.push_back({{"id", id}, {"content", std::string(tok.token_bytes(id))}, {"special", true}});
    added.push_back({{"id", 201134}, {"content", "<|finetune_right_pad_id|>"}, {"special", true}});
    nlohmann::json j = {{"version", "1.0"},
                        {"added_tokens", added},
                        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
    return j.dump();
}

TEST(TokenizerFiles, HfJsonGivesTheSameIds) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    const fs::path dir = temp_path("hf");
    fs::create_directories(dir);
    {
        std::ofstream f(dir / "tokenizer.json");
        f << hf_json_from(*tok);
    }
    const Tokenizer hf = Tokenizer::load(dir);  // a directory with only tokenizer.json
    EXPECT_EQ(hf.n_vocab(), 202048);
    for (const auto& c : testing::read_jsonl("cases.jsonl")) {
        if (!c.contains("text")) continue;
        const auto text = c["text"].get<std::string>();
        ASSERT_EQ(hf.encode(text), tok->encode(text)) << c["name"];
    }
    // tokenizer_config.json beside it is checked when present.
    {
        std::ofstream f(dir / "tokenizer_config.json");
        f << R"({"added_tokens_decoder": {"200008": {"content": "<|eot|>"}, "201134": {"content": "<|finetune_right_pad_id|>"}}})";
    }
    EXPECT_EQ(Tokenizer::load(dir).encode("Hello world"), (std::vector<int32_t>{19873, 3817}));
    {
        std::ofstream f(dir / "tokenizer_config.json");
        f << R"({"added_tokens_decoder": {"200008": {"content": "<|eot_id|>"}}})";
    }
    const std::string msg = error_of([&] { (void)Tokenizer::load(dir); });
    EXPECT_NE(msg.find("not a Llama 4 tokenizer"), std::string::npos) << msg;
    fs::remove_all(dir);
}

TEST(TokenizerFiles, DirectoryPrefersTokenizerModel) {
    SCOUT_REQUIRE_TOKENIZER(tok);
    EXPECT_EQ(find_tokenizer_file(testing::tokenizer_model_path().parent_path()).filename(), "tokenizer.model");
    const fs::path empty = temp_path("empty");
    fs::create_directories(empty);
    const std::string msg = error_of([&] { (void)find_tokenizer_file(empty); });
    EXPECT_NE(msg.find("no tokenizer.model or tokenizer.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fetch_tokenizer"), std::string::npos) << msg;
    fs::remove_all(empty);
}

TEST(TokenizerFiles, MalformedModelFilesAreClearErrors) {
    EXPECT_NE(error_of([] { Tokenizer::from_tiktoken_model("wA== 0\nnot-a-line\n", "t.model"); }).find("line 2"),
              std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_tiktoken_model("w!== 0\n", "t.model"); }).find("base64"), std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_tiktoken_model("wA== 5\n", "t.model"); }).find("rank 5"), std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_tiktoken_model("wA== 0\n", "t.model"); }).find("truncated"),
              std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_hf_json("{", "t.json"); }).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_hf_json(R"({"model":{"type":"Unigram"}})", "t.json"); }).find("BPE"),
              std::string::npos);
    EXPECT_NE(error_of([] { Tokenizer::from_hf_json(R"({"model":{"type":"BPE","vocab":{"a":0}}})", "t.json"); })
                  .find("missing"),
              std::string::npos);
    EXPECT_NE(error_of([] { (void)Tokenizer::load("/nonexistent/tokenizer.model"); }).find("does not exist"),
              std::string::npos);
}

}  // namespace
}  // namespace scout::text
