// Named activation dumps (docs/dumps.md): `scout logits --dump` against the transformers dumps
// committed under tests/data/models/<name>/reference/dumps (tools/reference/dump_activations.py).
// Every reference tensor must exist in scout's dump with the same shape and agree within the
// logits tolerance; the first one that does not is named, walking in forward order, so a
// failure points at the step that broke rather than at the logits.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/npy.hpp"
#include "fixture.hpp"
#include "test_util.hpp"

using namespace scout;
namespace fs = std::filesystem;

namespace {

constexpr double kTol = 1e-4;  // max |Δ| <= 1e-4 · max(1, max|ref|), as test_reference_logits

struct DumpIndex {
    std::vector<std::string> names;  // forward order
    std::map<std::string, std::vector<int64_t>> shapes;
    std::vector<int32_t> tokens;
};

DumpIndex read_index(const fs::path& dir) {
    std::ifstream in(dir / "index.json");
    EXPECT_TRUE(in) << "no index.json in " << dir;
    const auto j = nlohmann::json::parse(in);
    DumpIndex idx;
    idx.tokens = j["tokens"].get<std::vector<int32_t>>();
    for (const auto& t : j["tensors"]) {
        idx.names.push_back(t["name"].get<std::string>());
        idx.shapes[idx.names.back()] = t["shape"].get<std::vector<int64_t>>();
    }
    return idx;
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) r += ", ";
        r += std::to_string(s[i]);
    }
    return r + "]";
}

struct Comparison {
    std::string first_difference;  // empty when every reference tensor matched
    double worst_rel = 0;          // max over the matched tensors of max|Δ| / max(1, max|ref|)
    std::string worst_name;
    int matched = 0;
};

// Walks the reference names in forward order and stops at the first that is missing from
// `ours`, has another shape, or is over the tolerance.
Comparison compare_dumps(const fs::path& ref_dir, const fs::path& ours_dir) {
    const DumpIndex ref = read_index(ref_dir), ours = read_index(ours_dir);
    Comparison c;
    for (const std::string& name : ref.names) {
        const auto it = ours.shapes.find(name);
        if (it == ours.shapes.end()) {
            c.first_difference = name + ": missing from scout's dump";
            return c;
        }
        const NpyArray r = read_npy_f32(ref_dir / (name + ".npy")), o = read_npy_f32(ours_dir / (name + ".npy"));
        if (r.shape != o.shape || it->second != o.shape) {
            c.first_difference = name + ": shape " + shape_text(o.shape) + " in scout, " + shape_text(r.shape) + " in the reference";
            return c;
        }
        const double err = test::max_abs_diff(o.data, r.data), scale = std::max(1.0, test::max_abs(r.data));
        if (!(err <= kTol * scale)) {
            c.first_difference = name + ": max |delta| " + std::to_string(err) + " > 1e-4 * max(1, max|ref|) = " + std::to_string(kTol * scale);
            return c;
        }
        if (err / scale >= c.worst_rel) {
            c.worst_rel = err / scale;
            c.worst_name = name;
        }
        ++c.matched;
    }
    return c;
}

fs::path scratch(const std::string& tag) {
    return test::work_dir() / ("dump_" + tag + "_" + std::to_string(::getpid()));
}

std::string q(const fs::path& p) { return test::shell_quote(p); }

std::vector<std::string> dumped_fixtures() {
    std::vector<std::string> out;
    for (const auto& n : test::fixture_names())
        if (fs::exists(test::data_dir() / "models" / n / "reference" / "dumps" / "index.json")) out.push_back(n);
    return out;
}

class Dumps : public ::testing::TestWithParam<std::string> {};

