// The `scout` binary's model commands (info, logits): exit codes, outputs, error messages.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/npy.hpp"
#include "fixture.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {
std::string q(const std::filesystem::path& p) { return test::shell_quote(p); }
}  // namespace

TEST(CliModel, InfoJsonOnScoutConfigOnly) {
    const auto r = test::run_command(test::scout_binary() + " info --json -m " + q(test::data_dir() / "configs/scout"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["n_layers"], 48);
    EXPECT_EQ(j["n_chunked_layers"], 36);
    EXPECT_EQ(j["n_global_layers"], 12);
    EXPECT_EQ(j["n_moe_layers"], 48);
    EXPECT_EQ(j["n_dense_layers"], 0);
    EXPECT_EQ(j["n_params_text"], 107769861120);
    EXPECT_EQ(j["kv_bytes_per_token"], 49152);
    // The GPUs --device auto would use: none here (CI), with the reason; or each with "fits".
    ASSERT_TRUE(j["gpus"].is_array());
    if (j["gpus"].empty()) {
        EXPECT_FALSE(j["gpu_none_reason"].get<std::string>().empty());
    }
    for (const auto& g : j["gpus"]) EXPECT_FALSE(g["fits"].get<bool>()) << "a config without weights never fits";
}

// --ctx sizes one sequence's KV: Scout's 12 global layers keep 8 KV heads x 128 values of K and V
// per position; its 36 chunked layers keep rings of 8,192 positions once full.
TEST(CliModel, InfoSizesKvAtContextLengths) {
    const auto r = test::run_command(test::scout_binary() + " info --json --ctx 4096,128K,10M -m " +
                                     q(test::data_dir() / "configs/scout"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    ASSERT_EQ(j["kv_at_ctx"].size(), 3u);
    const int64_t row = 8 * 128 * 2;  // K + V values of one position in one layer
    const int64_t ring = int64_t{36} * row * 8192;
    EXPECT_EQ(j["kv_at_ctx"][0]["tokens"], 4096);
    EXPECT_EQ(j["kv_at_ctx"][0]["kv_bytes"]["f16"], (12 * row * 4096 + int64_t{36} * row * 4096) * 2);
    EXPECT_EQ(j["kv_at_ctx"][1]["tokens"], 131072);
    EXPECT_EQ(j["kv_at_ctx"][1]["kv_bytes"]["f32"], (12 * row * 131072 + ring) * 4);
    EXPECT_EQ(j["kv_at_ctx"][2]["tokens"], 10485760);
    EXPECT_EQ(j["kv_at_ctx"][2]["within_model_context"], true);
    EXPECT_EQ(j["kv_at_ctx"][2]["kv_bytes"]["q4_0"], (12 * row * 10485760 + ring) / 32 * 18);
    EXPECT_EQ(j["kv_at_ctx"][2]["kv_bytes"]["q8_0"], (12 * row * 10485760 + ring) / 32 * 34);

    const auto t = test::run_command(test::scout_binary() + " info --ctx 1M,20M -m " + q(test::data_dir() / "configs/scout"));
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("20,971,520*"), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("beyond this model's 10,485,760 positions"), std::string::npos) << t.output;
    // f32 at 1M: 12 layers x 8 KiB x 1M = 96 GiB, + 36 rings x 8 KiB x 8,192 = 2.25 GiB.
    EXPECT_NE(t.output.find("98.25 GiB"), std::string::npos) << t.output;

    // --kv-ram 16G: of the global layers' 48 KiB per token (f16), 1M tokens = 48 GiB, 32 GiB in the file.
    const auto f = test::run_command(test::scout_binary() + " info --json --ctx 1M --kv-ram 16G -m " + q(test::data_dir() / "configs/scout"));
    ASSERT_EQ(f.status, 0) << f.output;
    EXPECT_EQ(nlohmann::json::parse(f.output)["kv_at_ctx"][0]["kv_bytes_in_file"]["f16"], int64_t{32} << 30);

    const auto bad = test::run_command(test::scout_binary() + " info --ctx 12x -m " + q(test::data_dir() / "configs/scout"));
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("--ctx: \"12x\" is not a token count"), std::string::npos) << bad.output;
}

TEST(CliModel, InfoTableShowsPlan) {
    const auto r = test::run_command(test::scout_binary() + " info -m " + q(test::data_dir() / "configs/maverick"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("48 = 36 chunked + 12 global; 24 moe + 24 dense"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("400,711,848,960"), std::string::npos);
}

TEST(CliModel, InfoDescribesAGgufFile) {
    // llama4_tiny.gguf: 4 layers; F32 norms and router, F16 and Q8_0 matrices.
    const std::filesystem::path file = test::data_dir() / "gguf/llama4_tiny.gguf";
    auto r = test::run_command(test::scout_binary() + " info --json -m " + q(file));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["n_layers"], 4);
    EXPECT_EQ(j["weight_format"], "GGUF");
    EXPECT_EQ(j["tensor_types"]["Q8_0"], 30);
    EXPECT_EQ(j["tensor_types"]["F16"], 12);
    EXPECT_GT(j["weight_file_bytes"].get<uint64_t>(), 0u);
    EXPECT_LE(j["weight_file_bytes"].get<uint64_t>(), std::filesystem::file_size(file));

    r = test::run_command(test::scout_binary() + " info -m " + q(file));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("in 1 GGUF file(s); tensors F16 x12 F32 x14 Q8_0 x30"), std::string::npos) << r.output;

    // A cut file is an error naming the file, not a crash.
    const std::filesystem::path cut = std::filesystem::temp_directory_path() / ("cut_" + std::to_string(::getpid()) + ".gguf");
    {
        std::ifstream in(file, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 3));
    }
    r = test::run_command(test::scout_binary() + " info -m " + q(cut));
    std::filesystem::remove(cut);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("error: GGUF file " + cut.string()), std::string::npos) << r.output;
}

