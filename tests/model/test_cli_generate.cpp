// The generation commands as a user runs them: `scout demo-model`, `scout run`, `scout chat`
// on the demo model (real tokenizer, random weights). Skipped without the real tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.hpp"

using namespace scout;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p); }

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class CliGenerate : public ::testing::Test {
protected:
    // One demo model per build tree, shared by every test process (CTest runs each test in its
    // own process): written to a private directory, then renamed into place atomically.
    static void SetUpTestSuite() {
        if (test::tokenizer_file().empty()) return;
        // Keyed by the binary's build time, so a rebuilt generator never reuses a stale model.
        const auto stamp = fs::last_write_time(test::scout_binary()).time_since_epoch().count();
        demo_ = new fs::path(test::work_dir() / ("demo-seed7-" + std::to_string(stamp)));
        if (fs::exists(*demo_ / "tokenizer.model")) return;
        const fs::path tmp = demo_->string() + ".tmp" + std::to_string(::getpid());
        const auto r = test::run_command(test::scout_binary() + " demo-model " + q(tmp) + " --seed 7 --tokenizer " +
                                         q(test::tokenizer_file()));
        ASSERT_EQ(r.status, 0) << r.output;
        std::error_code ec;
        fs::rename(tmp, *demo_, ec);
        if (ec) fs::remove_all(tmp);  // another process got there first
    }
    static void TearDownTestSuite() {
        delete demo_;
        demo_ = nullptr;
    }
    void SetUp() override {
        if (!demo_) SCOUT_SKIP_WITHOUT_DATA("needs the real tokenizer.model (CMake's SCOUT_TOKENIZER)");
    }
    // stdout of `scout run` with -q (no progress, no stats).
    static test::CommandResult run(const std::string& args) {
        return test::run_command(test::scout_binary() + " run -q --no-prefault -m " + q(*demo_) + " " + args, false);
    }
    static fs::path* demo_;
};
fs::path* CliGenerate::demo_ = nullptr;