TEST_P(Dumps, EveryNamedStepMatchesTransformers) {
    const fs::path model = test::data_dir() / "models" / GetParam();
    const fs::path ref = model / "reference" / "dumps", ours = scratch(GetParam());
    const DumpIndex ri = read_index(ref);
    ASSERT_FALSE(ri.tokens.empty());
    // The reference must cover the whole forward pass, or a pass here would mean little.
    for (const char* must : {"model.embed_tokens", "model.layers.0.self_attn.q_proj", "model.layers.0", "model.norm", "lm_head"})
        ASSERT_TRUE(ri.shapes.count(must)) << "reference dump lacks " << must;

    std::string ids;
    for (int32_t t : ri.tokens) {
        if (!ids.empty()) ids += ',';
        ids += std::to_string(t);
    }
    // A split run (prefill 5, then 3 at a time through the KV cache) against transformers' one
    // full forward: the dump must be [n_tokens, ...] whatever the split.
    fs::remove_all(ours);
    const auto r = test::run_command(test::scout_binary() + " logits -m " + q(model) + " --tokens " + ids +
                                     " --prefill 5 --step 3 -t 2 --kv-type f32 --dump " + q(ours));
    ASSERT_EQ(r.status, 0) << r.output;

    const Comparison c = compare_dumps(ref, ours);
    EXPECT_EQ(c.first_difference, "") << "first differing step, in forward order";
    EXPECT_EQ(c.matched, static_cast<int>(ri.names.size()));
    RecordProperty("max_rel", std::to_string(c.worst_rel));
    std::cout << GetParam() << ": " << c.matched << " tensors, max rel " << c.worst_rel << " at " << c.worst_name << "\n";
    fs::remove_all(ours);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Dumps, ::testing::ValuesIn(dumped_fixtures()),
                         [](const auto& info) { return info.param; });

TEST(DumpFixtures, EveryFloat32FixtureHasOne) {
    // The bf16 fixture is left out on purpose (docs/dumps.md); the float32 ones must all be there.
    for (const auto& n : test::fixture_names()) {
        if (test::load_fixture(n).weights_dtype == "float32") {
            EXPECT_TRUE(fs::exists(test::data_dir() / "models" / n / "reference" / "dumps" / "index.json")) << n;
        }
    }
    EXPECT_GE(dumped_fixtures().size(), 3u);
}

// The comparison itself must fail on a missing name, a changed shape and a changed value:
// check it on doctored copies of a reference dump.
TEST(DumpCompare, NamesTheFirstMissingOrDifferentStep) {
    const fs::path ref = test::data_dir() / "models/tiny_text_f32/reference/dumps", copy = scratch("doctored");
    fs::remove_all(copy);
    fs::copy(ref, copy);
    EXPECT_EQ(compare_dumps(ref, copy).first_difference, "");

    auto j = nlohmann::json::parse(std::ifstream(copy / "index.json"));
    auto& list = j["tensors"];
    const auto drop = std::find_if(list.begin(), list.end(), [](const auto& t) { return t["name"] == "model.layers.1.self_attn.o_proj"; });
    ASSERT_NE(drop, list.end());
    list.erase(drop);
    std::ofstream(copy / "index.json") << j.dump();
    EXPECT_EQ(compare_dumps(ref, copy).first_difference, "model.layers.1.self_attn.o_proj: missing from scout's dump");

    // A value off by more than the tolerance, earlier in forward order: that one is named first.
    NpyArray v = read_npy_f32(copy / "model.layers.0.feed_forward.npy");
    v.data[7] += 0.01f;
    write_npy_f32(copy / "model.layers.0.feed_forward.npy", v.data, v.shape);
    EXPECT_EQ(compare_dumps(ref, copy).first_difference.rfind("model.layers.0.feed_forward: max |delta|", 0), 0u);

    // A shape that differs (one row missing), earlier still.
    NpyArray k = read_npy_f32(copy / "model.layers.0.self_attn.k_proj.npy");
    k.shape[0] -= 1;
    k.data.resize(k.data.size() - static_cast<std::size_t>(k.shape[1]));
    write_npy_f32(copy / "model.layers.0.self_attn.k_proj.npy", k.data, k.shape);
    EXPECT_EQ(compare_dumps(ref, copy).first_difference, "model.layers.0.self_attn.k_proj: shape [12, 48] in scout, [13, 48] in the reference");
    fs::remove_all(copy);
}

TEST(DumpCli, RefusesADumpOverTheLimitAndNeedsAnOutput) {
    const fs::path model = test::data_dir() / "models/tiny_text_f32", out = scratch("limit");
    auto r = test::run_command(test::scout_binary() + " logits -m " + q(model) + " --tokens 5,6,7 --dump " + q(out) + " --dump-max-mib 0");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("error: --dump: the activations of this run would pass the limit of 0 B"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out / "index.json"));

    r = test::run_command(test::scout_binary() + " logits -m " + q(model) + " --tokens 5,6,7");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("give -o FILE.npy, --dump DIR, or both"), std::string::npos) << r.output;

    r = test::run_command(test::scout_binary() + " logits --help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.output.find("--dump"), std::string::npos) << r.output;
    fs::remove_all(out);
}

}  // namespace