TEST(CliModel, LogitsWritesNpyMatchingReference) {
    const test::Fixture fx = test::load_fixture("tiny_text_f32");
    const auto& c = fx.logits.back();
    std::string ids;
    for (int32_t t : c.tokens) {
        if (!ids.empty()) ids += ',';
        ids += std::to_string(t);
    }
    const auto out = std::filesystem::temp_directory_path() / "scout_cli_logits.npy";
    // f32 KV is the exact reference; the default (f16) KV rounds K and V to f16 when it stores them.
    for (const auto& [kv_flag, tol] : {std::pair{" --kv-type f32", 1e-4}, std::pair{"", 3e-3}}) {
        SCOPED_TRACE(kv_flag);
        const auto r = test::run_command(test::scout_binary() + " logits -m " + q(fx.dir) + " --tokens " + ids +
                                         " --prefill 6 --step 5 -t 2" + kv_flag + " -o " + q(out));
        ASSERT_EQ(r.status, 0) << r.output;
        const NpyArray ours = read_npy_f32(out), ref = fx.load_logits(c);
        ASSERT_EQ(ours.shape, ref.shape);
        const double err = test::max_rel_to_scale(ours.data, ref.data);
        EXPECT_LE(err, tol);
        if (tol > 1e-4) {
            EXPECT_GT(err, 0.0);  // the default really is not f32
        }
    }
    const auto bad = test::run_command(test::scout_binary() + " logits -m " + q(fx.dir) + " --tokens 1 --kv-type q4 -o " + q(out));
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("unknown KV type \"q4\" (choose one of: f32, f16, bf16, q8_0, q4_0)"), std::string::npos) << bad.output;
    const auto q8 = test::run_command(test::scout_binary() + " logits -m " + q(fx.dir) + " --tokens 1 --kv-type q8_0 -o " + q(out));
    EXPECT_EQ(q8.status, 1);
    EXPECT_NE(q8.output.find("head_dim is 24"), std::string::npos) << q8.output;
    std::filesystem::remove(out);
}

