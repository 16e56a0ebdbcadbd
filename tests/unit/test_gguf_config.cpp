// ModelConfig from llama4 GGUF metadata (tests/data/gguf/llama4_tiny.gguf, written by
// gguf-py with the keys llama.cpp's converter writes), the llama.cpp hard-coded
// defaults, rope_freqs handling, and the tensor name/shape map.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "model/gguf_config.hpp"
#include "model/layer_plan.hpp"
#include "model/rope.hpp"
#include "test_util.hpp"

using namespace scout;
using namespace scout::model;

namespace {

std::filesystem::path tiny() { return test::data_dir() / "gguf" / "llama4_tiny.gguf"; }

// Copies llama4_tiny.gguf with metadata edits: `skip` keys are dropped, `extra` adds
// keys; `rope` replaces rope_freqs.weight when non-empty; `drop_tensor` omits one tensor.
std::filesystem::path variant(const std::string& name, const std::vector<std::string>& skip,
                              const std::function<void(io::GgufWriter&)>& extra,
                              const std::vector<float>& rope = {}, const std::string& drop_tensor = "") {
    // In the temp directory, so a test binary run by hand leaves nothing in the working tree.
    const auto out = std::filesystem::temp_directory_path() / ("gguf_cfg_" + name + ".gguf");
    io::GgufFile src(tiny());
    io::GgufWriter w(out);
    for (const auto& kv : src.metadata())
        if (std::find(skip.begin(), skip.end(), kv.key) == skip.end()) w.add_value(kv.key, kv.value);
    extra(w);
    for (const auto& t : src.tensors())
        if (t.name != drop_tensor) w.add_tensor_info(t.name, *t.dtype, t.shape());
    for (const auto& t : src.tensors()) {
        if (t.name == drop_tensor) continue;
        std::span<const uint8_t> bytes(src.tensor_data(t), t.nbytes);
        if (t.name == "rope_freqs.weight" && !rope.empty()) bytes = {reinterpret_cast<const uint8_t*>(rope.data()), rope.size() * 4};
        w.write_tensor_data(t.name, bytes);
    }
    w.finish();
    return out;
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(GgufConfig, TinyLlama4Metadata) {
    io::GgufFile f(tiny());
    const GgufModelConfig g = gguf_model_config(f);
    const TextConfig& c = g.config.text;
    EXPECT_EQ(c.num_hidden_layers, 4);
    EXPECT_EQ(c.hidden_size, 64);
    EXPECT_EQ(c.num_attention_heads, 4);
    EXPECT_EQ(c.num_key_value_heads, 2);
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.num_local_experts, 4);
    EXPECT_EQ(c.num_experts_per_tok, 1);
    EXPECT_EQ(c.intermediate_size, 32);
    EXPECT_EQ(c.intermediate_size_mlp, 96);
    EXPECT_EQ(c.vocab_size, 64);
    EXPECT_EQ(c.rms_norm_eps, 1e-5f);
    EXPECT_EQ(c.rope_theta, 500000.0);
    EXPECT_EQ(c.max_position_embeddings, 10485760);
    EXPECT_EQ(c.interleave_moe_layer_step, 1);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(g.config.bos_token_id, 1);
    EXPECT_EQ(g.config.eos_token_ids, (std::vector<int32_t>{2}));
    // llama.cpp's hard-coded llama4 values.
    EXPECT_EQ(c.attention_chunk_size, 8192);
    EXPECT_EQ(c.no_rope_layer_interval, 4);
    EXPECT_TRUE(c.attn_temperature_tuning);
    EXPECT_EQ(c.floor_scale, 8192.0);
    EXPECT_EQ(c.attn_scale, 0.1);
    EXPECT_TRUE(c.use_qk_norm);
    // Layer plan as llama.cpp builds it: layer 3 is NoPE + global, the others RoPE + chunked.
    const LayerPlan plan = make_layer_plan(c);
    ASSERT_EQ(plan.layers.size(), 4u);
    EXPECT_FALSE(plan.layers[3].rope);
    EXPECT_TRUE(plan.layers[0].rope);
    // rope_freqs of the fixture is not Scout's llama3 pattern: factors are applied as divisors.
    EXPECT_EQ(c.rope_scaling.type, RopeType::Default);
    ASSERT_EQ(g.rope_freq_factors.size(), 8u);
    const auto base = rope_inv_freq(c);
    const auto inv = gguf_rope_inv_freq(g);
    for (std::size_t j = 0; j < 8; ++j) EXPECT_EQ(inv[j], base[j] / g.rope_freq_factors[j]);
    check_llama4_tensors(f, c);
}

TEST(GgufConfig, ScoutRopeFactorsAreRecognisedAsLlama3) {
    // The factors llama.cpp's converter writes for Scout's rope_scaling (factor 16, low/high 1,
    // original 8192) with head_dim 16 and theta 500000: base/scaled per frequency.
    TextConfig c;
    c.head_dim = 16;
    c.rope_theta = 500000.0;
    c.rope_scaling = RopeScaling{};
    const auto base = rope_inv_freq(c);
    c.rope_scaling = RopeScaling{RopeType::Llama3, 16.0f, 1.0f, 1.0f, 8192};
    const auto scaled = rope_inv_freq(c);
    std::vector<float> factors;
    for (std::size_t j = 0; j < base.size(); ++j) factors.push_back(static_cast<float>(double(base[j]) / scaled[j]));
    io::GgufFile f(variant("scout_rope", {}, [](io::GgufWriter&) {}, factors));
    const GgufModelConfig g = gguf_model_config(f);
    EXPECT_EQ(g.config.text.rope_scaling.type, RopeType::Llama3);
    EXPECT_EQ(g.config.text.rope_scaling.factor, 16.0f);
    EXPECT_EQ(g.config.text.rope_scaling.original_max_position_embeddings, 8192);
    const auto a = rope_inv_freq(g.config.text), b = gguf_rope_inv_freq(g);
    for (std::size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-6f * a[j]) << j;
}

TEST(GgufConfig, OptionalKeysAndMaverickRule) {
    {  // 128 experts: llama.cpp turns the QK norm off (Maverick).
        io::GgufFile f(variant("e128", {"llama4.expert_count"}, [](io::GgufWriter& w) { w.add_u32("llama4.expert_count", 128); }));
        EXPECT_FALSE(gguf_model_config(f).config.text.use_qk_norm);
    }
    {  // sliding_window 0: every layer full attention.
        io::GgufFile f(variant("swa0", {}, [](io::GgufWriter& w) { w.add_u32("llama4.attention.sliding_window", 0); }));
        EXPECT_EQ(gguf_model_config(f).config.text.attention_chunk_size, 0);
    }
    {  // no output.weight: tied embeddings, and the name map drops output.weight.
        io::GgufFile f(variant("tied", {}, [](io::GgufWriter&) {}, {}, "output.weight"));
        const auto g = gguf_model_config(f);
        EXPECT_TRUE(g.config.text.tie_word_embeddings);
        check_llama4_tensors(f, g.config.text);
    }
}

TEST(GgufConfig, ErrorsNameTheProblem) {
    {
        io::GgufFile f(test::data_dir() / "gguf" / "types.gguf");
        EXPECT_NE(error_of([&] { gguf_model_config(f); }).find("architecture is \"scout_test\""), std::string::npos);
    }
    for (const char* key : {"llama4.expert_feed_forward_length", "llama4.interleave_moe_layer_step", "llama4.block_count"}) {
        io::GgufFile f(variant("missing", {key}, [](io::GgufWriter&) {}));
        const std::string err = error_of([&] { gguf_model_config(f); });
        EXPECT_NE(err.find(key), std::string::npos) << err;
        EXPECT_NE(err.find("gguf_cfg_missing.gguf"), std::string::npos) << err;
    }
    {  // the first part of a split model, but not named as gguf-split names parts: say so
        const auto path = variant("split", {}, [](io::GgufWriter& w) { w.add_u16("split.count", 2); });
        const std::string err = error_of([&] { io::GgufFile f(path); });
        EXPECT_NE(err.find("first of 2 parts"), std::string::npos) << err;
        EXPECT_NE(err.find("-00001-of-00002.gguf"), std::string::npos) << err;
        EXPECT_NE(err.find("llama-gguf-split --merge"), std::string::npos) << err;
        // parsed from memory, a part has no siblings to open: the model config refuses it
        std::ifstream in(path, std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        io::GgufFile mem(std::span<const uint8_t>(bytes), "split-in-memory");
        const std::string err2 = error_of([&] { gguf_model_config(mem); });
        EXPECT_NE(err2.find("split into 2 files"), std::string::npos) << err2;
        EXPECT_NE(err2.find("llama-gguf-split --merge"), std::string::npos) << err2;
    }
    {  // heads not dividing: parse_model_config's validation applies to GGUF too
        io::GgufFile f(variant("heads", {"llama4.attention.head_count_kv"}, [](io::GgufWriter& w) { w.add_u32("llama4.attention.head_count_kv", 3); }));
        EXPECT_FALSE(error_of([&] { gguf_model_config(f); }).empty());
    }
    {  // a missing tensor and a config whose shapes disagree with the file
        io::GgufFile f(variant("notensor", {}, [](io::GgufWriter&) {}, {}, "blk.2.ffn_up_exps.weight"));
        const auto g = gguf_model_config(f);
        EXPECT_NE(error_of([&] { check_llama4_tensors(f, g.config.text); }).find("missing tensor blk.2.ffn_up_exps.weight"), std::string::npos);
        TextConfig wrong = g.config.text;
        wrong.intermediate_size = 64;
        io::GgufFile ok(tiny());
        EXPECT_NE(error_of([&] { check_llama4_tensors(ok, wrong); }).find("expected [4, 64, 64]"), std::string::npos);
    }
}

TEST(GgufConfig, TensorNameMap) {
    TextConfig c;  // Scout defaults
    const auto names = llama4_tensor_names(c);
    EXPECT_EQ(names.size(), 628u);  // peers.md §1.4: 48 x 13 + 4
    std::map<std::string, Llama4TensorName> by;
    for (const auto& n : names) by[n.gguf] = n;
    EXPECT_EQ(by["token_embd.weight"].shape, (std::vector<int64_t>{202048, 5120}));
    EXPECT_EQ(by["blk.0.attn_k.weight"].shape, (std::vector<int64_t>{1024, 5120}));
    EXPECT_EQ(by["blk.7.ffn_gate_exps.weight"].hf, "model.layers.7.feed_forward.experts.gate_up_proj");
    EXPECT_EQ(by["blk.7.ffn_gate_exps.weight"].shape, (std::vector<int64_t>{16, 8192, 5120}));
    EXPECT_EQ(by["blk.7.ffn_gate_exps.weight"].hf_shape, (std::vector<int64_t>{16, 5120, 16384}));
    EXPECT_EQ(by["blk.7.ffn_down_exps.weight"].source, GgufTensorSource::ExpertsTranspose);
    EXPECT_EQ(by["blk.7.ffn_down_exps.weight"].shape, (std::vector<int64_t>{16, 5120, 8192}));
    EXPECT_EQ(by["blk.47.ffn_gate_inp.weight"].hf, "model.layers.47.feed_forward.router.weight");
    EXPECT_EQ(by["rope_freqs.weight"].source, GgufTensorSource::Generated);
    // Maverick-style interleaving: odd layers (il+1 % 2 != 0 -> il even) are dense.
    c.interleave_moe_layer_step = 2;
    c.num_local_experts = 128;
    by.clear();
    for (const auto& n : llama4_tensor_names(c)) by[n.gguf] = n;
    EXPECT_EQ(by.count("blk.0.ffn_gate_exps.weight"), 0u);
    EXPECT_EQ(by["blk.0.ffn_gate.weight"].shape, (std::vector<int64_t>{16384, 5120}));
    EXPECT_EQ(by.count("blk.1.ffn_gate_exps.weight"), 1u);
}

TEST(GgufConfig, MinimalOneLayerFile) {
    io::GgufFile f(test::data_dir() / "gguf" / "llama4_min.gguf");
    const GgufModelConfig g = gguf_model_config(f);
    EXPECT_EQ(g.config.text.num_hidden_layers, 1);
    EXPECT_EQ(g.config.text.head_dim, 16);
    EXPECT_EQ(g.config.text.intermediate_size_mlp, 32);
    check_llama4_tensors(f, g.config.text);
    EXPECT_EQ(f.tensors().size(), 16u);
}