TEST_F(CliGenerate, DemoModelLayoutAndDeterminism) {
    for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.model"})
        EXPECT_TRUE(fs::exists(*demo_ / f)) << f;
    const auto info = test::run_command(test::scout_binary() + " info --json -m " + q(*demo_));
    ASSERT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("\"n_global_layers\": 2"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("\"n_moe_layers\": 8"), std::string::npos);
    // Same seed, same bytes; another seed, other weights.
    const fs::path again = fs::temp_directory_path() / ("scout_demo_again_" + std::to_string(::getpid()));
    auto r = test::run_command(test::scout_binary() + " demo-model " + q(again) + " --seed 7 --tokenizer " +
                               q(test::tokenizer_file()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(read_file(again / "model.safetensors") == read_file(*demo_ / "model.safetensors"));
    r = test::run_command(test::scout_binary() + " demo-model " + q(again) + " --seed 8 --tokenizer " +
                          q(test::tokenizer_file()));
    EXPECT_NE(r.status, 0) << "must refuse to overwrite without --force";
    EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
    r = test::run_command(test::scout_binary() + " demo-model " + q(again) + " --force --seed 8 --tokenizer " +
                          q(test::tokenizer_file()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(read_file(again / "model.safetensors") == read_file(*demo_ / "model.safetensors"));
    fs::remove_all(again);
}

// `demo-model --gguf`: a GGUF of random weights straight from a config, no checkpoint between
// (the scaling benchmark's models). It loads in scout, generates, is the same for the same seed,
// honours --layers, and bad combinations are refused with the flag named.
TEST_F(CliGenerate, DemoModelGgufOfRandomWeights) {
    const fs::path dir = fs::temp_directory_path() / ("scout_demo_gguf_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string tok = " --tokenizer " + q(test::tokenizer_file());
    const std::string a = q(dir / "a.gguf"), b = q(dir / "b.gguf");
    auto r = test::run_command(test::scout_binary() + " demo-model " + a + " --gguf Q4_K_M --layers 3 --seed 5" + tok);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto info = test::run_command(test::scout_binary() + " info --json -m " + a);
    ASSERT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("\"n_layers\": 3"), std::string::npos) << info.output;
    const auto gen = test::run_command(test::scout_binary() + " run -q -m " + a + " -p Hello -n 6 --temp 0", false);
    ASSERT_EQ(gen.status, 0) << gen.output;
    EXPECT_GT(gen.output.size(), std::string("Hello").size());
    r = test::run_command(test::scout_binary() + " demo-model " + b + " --gguf Q4_K_M --layers 3 --seed 5" + tok);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(read_file(dir / "a.gguf") == read_file(dir / "b.gguf")) << "same seed, same file";
    r = test::run_command(test::scout_binary() + " demo-model " + b + " --gguf Q4_K_M --layers 3 --seed 6" + tok);
    EXPECT_NE(r.status, 0) << "must refuse to overwrite without --force";
    r = test::run_command(test::scout_binary() + " demo-model " + b + " --force --gguf Q8_0 --layers 3 --seed 6" + tok);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(read_file(dir / "a.gguf") == read_file(dir / "b.gguf"));
    for (const auto& [args, word] : {std::pair<std::string, std::string>{" --gguf Q3_K", "Q3_K"},
                                     {" --gguf Q8_0 --layers 99", "--layers"},
                                     {" --gguf Q8_0 --config /nonexistent/config.json", "/nonexistent/config.json"},
                                     {" --layers 2", "--gguf"}}) {
        r = test::run_command(test::scout_binary() + " demo-model " + q(dir / "c.gguf") + " --force" + args + tok);
        EXPECT_NE(r.status, 0) << args;
        EXPECT_NE(r.output.find(word), std::string::npos) << args << ": " << r.output;
    }
    fs::remove_all(dir);
}

TEST_F(CliGenerate, GreedyAndSeededRunsAreReproducible) {
    const auto a = run("-p 'Hello world' -n 12 --temp 0");
    const auto b = run("-p 'Hello world' -n 12 --temp 0 -t 1");
    ASSERT_EQ(a.status, 0) << a.output;
    EXPECT_EQ(a.output, b.output);
    EXPECT_EQ(a.output.rfind("Hello world", 0), 0u) << "the prompt is echoed first";
    EXPECT_GT(a.output.size(), std::string("Hello world\n").size());
    const auto s1 = run("-p 'Hello world' -n 12 --seed 42");
    const auto s2 = run("-p 'Hello world' -n 12 --seed 42");
    const auto s3 = run("-p 'Hello world' -n 12 --seed 43");
    EXPECT_EQ(s1.output, s2.output);
    EXPECT_NE(s1.output, s3.output);
}

// --kv-type-global on scout run (demo model: head_dim 32, so q8_0 fits): the same type as
// --kv-type gives the same text; another runs; an unknown one is refused naming the flag.
TEST_F(CliGenerate, KvTypeGlobalFlag) {
    const auto plain = run("-p 'Hello world' -n 12 --temp 0 --kv-type f32");
    const auto same = run("-p 'Hello world' -n 12 --temp 0 --kv-type f32 --kv-type-global f32");
    ASSERT_EQ(plain.status, 0) << plain.output;
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output, plain.output);
    const auto q8 = run("-p 'Hello world' -n 12 --temp 0 --kv-type f32 --kv-type-global q8_0");
    ASSERT_EQ(q8.status, 0) << q8.output;
    EXPECT_EQ(q8.output.rfind("Hello world", 0), 0u) << q8.output;
    EXPECT_GT(q8.output.size(), std::string("Hello world\n").size());
    const auto bad = test::run_command(test::scout_binary() + " run -q --no-prefault -m " + q(*demo_) +
                                       " -p Hi -n 2 --kv-type-global int8");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("--kv-type-global: unknown KV type \"int8\" (choose one of: f32, f16, bf16, q8_0, q4_0)"),
              std::string::npos)
        << bad.output;
}

TEST_F(CliGenerate, TokenLimitAndStats) {
    const auto r = test::run_command(test::scout_binary() + " run --no-prefault -m " + q(*demo_) + " -p Hi -n 5 --temp 0");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("generation 5 tok"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("stop: token limit"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("tok/s"), std::string::npos);
}

TEST_F(CliGenerate, StopStringCutsTheOutput) {
    const auto full = run("-p 'Once upon a time' -n 24 --temp 0");
    ASSERT_EQ(full.status, 0);
    const std::string prefix = "Once upon a time";
    const std::string generated = full.output.substr(prefix.size(), full.output.size() - prefix.size() - 1);
    ASSERT_GT(generated.size(), 12u);
    // A stop string taken from the middle of the greedy continuation (3 bytes, clean UTF-8 cut).
    std::size_t at = generated.size() / 2;
    while (at < generated.size() && (static_cast<unsigned char>(generated[at]) & 0xC0) == 0x80) ++at;
    std::size_t end = at + 3;
    while (end < generated.size() && (static_cast<unsigned char>(generated[end]) & 0xC0) == 0x80) ++end;
    const std::string stop = generated.substr(at, end - at);
    const std::string stop_file = (fs::temp_directory_path() / "scout_stop_arg").string();
    const auto cut = test::run_command(test::scout_binary() + " run -q --no-prefault -m " + q(*demo_) +
                                           " -p 'Once upon a time' -n 24 --temp 0 --stop \"$(printf '%s' " + q(stop) +
                                           ")\"",
                                       false);
    ASSERT_EQ(cut.status, 0);
    EXPECT_EQ(cut.output, prefix + generated.substr(0, generated.find(stop)) + "\n");
}

TEST_F(CliGenerate, ChatTurnsAndCommands) {
    const auto r = test::run_command("printf 'Hello\\n/reset\\nSecond line \\\\\\ncontinued\\n/system Be brief.\\nHi\\n/quit\\n' | " +
                                     test::scout_binary() + " chat --no-prefault -m " + q(*demo_) + " -n 4 --seed 1");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("[conversation reset]"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("[system prompt set; conversation reset]"), std::string::npos) << r.output;
    std::size_t stats = 0, pos = 0;
    while ((pos = r.output.find("generation 4 tok", pos)) != std::string::npos) ++stats, ++pos;
    EXPECT_EQ(stats, 3u) << r.output;  // three replies
}

TEST_F(CliGenerate, ClearErrors) {
    const std::string bin = test::scout_binary();
    auto r = test::run_command(bin + " run -m " + q(*demo_) + " -p hi --no-such-flag");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("no-such-flag"), std::string::npos) << r.output;

    r = test::run_command(bin + " run -m /nonexistent/dir -p hi");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("/nonexistent/dir"), std::string::npos) << r.output;

    r = test::run_command(bin + " run -m " + q(*demo_) + " -p hi -f /nonexistent/prompt.txt");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("exactly one of -p TEXT or -f FILE"), std::string::npos) << r.output;

    r = test::run_command(bin + " run -m " + q(*demo_) + " -f /nonexistent/prompt.txt");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("cannot read prompt file"), std::string::npos) << r.output;

    r = test::run_command(bin + " run --no-prefault -m " + q(*demo_) + " --ctx 8 -p 'a b c d e f g h i j k l m n o p'");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("raise --ctx"), std::string::npos) << r.output;

    r = test::run_command(bin + " run --no-prefault -m " + q(*demo_) + " -p hi --top-p 1.5");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("top_p"), std::string::npos) << r.output;

    // A checkpoint directory without a tokenizer: say so and how to fix it.
    const fs::path bare = fs::temp_directory_path() / ("scout_bare_" + std::to_string(::getpid()));
    fs::create_directories(bare);
    fs::copy_file(*demo_ / "config.json", bare / "config.json", fs::copy_options::overwrite_existing);
    r = test::run_command(bin + " run -m " + q(bare) + " -p hi");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("tokenizer"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--tokenizer"), std::string::npos) << r.output;
    fs::remove_all(bare);
}

}  // namespace