TEST(CliModel, BenchReportsSpeedsAndBandwidth) {
    const auto r = test::run_command(test::scout_binary() + " bench --json -p 9 -n 5 -r 2 -t 2 -m " +
                                         q(test::data_dir() / "models/tiny_text_f32"),
                                     false);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_GT(j["pp_tok_s"]["median"].get<double>(), 0);
    EXPECT_GT(j["tg_tok_s"]["median"].get<double>(), 0);
    EXPECT_LE(j["tg_tok_s"]["min"].get<double>(), j["tg_tok_s"]["max"].get<double>());
    // f32 weights: one embedding row + lm_head + 2 dense and 2 MoE layers with top-2 of 4 experts.
    EXPECT_GT(j["weight_bytes_per_token"].get<double>(), 256 * 64 * 4);
    EXPECT_LT(j["weight_bytes_per_token"].get<double>(), static_cast<double>(j["file_bytes"].get<int64_t>()));
    EXPECT_GT(j["kv_bytes"].get<int64_t>(), 0);
    EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0);
}

// --synthetic CONFIG: random weights of a config's dimensions instead of -m. On the CPU they are
// written to a temporary GGUF file, read like any model and removed after; the weights read per
// token follow the type (Q8_0 about a quarter of F32).
TEST(CliModel, BenchSyntheticWeightsOfAConfig) {
    const std::string cfg = q(test::data_dir() / "models/tiny_text_f32/config.json");
    const std::string base = test::scout_binary() + " bench --json -p 9 -n 5 -r 1 -t 2 --device cpu --synthetic " + cfg;
    const auto f32 = test::run_command(base + " --type F16", false);
    const auto q8 = test::run_command(base + " --type Q8_0", false);
    ASSERT_EQ(f32.status, 0) << f32.output;
    ASSERT_EQ(q8.status, 0) << q8.output;
    const auto jf = nlohmann::json::parse(f32.output), jq = nlohmann::json::parse(q8.output);
    EXPECT_NE(jq["model"].get<std::string>().find("synthetic"), std::string::npos);
    EXPECT_GT(jq["tg_tok_s"]["median"].get<double>(), 0);
    EXPECT_LT(jq["weight_bytes_per_token"].get<double>(), 0.6 * jf["weight_bytes_per_token"].get<double>());
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
        EXPECT_NE(e.path().filename().string().rfind("scout-synthetic-", 0), 0u) << e.path() << " was left behind";
    const auto both = test::run_command(base + " -m " + q(test::data_dir() / "models/tiny_text_f32"));
    EXPECT_EQ(both.status, 1);
    EXPECT_NE(both.output.find("give -m MODEL or --synthetic CONFIG.json"), std::string::npos) << both.output;
    const auto bad = test::run_command(base + " --type Q9");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("Q9"), std::string::npos) << bad.output;
}

// --profile: per stage the wall time, the busiest and the mean thread's work and the parallel
// regions per pass. Prefill's norms run over the threads (regions), decode's single row stays on
// the calling thread (none); no thread works longer than its stage lasted.
TEST(CliModel, BenchProfileShowsHowThreadsShareEachStage) {
    const std::string base = test::scout_binary() + " bench -p 9 -n 3 -r 2 -t 2 --profile -m " +
                             q(test::data_dir() / "models/tiny_text_f32");
    const auto r = test::run_command(base + " --json", false);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["profile_threads"].get<int>(), 2);
    for (const char* key : {"pp", "tg"}) {
        const auto& ms = j[std::string(key) + "_profile_ms_per_token"];
        const auto& th = j[std::string(key) + "_profile_threads"];
        ASSERT_EQ(ms.size(), th.size()) << key;
        for (const auto& [stage, wall] : ms.items()) {
            const double busiest = th[stage]["busiest_ms"].get<double>(), mean = th[stage]["mean_thread_ms"].get<double>();
            EXPECT_GE(busiest, 0.0) << key << " " << stage;
            EXPECT_LE(mean, busiest + 1e-9) << key << " " << stage;
            EXPECT_LE(busiest, wall.get<double>() * 1.01 + 1e-4) << key << " " << stage;
        }
    }
    EXPECT_GT(j["pp_profile_threads"]["norms + residuals"]["regions_per_pass"].get<double>(), 0);
    EXPECT_EQ(j["tg_profile_threads"]["norms + residuals"]["regions_per_pass"].get<double>(), 0);
    const auto text = test::run_command(base, false);
    ASSERT_EQ(text.status, 0) << text.output;
    EXPECT_NE(text.output.find("use = mean thread's work / wall"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("parallel regions (barriers) per forward pass"), std::string::npos) << text.output;
}

