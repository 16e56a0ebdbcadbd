// Helpers shared by the C++ tests: data locations, random inputs and their seed, comparisons.
#pragma once

#include <cstdint>
#include <algorithm>
#include <filesystem>
#include <random>
#include <span>
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

// The seed of every random input a test draws: SCOUT_TEST_SEED when that environment variable is
// set (to replay a failure), else a fresh value per test program run (one per test under CTest),
// so each run tries other inputs. The first call prints `seed=N (replay: SCOUT_TEST_SEED=N)` and
// records it as the test's property "seed" (in --gtest_output=xml); a test that called it and
// failed prints that line again at its end. Tests derive several streams as test_seed() + k.
uint64_t test_seed();

// max |a[i] - b[i]|, the sizes must match (a mismatch fails the test and returns infinity); a NaN
// on either side counts as an infinite difference (std::max alone would skip it).
double max_abs_diff(std::span<const float> a, std::span<const float> b);
// max |a[i]| (a NaN counts as infinity).
double max_abs(std::span<const float> a);
// max |got - want| relative to max(1, max |want|): how logits are compared with a reference.
inline double max_rel_to_scale(std::span<const float> got, std::span<const float> want) {
    return max_abs_diff(got, want) / std::max(1.0, max_abs(want));
}

inline std::vector<float> random_floats(std::mt19937_64& rng, std::size_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

// s single-quoted for the shell (embedded single quotes too).
std::string shell_quote(const std::string& s);
inline std::string shell_quote(const std::filesystem::path& p) { return shell_quote(p.string()); }

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
