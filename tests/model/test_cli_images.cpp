// Images from the command line, as a user runs them: `scout demo-model --vision`, then
// `scout run --image` (the picture changes the reply, greedy output is repeatable) and the bad
// inputs (corrupt file, decompression bomb, too many image tokens for the context), each a clear
// error rather than a crash.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace scout;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p); }

class CliImages : public ::testing::Test {
protected:
    // One vision demo model per build tree, shared by the test processes (see test_cli_generate).
    static void SetUpTestSuite() {
        if (test::tokenizer_file().empty()) return;
        const auto stamp = fs::last_write_time(test::scout_binary()).time_since_epoch().count();
        demo_ = new fs::path(test::work_dir() / ("demo-vision-seed3-" + std::to_string(stamp)));
        if (fs::exists(*demo_ / "tokenizer.model")) return;
        const fs::path tmp = demo_->string() + ".tmp" + std::to_string(::getpid());
        const auto r = test::run_command(test::scout_binary() + " demo-model " + q(tmp) + " --vision --seed 3 --tokenizer " +
                                         q(test::tokenizer_file()));
        ASSERT_EQ(r.status, 0) << r.output;
        std::error_code ec;
        fs::rename(tmp, *demo_, ec);
        if (ec) fs::remove_all(tmp);
    }
    static void TearDownTestSuite() {
        delete demo_;
        demo_ = nullptr;
    }
    void SetUp() override {
        if (!demo_) SCOUT_SKIP_WITHOUT_DATA("needs the real tokenizer.model (CMake's SCOUT_TOKENIZER)");
    }
    static test::CommandResult run(const std::string& args, bool merge_stderr = false) {
        return test::run_command(test::scout_binary() + " run -q --no-prefault --temp 0 -n 8 -m " + q(*demo_) + " " + args,
                                 merge_stderr);
    }
    static fs::path image(const char* name) { return test::data_dir() / "images" / name; }
    static fs::path* demo_;
};
fs::path* CliImages::demo_ = nullptr;

TEST_F(CliImages, ThePictureChangesTheReplyAndGreedyRepeats) {
    const auto a = run("--image " + q(image("png_rgba.png")) + " -p 'This picture shows'");
    ASSERT_EQ(a.status, 0) << a.output;
    const auto again = run("--image " + q(image("png_rgba.png")) + " -p 'This picture shows'");
    EXPECT_EQ(a.output, again.output);
    const auto other = run("--image " + q(image("jpeg_444.jpg")) + " -p 'This picture shows'");
    ASSERT_EQ(other.status, 0) << other.output;
    const auto none = run("-p 'This picture shows'");
    ASSERT_EQ(none.status, 0) << none.output;
    EXPECT_NE(a.output, other.output) << "two different pictures gave the same reply";
    EXPECT_NE(a.output, none.output) << "the picture did not change the reply";
    // Two images, one of several tiles: the grid is reported on stderr.
    const auto two = run("--image " + q(image("png_rgba.png")) + " --image " + q(image("jpeg_444.jpg")) + " -p 'Compare'", true);
    ASSERT_EQ(two.status, 0) << two.output;
    EXPECT_NE(two.output.find("png_rgba.png: 40x30 pixels, 1x1 tiles, 144 image tokens"), std::string::npos) << two.output;
}

TEST_F(CliImages, ChatAttachesAPictureWithSlashImage) {
    // merge_stderr false: the replies alone (stdout), without the notes on stderr.
    auto chat = [&](const std::string& lines, bool merge_stderr) {
        return test::run_command("printf '" + lines + "' | " + test::scout_binary() + " chat -q --no-prefault --temp 0 -n 6 -m " +
                                     q(*demo_),
                                 merge_stderr);
    };
    const std::string attach = "/image " + image("png_rgba.png").string() + "\\n";
    const auto noted = chat(attach + "What is this?\\n/quit\\n", true);
    ASSERT_EQ(noted.status, 0) << noted.output;
    EXPECT_NE(noted.output.find("[picture attached to your next message]"), std::string::npos) << noted.output;
    const auto with = chat(attach + "What is this?\\n/quit\\n", false);
    const auto without = chat("What is this?\\n/quit\\n", false);
    ASSERT_EQ(with.status, 0);
    ASSERT_EQ(without.status, 0);
    EXPECT_FALSE(with.output.empty());
    EXPECT_NE(with.output, without.output) << "the picture did not change the reply";
    // A second turn without a picture still works (the picture stays in the conversation).
    EXPECT_EQ(chat(attach + "What is this?\\nAnd now?\\n/quit\\n", false).status, 0);
    // A missing file is reported and the chat goes on.
    const auto missing = chat("/image /no/such/file.png\\nhello\\n/quit\\n", true);
    EXPECT_EQ(missing.status, 0) << missing.output;
    EXPECT_NE(missing.output.find("[/image: "), std::string::npos) << missing.output;
}

TEST_F(CliImages, BadImagesAreClearErrors) {
    const fs::path dir = test::work_dir() / ("bad-images-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // A PNG cut in half.
    {
        std::ifstream in(image("png_rgb.png"), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir / "cut.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
        // A decompression bomb: the header says 30000 x 30000 (with its CRC fixed up, so that the
        // size is what gets refused).
        for (int k = 0; k < 4; ++k) bytes[16 + k] = bytes[20 + k] = "\x00\x00\x75\x30"[k];
        const uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data() + 12), 17));
        for (int k = 0; k < 4; ++k) bytes[29 + k] = static_cast<char>(crc >> (24 - 8 * k));
        std::ofstream(dir / "bomb.png", std::ios::binary) << bytes;
        std::ofstream(dir / "text.png", std::ios::binary) << "not an image at all";
    }
    for (const char* name : {"cut.png", "bomb.png", "text.png"}) {
        SCOPED_TRACE(name);
        const auto r = run("--image " + q(dir / name) + " -p hi", true);
        EXPECT_NE(r.status, 0);
        EXPECT_LT(r.status, 128) << "killed by a signal: " << r.output;
        EXPECT_NE(r.output.find(name), std::string::npos) << "the error does not name the file: " << r.output;
        if (std::string(name) == "bomb.png") {
            EXPECT_NE(r.output.find("30000x30000"), std::string::npos) << r.output;
        }
    }
    // More image tokens than the context holds.
    const auto big = run("--ctx 256 --image " + q(image("jpeg_444.jpg")) + " --image " + q(image("png_rgba.png")) + " -p hi",
                         true);
    EXPECT_NE(big.status, 0);
    EXPECT_NE(big.output.find("context"), std::string::npos) << big.output;
    fs::remove_all(dir);
}

}  // namespace
