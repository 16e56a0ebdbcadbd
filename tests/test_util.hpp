// Helpers shared by the C++ tests: data locations and random inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace scout::test {

inline std::filesystem::path data_dir() { return SCOUT_TEST_DATA; }
inline std::string scout_binary() { return SCOUT_BINARY; }
// A scratch directory inside the build tree for files tests share (e.g. the demo model).
inline std::filesystem::path work_dir() {
    const std::filesystem::path p = SCOUT_TEST_WORK_DIR;
    std::filesystem::create_directories(p);
    return p;
}

// A fresh seed per test run (random inputs differ between runs); tests put it in a
// SCOPED_TRACE so a failure can be reproduced.
inline uint64_t fresh_seed() {
    static const uint64_t seed = std::random_device{}();
    return seed;
}

inline std::vector<float> random_floats(std::mt19937_64& rng, std::size_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

// Runs a shell command, returns {exit status, stdout (+ stderr unless merge_stderr is false)}.
struct CommandResult {
    int status = -1;
    std::string output;
};
CommandResult run_command(const std::string& command, bool merge_stderr = true);

// The real Llama 4 tokenizer.model (CMake's SCOUT_TOKENIZER), or empty when it is absent.
std::filesystem::path tokenizer_file();

// True when the environment variable CI is set. CI has every test's data, so there a test that
// cannot find its data fails instead of skipping (a skip would hide a broken setup).
bool in_ci();

}  // namespace scout::test

// Skips the current test because `why` (its data is missing), or fails it under CI.
#define SCOUT_SKIP_WITHOUT_DATA(why)                                                             \
    do {                                                                                         \
        const std::string scout_why_ = (why);                                                    \
        if (::scout::test::in_ci()) GTEST_FAIL() << scout_why_ << " (CI is set: data must be present)"; \
        GTEST_SKIP() << scout_why_;                                                              \
    } while (0)