// -d: pp and tg after a context, made by a prefill or by random K/V rows (--fill random).
TEST(CliModel, BenchMeasuresAtDepths) {
    const std::string base = test::scout_binary() + " bench --json -p 5 -n 3 -r 1 -t 2 -m " +
                             q(test::data_dir() / "models/tiny_text_f32");
    for (const char* fill : {"prefill", "random"}) {
        SCOPED_TRACE(fill);
        const auto r = test::run_command(base + " -d 0,9 --fill " + fill, false);
        ASSERT_EQ(r.status, 0) << r.output;
        const auto j = nlohmann::json::parse(r.output);
        EXPECT_EQ(j["fill"], fill);
        ASSERT_EQ(j["by_depth"].size(), 2u);
        EXPECT_EQ(j["by_depth"][0]["depth"], 0);
        EXPECT_EQ(j["by_depth"][1]["depth"], 9);
        EXPECT_GT(j["by_depth"][1]["pp_tok_s"]["median"].get<double>(), 0);
        EXPECT_GT(j["by_depth"][1]["tg_tok_s"]["median"].get<double>(), 0);
        EXPECT_EQ(j["pp_tok_s"], j["by_depth"][0]["pp_tok_s"]);
    }
    const auto text = test::run_command(test::scout_binary() + " bench -p 5 -n 3 -r 1 -t 2 -d 9 --fill random -m " +
                                            q(test::data_dir() / "models/tiny_text_f32"),
                                        false);
    ASSERT_EQ(text.status, 0) << text.output;
    EXPECT_NE(text.output.find("pp5 @ d9"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("tg3 @ d9"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("random K/V rows"), std::string::npos) << text.output;
    // --kv-ram below one page: the global layers' KV goes to the file (in --kv-dir).
    const auto dir = std::filesystem::temp_directory_path() / ("scout_kv_dir_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto off = test::run_command(base + " -d 9 --fill random --kv-ram 1K --kv-dir " + q(dir), false);
    ASSERT_EQ(off.status, 0) << off.output;
    EXPECT_GT(nlohmann::json::parse(off.output)["kv_bytes_in_file"].get<int64_t>(), 0);
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << "the KV file is unlinked as soon as it is made";
    std::filesystem::remove_all(dir);
    const auto bad_ram = test::run_command(base + " --kv-ram 12q");
    EXPECT_EQ(bad_ram.status, 1);
    EXPECT_NE(bad_ram.output.find("--kv-ram: \"12q\" is not a byte size"), std::string::npos) << bad_ram.output;
    const auto bad = test::run_command(base + " -d 9 --fill zeros");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("--fill: \"zeros\" is not prefill or random"), std::string::npos) << bad.output;
}

// --kv-type-global: info sizes the KV with the global layers in their own type (a row named
// "f16/q4_0"); the same type as --kv-type leaves the output as it was.
TEST(CliModel, InfoSizesKvWithAGlobalType) {
    const std::string base = test::scout_binary() + " info -m " + q(test::data_dir() / "configs/scout");
    const auto r = test::run_command(base + " --json --ctx 4096,1M --kv-type-global q4_0");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["kv_types"]["name"], "f16/q4_0");
    EXPECT_EQ(j["kv_types"]["chunked"], "f16");
    EXPECT_EQ(j["kv_types"]["global"], "q4_0");
    const int64_t row = 8 * 128 * 2;  // K + V values of one position in one layer
    const int64_t ring = int64_t{36} * row * 8192;
    EXPECT_EQ(j["kv"]["f16/q4_0"]["bytes_per_token"], 12 * row / 32 * 18);
    EXPECT_EQ(j["kv"]["f16/q4_0"]["chunk_ring_bytes"], ring * 2);
    EXPECT_EQ(j["kv_at_ctx"][0]["kv_bytes"]["f16/q4_0"], 12 * row * 4096 / 32 * 18 + int64_t{36} * row * 4096 * 2);
    EXPECT_EQ(j["kv_at_ctx"][1]["kv_bytes"]["f16/q4_0"], 12 * row * 1048576 / 32 * 18 + ring * 2);
    EXPECT_EQ(j["kv_at_ctx"][1]["kv_bytes"]["f16"], (12 * row * 1048576 + ring) * 2) << "the one-type rows stay";

    const auto r2 = test::run_command(base + " --json --kv-type f32 --kv-type-global q8_0");
    ASSERT_EQ(r2.status, 0) << r2.output;
    const auto j2 = nlohmann::json::parse(r2.output);
    EXPECT_EQ(j2["kv_types"]["name"], "f32/q8_0");
    EXPECT_EQ(j2["kv"]["f32/q8_0"]["bytes_per_token"], 12 * row / 32 * 34);
    EXPECT_EQ(j2["kv"]["f32/q8_0"]["chunk_ring_bytes"], ring * 4);

    const auto t = test::run_command(base + " --ctx 1M --kv-type-global q4_0");
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("f16/q4_0: chunk rings in f16 (--kv-type), global layers in q4_0 (--kv-type-global)"),
              std::string::npos)
        << t.output;
    // 1M tokens: 13.5 GiB of q4_0 global rows + 1.125 GiB of f16 rings.
    EXPECT_NE(t.output.find("14.62 GiB"), std::string::npos) << t.output;

    // The same type for both kinds: output unchanged, byte for byte.
    const auto plain = test::run_command(base + " --ctx 128K,1M");
    ASSERT_EQ(plain.status, 0) << plain.output;
    for (const char* same : {" --kv-type-global f16", " --kv-type q8_0 --kv-type-global q8_0", " --kv-type bf16"}) {
        const auto s = test::run_command(base + " --ctx 128K,1M" + same);
        ASSERT_EQ(s.status, 0) << s.output;
        EXPECT_EQ(s.output, plain.output) << same;
    }
    const auto plain_json = test::run_command(base + " --json");
    const auto same_json = test::run_command(base + " --json --kv-type-global f16");
    EXPECT_EQ(same_json.output, plain_json.output);
    EXPECT_FALSE(nlohmann::json::parse(plain_json.output).contains("kv_types"));

    const auto bad = test::run_command(base + " --kv-type-global q9");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("--kv-type-global: unknown KV type \"q9\" (choose one of: f32, f16, bf16, q8_0, q4_0)"),
              std::string::npos)
        << bad.output;
}

