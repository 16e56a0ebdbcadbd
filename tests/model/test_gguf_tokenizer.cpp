// The tokenizer metadata scout quantize writes for llama.cpp (src/model/gguf_tokenizer.hpp),
// read back from a GGUF file and checked against scout's tokenizer with code written
// independently here: GPT-2's byte-level form undone from its definition, and a plain
// merge-priority BPE (what llama.cpp runs over tokenizer.ggml.merges) that must give tiktoken's
// tokens. Skips (fails under CI) without the real tokenizer.model.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "model/gguf_tokenizer.hpp"
#include "test_util.hpp"
#include "text/tokenizer.hpp"

using namespace scout;

namespace {

constexpr int64_t k_padded_vocab = 202048 + 5;  // a model vocab larger than the tokenizer's

// Inverse of GPT-2's bytes_to_unicode, built from its definition: the printable bytes keep
// their code point, the others get 256, 257, ... in byte order.
std::unordered_map<uint32_t, uint8_t> unicode_to_byte() {
    std::unordered_map<uint32_t, uint8_t> m;
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF);
        m[printable ? b : 256 + n++] = static_cast<uint8_t>(b);
    }
    return m;
}

// Byte-level text (UTF-8, code points < 0x800) -> raw bytes; false when it is not byte-level.
bool byte_level_decode(std::string_view s, const std::unordered_map<uint32_t, uint8_t>& inv, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<uint8_t>(s[i]);
        uint32_t cp = 0;
        if (c < 0x80) {
            cp = c, i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
            cp = (c & 0x1Fu) << 6 | (static_cast<uint8_t>(s[i + 1]) & 0x3Fu), i += 2;
        } else {
            return false;
        }
        const auto it = inv.find(cp);
        if (it == inv.end()) return false;
        out += static_cast<char>(it->second);
    }
    return true;
}

class GgufTokenizerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (test::tokenizer_file().empty()) return;
        tok_ = new text::Tokenizer(text::Tokenizer::load(test::tokenizer_file()));
        // One file per process: CTest runs this suite's cases as parallel processes.
        path_ = test::work_dir() / ("gguf_tokenizer_test_" + std::to_string(::getpid()) + ".gguf");
        const auto& path = path_;
        {
            io::GgufWriter w(path);
            w.add_string("general.architecture", "llama4");
            model::add_gguf_tokenizer(w, *tok_, k_padded_vocab);
            w.finish();
        }
        file_ = new io::GgufFile(path);
    }
    static void TearDownTestSuite() {
        delete file_;
        delete tok_;
        file_ = nullptr;
        tok_ = nullptr;
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    void SetUp() override {
        if (tok_ == nullptr) SCOUT_SKIP_WITHOUT_DATA("no real tokenizer.model (CMake's SCOUT_TOKENIZER)");
    }
    static text::Tokenizer* tok_;
    static io::GgufFile* file_;
    static inline std::filesystem::path path_;
};
text::Tokenizer* GgufTokenizerTest::tok_ = nullptr;
io::GgufFile* GgufTokenizerTest::file_ = nullptr;

TEST_F(GgufTokenizerTest, ModelKeys) {
    EXPECT_EQ(file_->get("tokenizer.ggml.model").as_string(), "gpt2");
    EXPECT_EQ(file_->get("tokenizer.ggml.pre").as_string(), "llama4");
    EXPECT_TRUE(file_->get("tokenizer.ggml.add_bos_token").as_bool());
    // llama.cpp reads token_type as int32.
    EXPECT_EQ(file_->get("tokenizer.ggml.token_type").elem_type, io::GgufValueType::I32);
}

TEST_F(GgufTokenizerTest, RegularTokensRoundTrip) {
    const auto tokens = file_->get("tokenizer.ggml.tokens").as_string_array();
    const auto types = file_->get("tokenizer.ggml.token_type").as_int_array();
    ASSERT_EQ(static_cast<int64_t>(tokens.size()), k_padded_vocab);
    ASSERT_EQ(static_cast<int64_t>(types.size()), k_padded_vocab);
    ASSERT_EQ(tok_->n_regular(), 200000);
    const auto inv = unicode_to_byte();
    std::unordered_map<std::string, int32_t> id_of;  // the byte->id map llama.cpp would build
    std::string bytes;
    for (int32_t id = 0; id < tok_->n_regular(); ++id) {
        ASSERT_TRUE(byte_level_decode(tokens[static_cast<std::size_t>(id)], inv, bytes)) << "id " << id;
        ASSERT_EQ(types[static_cast<std::size_t>(id)], 1) << "id " << id;
        ASSERT_TRUE(id_of.emplace(bytes, id).second) << "duplicate token text at id " << id;
    }
    for (int32_t id = 0; id < tok_->n_regular(); ++id) {
        const std::string_view b = tok_->token_bytes(id);
        const auto it = id_of.find(std::string(b));
        ASSERT_NE(it, id_of.end()) << "id " << id;
        ASSERT_EQ(it->second, id);
        // scout's BPE of the bytes is that one token.
        ASSERT_EQ(tok_->bpe(b), std::vector<int32_t>{id});
    }
    EXPECT_EQ(tokens[220], "\xC4\xA0");          // " " -> U+0120 'Ġ'
    EXPECT_EQ(tokens[198], "\xC4\x8A");          // "\n" -> U+010A 'Ċ'
    EXPECT_EQ(tokens[19873], "Hello");
    EXPECT_EQ(tokens[3817], "\xC4\xA0world");   // " world"
}

