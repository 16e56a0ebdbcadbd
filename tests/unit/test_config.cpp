// model/config + model/rope + model/model_size: parsing real and edge-case config.json files.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "base/error.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "kv/kv_size.hpp"
#include "model/model_size.hpp"
#include "model/rope.hpp"
#include "test_util.hpp"

using namespace scout;
using nlohmann::json;

namespace {
json load_config(const char* name) {
    return io::read_json_file(test::data_dir() / "configs" / name / "config.json");
}

std::string error_of(const json& j) {
    try {
        model::make_layer_plan(model::parse_model_config(j).text);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(Config, ScoutInstruct) {
    const model::ModelConfig m = model::parse_model_config(load_config("scout"));
    EXPECT_TRUE(m.multimodal);
    EXPECT_EQ(m.model_type, "llama4");
    EXPECT_EQ(m.image_token_index, 200092);
    const model::TextConfig& c = m.text;
    EXPECT_EQ(c.hidden_size, 5120);
    EXPECT_EQ(c.num_hidden_layers, 48);
    EXPECT_EQ(c.num_attention_heads, 40);
    EXPECT_EQ(c.num_key_value_heads, 8);
    EXPECT_EQ(c.head_dim, 128);
    EXPECT_EQ(c.num_local_experts, 16);
    EXPECT_EQ(c.num_experts_per_tok, 1);
    EXPECT_EQ(c.attention_chunk_size, 8192);
    EXPECT_TRUE(c.use_qk_norm);
    EXPECT_EQ(c.rope_scaling.type, model::RopeType::Llama3);
    EXPECT_FLOAT_EQ(c.rope_scaling.factor, 16.0f);
    EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
    EXPECT_EQ(c.dtype, DType::BF16);
    EXPECT_EQ(m.eos_token_ids, (std::vector<int32_t>{200001, 200007, 200008}));
}

TEST(Config, ScoutParameterCountAndKv) {
    const model::ModelConfig m = model::parse_model_config(load_config("scout"));
    const model::LayerPlan plan = model::make_layer_plan(m.text);
    const model::ModelSize s = model::compute_model_size(m.text, plan);
    EXPECT_EQ(s.n_params_text, 107'769'861'120);
    // KV per type, as allocated: 12 global layers x (K + V) x 8 heads x 128 values per position.
    const int64_t values = 12 * 2 * 8 * 128;
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::F32).bytes_per_token, values * 4);
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::F16).bytes_per_token, values * 2);  // 48 KiB
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::BF16).bytes_per_token, values * 2);
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::Q8_0).bytes_per_token, values / 32 * 34);
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::Q4_0).bytes_per_token, values / 32 * 18);
    EXPECT_EQ(kv::kv_size(m.text, plan, kv::KvType::F16).chunk_ring_bytes, int64_t{36} * 2 * 8 * 128 * 2 * 8192);
    // --kv-type-global: the global layers' bytes per token in their type, the rings in the other.
    const kv::KvSize mixed = kv::kv_size(m.text, plan, kv::KvType::F16, kv::KvType::Q4_0);
    EXPECT_EQ(mixed.bytes_per_token, values / 32 * 18);
    EXPECT_EQ(mixed.chunk_ring_bytes, int64_t{36} * 2 * 8 * 128 * 2 * 8192);
    // 1M tokens: 12 x 2 x 1,024 values x 1M in q4_0 = 13.5 GiB, + 36 f16 rings = 1.125 GiB.
    EXPECT_EQ(mixed.bytes_for(int64_t{1} << 20, plan.chunk_size), (int64_t{27} << 29) + (int64_t{9} << 27));
    const kv::KvSize same = kv::kv_size(m.text, plan, kv::KvType::Q8_0, kv::KvType::Q8_0);
    EXPECT_EQ(same.bytes_per_token, kv::kv_size(m.text, plan, kv::KvType::Q8_0).bytes_per_token);
    EXPECT_EQ(same.chunk_ring_bytes, kv::kv_size(m.text, plan, kv::KvType::Q8_0).chunk_ring_bytes);
}