// --kv-type-global on the model commands: logits equal at the same type, refused where the head
// size cannot hold the type or the name is unknown (naming the flag), reported by bench.
TEST(CliModel, KvTypeGlobalOnLogitsAndBench) {
    const test::Fixture fx = test::load_fixture("tiny_text_f32");
    const auto out = std::filesystem::temp_directory_path() / ("scout_cli_kvg_" + std::to_string(::getpid()) + ".npy");
    const std::string logits = test::scout_binary() + " logits -m " + q(fx.dir) + " --tokens 5,17,99,3,8,12,40 --prefill 4 --step 3 -t 2";
    auto r = test::run_command(logits + " --kv-type f32 -o " + q(out));
    ASSERT_EQ(r.status, 0) << r.output;
    const NpyArray one = read_npy_f32(out);
    r = test::run_command(logits + " --kv-type f32 --kv-type-global f32 -o " + q(out));
    ASSERT_EQ(r.status, 0) << r.output;
    const NpyArray both = read_npy_f32(out);
    ASSERT_EQ(both.shape, one.shape);
    ASSERT_FALSE(one.data.empty());
    EXPECT_EQ(std::memcmp(both.data.data(), one.data.data(), one.data.size() * sizeof(float)), 0);
    // f32 rings + f16 global layers: close to all-f32, not equal.
    r = test::run_command(logits + " --kv-type f32 --kv-type-global f16 -o " + q(out));
    ASSERT_EQ(r.status, 0) << r.output;
    const NpyArray mixed = read_npy_f32(out);
    ASSERT_EQ(mixed.shape, one.shape);
    const double err = test::max_rel_to_scale(mixed.data, one.data);
    EXPECT_GT(err, 0.0);
    EXPECT_LE(err, 3e-3);
    std::filesystem::remove(out);

    r = test::run_command(logits + " --kv-type-global q8_0 -o " + q(out));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--kv-type-global q8_0 stores blocks of 32 values, but this model's head_dim is 24"),
              std::string::npos)
        << r.output;
    r = test::run_command(logits + " --kv-type-global f8 -o " + q(out));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--kv-type-global: unknown KV type \"f8\""), std::string::npos) << r.output;

    // bench on tiny_scoutlike_bf16 (1 KV head x 32 values; 3 chunked layers with rings of 4, 1 global).
    const std::string bench = test::scout_binary() + " bench -p 5 -n 3 -r 1 -t 2 -m " +
                              q(test::data_dir() / "models/tiny_scoutlike_bf16") + " --kv-type f32";
    const auto b = test::run_command(bench + " --json --kv-type-global q8_0", false);
    ASSERT_EQ(b.status, 0) << b.output;
    const auto j = nlohmann::json::parse(b.output);
    EXPECT_EQ(j["kv_type"], "f32");
    EXPECT_EQ(j["kv_type_global"], "q8_0");
    // Rings: 3 layers x (K + V) x 4 f32 rows of 128 bytes; global: one page of 256 q8_0 rows of 34 bytes, K and V.
    EXPECT_EQ(j["kv_bytes"], 3 * 2 * 4 * 128 + 2 * 256 * 34);
    const auto b32 = test::run_command(bench + " --json", false);
    ASSERT_EQ(b32.status, 0) << b32.output;
    const auto j32 = nlohmann::json::parse(b32.output);
    EXPECT_FALSE(j32.contains("kv_type_global"));
    EXPECT_EQ(j32["kv_bytes"], 3 * 2 * 4 * 128 + 2 * 256 * 128);
    const auto bt = test::run_command(bench + " --kv-type-global q4_0", false);
    ASSERT_EQ(bt.status, 0) << bt.output;
    EXPECT_NE(bt.output.find(", KV f32 (chunked), q4_0 (global), "), std::string::npos) << bt.output;
    const auto bt32 = test::run_command(bench, false);
    ASSERT_EQ(bt32.status, 0) << bt32.output;
    EXPECT_NE(bt32.output.find(", KV f32, "), std::string::npos) << bt32.output;
}