TEST_F(GgufTokenizerTest, SpecialsAreControlAndPaddingUnused) {
    const auto tokens = file_->get("tokenizer.ggml.tokens").as_string_array();
    const auto types = file_->get("tokenizer.ggml.token_type").as_int_array();
    for (int32_t id = tok_->n_regular(); id < tok_->n_vocab(); ++id) {
        EXPECT_EQ(types[static_cast<std::size_t>(id)], 3) << "id " << id;
        EXPECT_EQ(tokens[static_cast<std::size_t>(id)], tok_->token_bytes(id));
    }
    EXPECT_EQ(tokens[200000], "<|begin_of_text|>");
    EXPECT_EQ(tokens[200008], "<|eot|>");
    EXPECT_EQ(tokens[202047], "<|reserved_special_token_903|>");
    for (int64_t id = tok_->n_vocab(); id < k_padded_vocab; ++id) {
        EXPECT_EQ(types[static_cast<std::size_t>(id)], 5);
        EXPECT_EQ(tokens[static_cast<std::size_t>(id)], "[PAD" + std::to_string(id) + "]");
    }
}

// A plain merge-priority BPE over the GGUF merges: repeatedly apply the lowest-ranked merge
// present among neighbouring symbols (leftmost on ties), as llama.cpp does for "gpt2" vocabularies.
std::vector<std::string> merge_bpe(const std::string& word, const std::unordered_map<std::string, int>& rank) {
    std::vector<std::string> sym;
    for (const char c : word) sym.emplace_back(1, c);
    for (;;) {
        int best = INT_MAX;
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
            std::string key = sym[i];
            key += '\0';
            key += sym[i + 1];
            const auto it = rank.find(key);
            if (it != rank.end() && it->second < best) best = it->second, at = i;
        }
        if (best == INT_MAX) return sym;
        sym[at] += sym[at + 1];
        sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
}

TEST_F(GgufTokenizerTest, MergesReproduceTiktoken) {
    const auto merges = file_->get("tokenizer.ggml.merges").as_string_array();
    // Every split of a token into two tokens (transformers' TikTokenConverter); the count pins
    // the construction so a change to it is noticed.
    EXPECT_EQ(merges.size(), 439802u);  // counted independently in Python from tokenizer.model
    ASSERT_FALSE(merges.empty());
    EXPECT_EQ(merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ": id 256, two spaces, the first merge
    const auto inv = unicode_to_byte();
    std::unordered_map<std::string, int> rank;  // "left\0right" in raw bytes -> merge rank
    std::string l, r;
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        const auto sp = m.find(' ');
        ASSERT_NE(sp, std::string_view::npos) << merges[i];
        ASSERT_EQ(m.find(' ', sp + 1), std::string_view::npos) << merges[i];
        ASSERT_TRUE(byte_level_decode(m.substr(0, sp), inv, l));
        ASSERT_TRUE(byte_level_decode(m.substr(sp + 1), inv, r));
        rank.emplace(l + '\0' + r, static_cast<int>(i));
    }
    // Merge-priority BPE reaches every token from its bytes (llama.cpp does not take a whole
    // token directly for the llama4 pre-tokenizer), checked on every 5th token ...
    for (int32_t id = 0; id < tok_->n_regular(); id += 5) {
        const std::string b(tok_->token_bytes(id));
        const auto sym = merge_bpe(b, rank);
        ASSERT_EQ(sym.size(), 1u) << "id " << id << " ends in " << sym.size() << " pieces";
    }
    // ... and splits pieces that are not tokens as tiktoken's rule does.
    for (const std::string piece : {" internationalization", " Grüße", " 你好世界", "1234567", " hellooooooo",
                                    "    \n\n   ", " antidisestablishmentarianism", " Привет", "!!!???..."}) {
        std::vector<int32_t> ids;
        for (const std::string& s : merge_bpe(piece, rank)) ids.push_back(tok_->bpe(s).at(0));
        EXPECT_EQ(ids, tok_->bpe(piece, text::BpeMode::array_only)) << piece;
    }
}

}  // namespace