TEST(Config, MaverickParameterCount) {
    const model::ModelConfig m = model::parse_model_config(load_config("maverick"));
    const model::LayerPlan plan = model::make_layer_plan(m.text);
    EXPECT_EQ(model::compute_model_size(m.text, plan).n_params_text, 400'711'848'960);
}

TEST(Rope, ScoutLlama3Bands) {
    // Spec §2.4: with theta 5e5, d 128, factor 16, low = high = 1, N 8192:
    // pairs 0..34 keep their frequency, 35..63 are divided by 16.
    model::TextConfig c = model::parse_model_config(load_config("scout")).text;
    const std::vector<float> inv = model::rope_inv_freq(c);
    c.rope_scaling.type = model::RopeType::Default;
    const std::vector<float> plain = model::rope_inv_freq(c);
    ASSERT_EQ(inv.size(), 64u);
    for (std::size_t j = 0; j < 64; ++j) {
        if (j <= 34) EXPECT_EQ(inv[j], plain[j]) << j;
        else EXPECT_FLOAT_EQ(inv[j], plain[j] / 16.0f) << j;
        EXPECT_TRUE(std::isfinite(inv[j]));
    }
    EXPECT_NEAR(2 * std::numbers::pi / plain[34], 6695, 1);
}

TEST(Rope, MediumBandBlends) {
    model::TextConfig c;
    c.head_dim = 24;
    c.rope_theta = 10000;
    c.rope_scaling = {model::RopeType::Llama3, 8.0f, 1.0f, 4.0f, 32};
    const std::vector<float> inv = model::rope_inv_freq(c);
    c.rope_scaling.type = model::RopeType::Default;
    const std::vector<float> plain = model::rope_inv_freq(c);
    int high = 0, medium = 0, low = 0;
    for (std::size_t j = 0; j < inv.size(); ++j) {
        const double wl = 2 * std::numbers::pi / plain[j];
        if (wl < 8) {
            EXPECT_EQ(inv[j], plain[j]);
            ++high;
        } else if (wl > 32) {
            EXPECT_FLOAT_EQ(inv[j], plain[j] / 8);
            ++low;
        } else {
            const double s = (32 / wl - 1) / (4 - 1);
            EXPECT_NEAR(inv[j], (1 - s) * plain[j] / 8 + s * plain[j], 1e-6 * plain[j]);
            ++medium;
        }
    }
    EXPECT_GT(high, 0);
    EXPECT_GT(medium, 0);
    EXPECT_GT(low, 0);
}

TEST(Rope, TemperatureSteps) {
    model::TextConfig c;  // defaults: attn_scale 0.1, floor 8192
    EXPECT_EQ(model::attn_temperature(c, 0), 1.0f);
    EXPECT_EQ(model::attn_temperature(c, 8190), 1.0f);
    EXPECT_NEAR(model::attn_temperature(c, 8191), 1.0 + 0.1 * std::log(2.0), 1e-6);
    EXPECT_NEAR(model::attn_temperature(c, 16383), 1.0 + 0.1 * std::log(3.0), 1e-6);
}

TEST(Config, RejectsInconsistentValues) {
    json j = load_config("scout");
    j["text_config"]["num_key_value_heads"] = 7;
    EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos);

    j = load_config("scout");
    j["text_config"]["no_rope_layers"] = json::array({1, 0, 1});
    EXPECT_NE(error_of(j).find("no_rope_layers has 3 entries"), std::string::npos);

    j = load_config("scout");
    j["text_config"]["hidden_size"] = "5120";
    EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos);

    j = load_config("scout");
    j["text_config"]["rope_scaling"] = json{{"rope_type", "yarn"}, {"factor", 4.0}};
    EXPECT_NE(error_of(j).find("yarn"), std::string::npos);

    j = load_config("scout");
    j["text_config"]["num_experts_per_tok"] = 17;
    EXPECT_NE(error_of(j).find("num_experts_per_tok"), std::string::npos);

    j = load_config("scout");
    j["model_type"] = "llama";
    j.erase("text_config");
    EXPECT_NE(error_of(j).find("not a Llama 4 model"), std::string::npos);

    j = load_config("scout");
    j["text_config"]["moe_layers"] = json::array({0, 48});
    EXPECT_NE(error_of(j).find("moe_layers names layer 48"), std::string::npos);
}

TEST(Config, AcceptsV5RopeParametersAndTextOnly) {
    json j = {{"model_type", "llama4_text"},
              {"num_hidden_layers", 2},
              {"hidden_size", 32},
              {"num_attention_heads", 2},
              {"head_dim", 16},
              {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1234.0}}},
              {"attention_chunk_size", nullptr},
              {"attn_temperature_tuning", 4}};
    const model::ModelConfig m = model::parse_model_config(j);
    EXPECT_FALSE(m.multimodal);
    EXPECT_EQ(m.text.rope_theta, 1234.0);
    EXPECT_EQ(m.text.rope_scaling.type, model::RopeType::Default);
    EXPECT_EQ(m.text.attention_chunk_size, 0);
    EXPECT_EQ(m.text.num_key_value_heads, 2);  // defaults to the head count
    EXPECT_TRUE(m.text.attn_temperature_tuning);
    const model::LayerPlan plan = model::make_layer_plan(m.text);
    EXPECT_EQ(plan.n_chunked(), 0);  // no chunk size -> every layer global
}
