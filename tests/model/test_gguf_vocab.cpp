// scout's tokenizer built from a GGUF's own vocabulary (model/gguf_tokenizer_read.hpp) against
// tiktoken's ids on every golden, for the two layouts users meet:
//   scout_quantize      the tokenizer.ggml.* keys `scout quantize` writes (model::add_gguf_tokenizer);
//   llamacpp_converter  a file laid out as llama.cpp's converter does, written by gguf-py
//                       (tools/reference/make_llamacpp_vocab_gguf.py, a CTest fixture).
// Also: how a GGUF that is not Llama 4's is refused, and what `scout info` says about a GGUF's
// tokenizer and chat template.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "model/gguf_tokenizer.hpp"
#include "model/gguf_tokenizer_read.hpp"
#include "model/tokenizer_source.hpp"
#include "test_util.hpp"
#include "text/chat_format.hpp"
#include "text/chat_json.hpp"
#include "text/golden_cases.hpp"
#include "text/text_test_util.hpp"

using namespace scout;
namespace fs = std::filesystem;

namespace {

constexpr int64_t k_vocab_size = 202048;  // Scout's vocab_size: what scout quantize passes

const text::Tokenizer* reference() { return text::testing::real_tokenizer(); }

// `scout quantize`'s tokenizer keys, in a file of their own (the tensors do not matter here);
// one per process, as CTest runs these tests side by side.
fs::path write_quantize_vocab() {
    const fs::path path = test::work_dir() / ("scout-quantize-vocab-" + std::to_string(::getpid()) + ".gguf");
    io::GgufWriter w(path);
    w.add_string("general.architecture", "llama4");
    model::add_gguf_tokenizer(w, *reference(), k_vocab_size);
    w.finish();
    return path;
}

// Each layout's tokenizer, built once per test process; null when its file cannot be had.
const text::Tokenizer* tokenizer_for(const std::string& layout, std::string& why_missing) {
    static std::map<std::string, std::unique_ptr<text::Tokenizer>> cache;
    if (reference() == nullptr) {
        why_missing = "no real tokenizer.model at " + text::testing::tokenizer_model_path().string();
        return nullptr;
    }
    if (auto it = cache.find(layout); it != cache.end()) return it->second.get();
    fs::path path;
    if (layout == "scout_quantize") {
        path = write_quantize_vocab();
    } else {
        path = SCOUT_LLAMACPP_VOCAB_GGUF;  // empty when CMake's SCOUT_TEST_PYTHON is not set
        if (path.empty() || !fs::exists(path)) {
            why_missing = "no llama.cpp-layout vocabulary GGUF (set SCOUT_TEST_PYTHON to a Python with "
                          "tools/reference/requirements-gguf.txt; scripts/test.sh does)";
            return nullptr;
        }
    }
    // Through the same door as `--tokenizer FILE.gguf`.
    auto tok = std::make_unique<text::Tokenizer>(model::load_tokenizer_path(path));
    if (layout == "scout_quantize") fs::remove(path);  // the tokenizer keeps its own copy
    return cache.emplace(layout, std::move(tok)).first->second.get();
}

class GgufVocab : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why;
        tok_ = tokenizer_for(GetParam(), why);
        if (tok_ == nullptr) SCOUT_SKIP_WITHOUT_DATA(why);
    }
    const text::Tokenizer* tok_ = nullptr;
};

// Every id's bytes and every special name equal tokenizer.model's: the strongest form of
// "same tokenizer" (the goldens below then show it end to end).
TEST_P(GgufVocab, SameTokensAsTokenizerModel) {
    const text::Tokenizer& ref = *reference();
    ASSERT_EQ(tok_->n_vocab(), ref.n_vocab());
    ASSERT_EQ(tok_->n_regular(), ref.n_regular());
    int mismatches = 0;
    for (int32_t id = 0; id < ref.n_vocab(); ++id)
        if (tok_->token_bytes(id) != ref.token_bytes(id) && ++mismatches <= 5)
            ADD_FAILURE() << "id " << id << ": '" << tok_->token_bytes(id) << "' vs '" << ref.token_bytes(id) << "'";
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(tok_->stop_tokens(), ref.stop_tokens());
    // The reference names, not the converter's "[PAD201135]" or its stray pad name.
    EXPECT_EQ(tok_->special_id("<|reasoning_reserved_special_token_0|>"), 201134);
    EXPECT_EQ(tok_->special_id("<|reserved_special_token_903|>"), 202047);
}

TEST_P(GgufVocab, GoldenCasesMatchTiktoken) {
    const auto cases = text::testing::read_jsonl("cases.jsonl");
    ASSERT_GE(cases.size(), 1000u);
    size_t n_ok = 0;
    for (const auto& c : cases) {
        if (tok_->encode(text::testing::input_of(c), text::testing::options_of(c)) == text::testing::ids_of(c["ids"]))
            ++n_ok;
        else
            ADD_FAILURE() << "case " << c["name"];
    }
    EXPECT_EQ(n_ok, cases.size());
    RecordProperty("goldens_matched", std::to_string(n_ok) + "/" + std::to_string(cases.size()));
}

