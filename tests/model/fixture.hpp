// Reads a reference fixture written by tools/reference/make_model_fixtures.py:
// tests/data/models/<name>/{config.json, *.safetensors, reference/cases.json, reference/*.npy}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/npy.hpp"

namespace scout::test {

struct LogitsCase {
    std::vector<int32_t> tokens;
    std::string file;
    std::string compute_dtype;  // "float32" or "bfloat16" (the reference's compute dtype)
    bool has_pixels = false;    // needs the vision tower (not consumed by text-only tests)
    // With pixels (files in reference/): pixel_values [tiles, 3, S, S]; the vision tower's output
    // [tiles, tokens_per_tile, P]; the projected rows [tiles * tokens_per_tile, text D].
    std::string pixel_values, vision_adapter_out, image_features;
};

// A long-context case (cases.json "long_logits"): one long sequence whose reference logits are
// kept at some positions only; row i of the file [positions.size(), vocab] is position positions[i].
struct LongLogitsCase {
    std::vector<int32_t> tokens;
    std::vector<int64_t> positions;  // ascending, each < tokens.size()
    std::string file;
    std::string compute_dtype;
};

struct GreedyCase {
    std::vector<int32_t> prompt;
    std::vector<int32_t> output;  // new tokens, greedy, no EOS stop
};

struct Fixture {
    std::string name;
    std::filesystem::path dir;
    std::string weights_dtype;
    std::vector<LogitsCase> logits;
    std::vector<GreedyCase> greedy;
    std::vector<LongLogitsCase> long_logits;

    NpyArray load_logits(const LogitsCase& c) const { return read_npy_f32(dir / "reference" / c.file); }
    NpyArray load_logits(const LongLogitsCase& c) const { return read_npy_f32(dir / "reference" / c.file); }
};

// Every directory under tests/data/models whose reference/cases.json has short "logits" cases (the
// fixtures the parameterized model tests walk). A long-context fixture (only "long_logits", e.g.
// tiny_longctx_f32 with chunk 8192) is not one of them: it has its own test, test_long_context.
std::vector<std::string> fixture_names();
Fixture load_fixture(const std::string& name);

}  // namespace scout::test