TEST(CliModel, ErrorsAreClear) {
    const std::string bin = test::scout_binary();
    auto r = test::run_command(bin + " info -m /nonexistent/model");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("error: model path"), std::string::npos) << r.output;

    r = test::run_command(bin + " logits -m " + q(test::data_dir() / "models/tiny_text_f32") + " --tokens 1,x,3 -o /tmp/x.npy");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("\"x\" is not a non-negative integer"), std::string::npos) << r.output;

    r = test::run_command(bin + " logits -m " + q(test::data_dir() / "models/tiny_text_f32") + " --tokens 1,999 -o /tmp/x.npy");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("token id 999 is outside the vocabulary [0, 256)"), std::string::npos) << r.output;

    r = test::run_command(bin + " info -m " + q(test::data_dir() / "configs/scout") + " --bogus-option");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("bogus-option"), std::string::npos) << r.output;

    r = test::run_command(bin + " logits -m " + q(test::data_dir() / "configs/scout") + " --tokens 1 -o /tmp/x.npy");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("no weights"), std::string::npos) << r.output;

    // --gpu-math: fast is the GPU's tensor-core mode, refused on the CPU; anything else is named.
    const std::string tiny = bin + " logits -m " + q(test::data_dir() / "models/tiny_text_f32") + " --tokens 1,2 -o /tmp/x.npy";
    r = test::run_command(tiny + " --device cpu --gpu-math fast");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--gpu-math fast runs on the GPU only"), std::string::npos) << r.output;
    r = test::run_command(tiny + " --gpu-math quick");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--gpu-math \"quick\": choose exact or fast"), std::string::npos) << r.output;
}
