#include "test_util.hpp"

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

namespace scout::test {

std::string shell_quote(const std::string& s) {
    std::string r(1, '\'');  // appended piece by piece: GCC 12 warns (-Wrestrict) on "'" + s + "'"
    for (const char c : s) {
        if (c == '\'')
            r += "'\\''";
        else
            r += c;
    }
    r += '\'';
    return r;
}

CommandResult run_command(const std::string& command, bool merge_stderr) {
    CommandResult r;
    FILE* pipe = ::popen((command + (merge_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::filesystem::path tokenizer_file() {
    const std::filesystem::path p = SCOUT_TOKENIZER_PATH;
    return std::filesystem::exists(p) ? p : std::filesystem::path();
}

namespace {

// The seed's state for this program: drawn once, and which test last asked for it.
struct SeedState {
    uint64_t value = 0;
    bool drawn = false;
    const testing::TestInfo* used_by = nullptr;
};
SeedState& seed_state() {
    static SeedState s;
    return s;
}

std::string seed_line(uint64_t seed) {
    return "seed=" + std::to_string(seed) + " (replay: SCOUT_TEST_SEED=" + std::to_string(seed) + ")";
}

// Prints the seed line after every failed test that drew random inputs from test_seed().
class SeedReporter : public testing::EmptyTestEventListener {
    void OnTestEnd(const testing::TestInfo& info) override {
        const SeedState& s = seed_state();
        if (s.used_by == &info && info.result()->Failed())
            std::fprintf(stderr, "%s.%s drew random inputs: %s\n", info.test_suite_name(), info.name(),
                         seed_line(s.value).c_str());
    }
};

uint64_t draw_seed() {
    if (const char* env = std::getenv("SCOUT_TEST_SEED"); env != nullptr && *env != 0) {
        char* end = nullptr;
        const unsigned long long v = std::strtoull(env, &end, 0);
        if (end == env || *end != 0) {
            std::fprintf(stderr, "SCOUT_TEST_SEED=%s is not a number\n", env);
            std::abort();
        }
        return v;
    }
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

uint64_t test_seed() {
    SeedState& s = seed_state();
    if (!s.drawn) {
        s.value = draw_seed();
        s.drawn = true;
        // Printed before the test can crash, so even an aborted run says how to replay it.
        std::fprintf(stderr, "random test inputs: %s\n", seed_line(s.value).c_str());
        testing::UnitTest::GetInstance()->listeners().Append(new SeedReporter);
    }
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    if (info != nullptr && s.used_by != info) {
        s.used_by = info;
        testing::Test::RecordProperty("seed", std::to_string(s.value));
    }
    return s.value;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
    EXPECT_EQ(a.size(), b.size()) << "compared arrays differ in size";
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (std::isnan(d)) return std::numeric_limits<double>::infinity();
        m = std::max(m, d);
    }
    return m;
}

double max_abs(std::span<const float> a) {
    double m = 0;
    for (const float v : a) {
        if (std::isnan(v)) return std::numeric_limits<double>::infinity();
        m = std::max(m, std::abs(static_cast<double>(v)));
    }
    return m;
}

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && *ci != 0;
}

}  // namespace scout::test