TEST_P(GgufVocab, GoldenCorpusMatchesTiktoken) {
    size_t n_ok = 0, bytes = 0;
    const auto docs = text::testing::read_jsonl("corpus.jsonl");
    for (const auto& d : docs) {
        const auto text = d["text"].get<std::string>();
        bytes += text.size();
        if (tok_->encode(text) == text::testing::ids_of(d["ids"])) ++n_ok;
        else ADD_FAILURE() << "corpus document " << d["name"];
    }
    EXPECT_EQ(n_ok, docs.size());
    EXPECT_GE(bytes, 1'000'000u);
}

TEST_P(GgufVocab, ChatGoldensMatchMetaChatFormat) {
    const auto convs = text::testing::read_jsonl<nlohmann::ordered_json>("chat.jsonl");
    ASSERT_GE(convs.size(), 20u);
    const text::ChatFormat fmt(*tok_);
    for (const auto& c : convs)
        EXPECT_EQ(fmt.encode_dialog_prompt(text::parse_chat_messages(c["messages"].dump())),
                  text::testing::ids_of(c["ids"]))
            << c["name"];
}

INSTANTIATE_TEST_SUITE_P(Layouts, GgufVocab, ::testing::Values("scout_quantize", "llamacpp_converter"),
                         [](const auto& info) { return info.param; });

// --- refusals and `scout info` (no real tokenizer needed) ----------------------------------

// A tiny file holding only tokenizer keys: `edit` writes them.
fs::path vocab_file(const std::string& name, const std::function<void(io::GgufWriter&)>& edit) {
    const fs::path path = fs::temp_directory_path() / ("scout_gguf_vocab_" + name + ".gguf");
    io::GgufWriter w(path);
    w.add_string("general.architecture", "llama4");
    edit(w);
    w.finish();
    return path;
}

std::string error_of(const fs::path& path) {
    try {
        (void)model::tokenizer_from_gguf(io::GgufFile(path));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(GgufVocabErrors, OtherTokenizersAreRefusedWithTheFix) {
    const auto none = error_of(vocab_file("none", [](io::GgufWriter&) {}));
    EXPECT_NE(none.find("no tokenizer.ggml.tokens"), std::string::npos) << none;
    EXPECT_NE(none.find("--tokenizer"), std::string::npos) << none;
    const std::vector<std::string> two = {"a", "b"};
    const auto spm = error_of(vocab_file("llama", [&](io::GgufWriter& w) {
        w.add_string("tokenizer.ggml.model", "llama");
        w.add_string_array("tokenizer.ggml.tokens", two);
    }));
    EXPECT_NE(spm.find("not Llama 4's ('gpt2', pre 'llama4')"), std::string::npos) << spm;
    const auto small = error_of(vocab_file("small", [&](io::GgufWriter& w) {
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_string("tokenizer.ggml.pre", "llama4");
        w.add_string_array("tokenizer.ggml.tokens", two);
    }));
    EXPECT_NE(small.find("has 2 tokens, fewer than Llama 4's 200000"), std::string::npos) << small;
}

// A GGUF with neither a vocabulary nor a tokenizer file beside it: the message says what to pass.
TEST(GgufVocabErrors, NoTokenizerAnywhere) {
    const fs::path dir = fs::temp_directory_path() / ("scout_gguf_alone_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(test::data_dir() / "gguf" / "llama4_tiny.gguf", dir / "tiny.gguf", fs::copy_options::overwrite_existing);
    std::string msg;
    try {
        (void)model::load_model_tokenizer(dir / "tiny.gguf", {});
    } catch (const Error& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find("has no tokenizer.ggml.* vocabulary and there is no tokenizer.model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--tokenizer"), std::string::npos) << msg;
    fs::remove_all(dir);
}

// llama4_tiny.gguf (no vocabulary) copied with a tokenizer.chat_template added.
fs::path tiny_with_chat_template() {
    const fs::path out = fs::temp_directory_path() / "scout_gguf_chat_template.gguf";
    io::GgufFile src(test::data_dir() / "gguf" / "llama4_tiny.gguf");
    io::GgufWriter w(out);
    for (const auto& kv : src.metadata()) w.add_value(kv.key, kv.value);
    w.add_string("tokenizer.chat_template", "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
    for (const auto& t : src.tensors()) w.add_tensor_info(t.name, *t.dtype, t.shape());
    for (const auto& t : src.tensors()) w.write_tensor_data(t.name, {src.tensor_data(t), t.nbytes});
    w.finish();
    return out;
}

TEST(GgufInfo, SaysWhereTheTokenizerAndChatFormatComeFrom) {
    const fs::path f = tiny_with_chat_template();
    auto r = test::run_command(test::scout_binary() + " info -m '" + f.string() + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("tokenizer    none in the file"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("scout's own exact Llama 4 format; the file's tokenizer.chat_template is not used"),
              std::string::npos)
        << r.output;
    r = test::run_command(test::scout_binary() + " info --json -m '" + f.string() + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("\"chat_template_in_file\": true"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"tokenizer_in_file\": false"), std::string::npos) << r.output;
    // Without a template, no chat-format line.
    r = test::run_command(test::scout_binary() + " info -m '" + (test::data_dir() / "gguf" / "llama4_tiny.gguf").string() + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("chat format"), std::string::npos) << r.output;
    fs::remove(f);
}

}  // namespace
