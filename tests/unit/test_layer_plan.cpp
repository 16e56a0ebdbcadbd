// model/layer_plan: the per-layer rules for the real Scout and Maverick configs and edge cases.
#include <gtest/gtest.h>

#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {
model::LayerPlan plan_of(const char* name) {
    const auto j = io::read_json_file(test::data_dir() / "configs" / name / "config.json");
    return model::make_layer_plan(model::parse_model_config(j).text);
}
}  // namespace

TEST(LayerPlan, Scout) {
    const model::LayerPlan p = plan_of("scout");
    EXPECT_EQ(p.n_layers(), 48);
    EXPECT_EQ(p.n_chunked(), 36);
    EXPECT_EQ(p.n_global(), 12);
    EXPECT_EQ(p.n_moe(), 48);
    EXPECT_EQ(p.n_dense(), 0);
    EXPECT_EQ(p.chunk_size, 8192);
    for (int il = 0; il < 48; ++il) {
        const auto& r = p.layers[static_cast<std::size_t>(il)];
        const bool nope = (il + 1) % 4 == 0;  // layers 3, 7, ..., 47
        EXPECT_EQ(r.rope, !nope) << il;
        EXPECT_EQ(r.chunked, !nope) << il;
        EXPECT_EQ(r.qk_norm, !nope) << il;
        EXPECT_EQ(r.temperature, nope) << il;
        EXPECT_TRUE(r.moe) << il;
    }
}

TEST(LayerPlan, Maverick) {
    const model::LayerPlan p = plan_of("maverick");
    EXPECT_EQ(p.n_layers(), 48);
    EXPECT_EQ(p.n_chunked(), 36);
    EXPECT_EQ(p.n_global(), 12);
    EXPECT_EQ(p.n_moe(), 24);
    EXPECT_EQ(p.n_dense(), 24);
    for (int il = 0; il < 48; ++il) {
        const auto& r = p.layers[static_cast<std::size_t>(il)];
        EXPECT_FALSE(r.qk_norm) << il;            // use_qk_norm = false
        EXPECT_EQ(r.moe, il % 2 == 1) << il;      // interleave step 2: odd layers MoE
    }
}

TEST(LayerPlan, ExplicitListsAndLayerTypes) {
    model::TextConfig c;
    c.num_hidden_layers = 4;
    c.no_rope_layers = {1, 1, 0, 1};
    c.moe_layers = std::vector<int64_t>{1, 3};
    c.use_qk_norm = true;
    model::LayerPlan p = model::make_layer_plan(c);
    EXPECT_EQ(p.n_rope(), 3);
    EXPECT_FALSE(p.layers[2].chunked);
    EXPECT_TRUE(p.layers[2].temperature);
    EXPECT_FALSE(p.layers[2].qk_norm);
    EXPECT_FALSE(p.layers[0].moe);
    EXPECT_TRUE(p.layers[3].moe);
    // layer_types (transformers v5) decides the mask when present.
    c.layer_types = {"full_attention", "chunked_attention", "full_attention", "chunked_attention"};
    p = model::make_layer_plan(c);
    EXPECT_FALSE(p.layers[0].chunked);
    EXPECT_TRUE(p.layers[0].rope);
    // Interval default with an empty list means "derive", not "no RoPE anywhere".
    c.layer_types.clear();
    c.no_rope_layers.clear();
    c.no_rope_layer_interval = 2;
    p = model::make_layer_plan(c);
    EXPECT_TRUE(p.layers[0].rope);
    EXPECT_FALSE(p.layers[1].rope);
    EXPECT_TRUE(p.layers[2].rope);
    EXPECT_FALSE(p.layers[3].rope);
}

TEST(LayerPlan, FormatListsEveryLayer) {
    const std::string table = model::format_layer_plan(plan_of("scout"));
    EXPECT_NE(table.find("   47  nope  global"), std::string::npos);
    EXPECT_NE(table.find("    0  rope  chunked    yes      no    moe"), std::string::npos);
}
