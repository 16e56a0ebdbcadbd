// The `scout tokenize` / `scout detokenize` contracts, run through the real binary.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "text_test_util.hpp"

namespace scout::text {
namespace {

namespace fs = std::filesystem;

struct RunResult {
    int rc;
    std::string out;  // stdout and stderr together
};

RunResult run(const std::string& args) {
    const std::string cmd = std::string(SCOUT_BINARY) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    RunResult r{-1, ""};
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// A fresh path under the temp directory, unique per process (tests may run in parallel).
fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() / ("scout_text_cli_" + std::to_string(getpid()) + "_" + name);
}

std::string quote(const std::string& s) { return scout::test::shell_quote(s); }

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(SCOUT_BINARY)) GTEST_SKIP() << "scout binary not built: " << SCOUT_BINARY;
        if (!fs::exists(testing::tokenizer_model_path()))
            SCOUT_SKIP_WITHOUT_DATA("no tokenizer.model at " + testing::tokenizer_model_path().string());
        tok_arg_ = " --tokenizer " + quote(testing::tokenizer_model_path().string());
    }
    std::string tok_arg_;
};

TEST_F(Cli, TokenizeTextJson) {
    const auto r = run("tokenize" + tok_arg_ + " --text 'Hello world' --json");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out, "[19873,3817]\n");
    const auto s = run("tokenize" + tok_arg_ + " --text 'a<|eot|>' --bos --eos --allow-special --json");
    EXPECT_EQ(s.out, "[200000,77,200008,200001]\n");
    const auto plain = run("tokenize" + tok_arg_ + " --text '<|eot|>' --json");
    EXPECT_EQ(plain.out, "[40,104,81,359,159276]\n");
    // A model directory works too.
    const auto d = run("tokenize --tokenizer " + quote(testing::tokenizer_model_path().parent_path().string()) +
                       " --text 'Hello world' --json");
    EXPECT_EQ(d.out, "[19873,3817]\n");
}

TEST_F(Cli, TokenizeFileAndChat) {
    const fs::path dir = temp_path("io");
    fs::create_directories(dir);
    {
        std::ofstream(dir / "in.txt", std::ios::binary) << "Hello world";
        std::ofstream(dir / "chat.json") << R"([{"role": "system", "content": "You are a helpful assistant"},
            {"role": "user", "content": "Answer who are you in the form of jeopardy?"}])";
    }
    EXPECT_EQ(run("tokenize" + tok_arg_ + " --file " + quote((dir / "in.txt").string()) + " --json").out,
              "[19873,3817]\n");
    const auto r = run("tokenize" + tok_arg_ + " --chat " + quote((dir / "chat.json").string()) + " --json");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out,
              "[200000,200005,15651,200006,368,4662,583,262,19933,43910,200008,200005,1556,200006,368,4984,2117,583,"
              "650,310,290,1075,323,1997,153495,43,200008,200005,140680,200006,368]\n");
    fs::remove_all(dir);
}

TEST_F(Cli, Detokenize) {
    const auto r = run("detokenize" + tok_arg_ + " --ids 19873,3817,200008");
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.out, "Hello world<|eot|>");
}

TEST_F(Cli, BadInputsExitWithOneAndSayWhy) {
    const auto bad_id = run("detokenize" + tok_arg_ + " --ids 1,202048");
    EXPECT_EQ(bad_id.rc, 1);
    EXPECT_NE(bad_id.out.find("out of range"), std::string::npos) << bad_id.out;
    const auto not_num = run("detokenize" + tok_arg_ + " --ids 1,x");
    EXPECT_EQ(not_num.rc, 1);
    const auto no_input = run("tokenize" + tok_arg_ + " --json");
    EXPECT_EQ(no_input.rc, 1);
    EXPECT_NE(no_input.out.find("exactly one input"), std::string::npos) << no_input.out;
    const auto two_inputs = run("tokenize" + tok_arg_ + " --text a --file b");
    EXPECT_EQ(two_inputs.rc, 1);
    const auto missing = run("tokenize --tokenizer /nonexistent/tokenizer.model --text a");
    EXPECT_EQ(missing.rc, 1);
    EXPECT_NE(missing.out.find("does not exist"), std::string::npos) << missing.out;
    const fs::path empty = temp_path("empty");
    fs::create_directories(empty);
    const auto empty_dir = run("tokenize --tokenizer " + quote(empty.string()) + " --text a");
    fs::remove_all(empty);
    EXPECT_EQ(empty_dir.rc, 1);
    EXPECT_NE(empty_dir.out.find("no tokenizer.model or tokenizer.json"), std::string::npos) << empty_dir.out;
    const fs::path bad = temp_path("bad_tokenizer.model");
    std::ofstream(bad) << "this is not a tokenizer\n";
    const auto corrupt = run("tokenize --tokenizer " + quote(bad.string()) + " --text a");
    EXPECT_EQ(corrupt.rc, 1);
    EXPECT_NE(corrupt.out.find("line 1"), std::string::npos) << corrupt.out;
    fs::remove(bad);
    const fs::path chat = temp_path("bad_chat.json");
    std::ofstream(chat) << R"([{"role": "robot", "content": "x"}])";
    const auto bad_chat = run("tokenize" + tok_arg_ + " --chat " + quote(chat.string()));
    EXPECT_EQ(bad_chat.rc, 1);
    EXPECT_NE(bad_chat.out.find("unknown role"), std::string::npos) << bad_chat.out;
    fs::remove(chat);
}

}  // namespace
}  // namespace scout::text
