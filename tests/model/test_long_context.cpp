// Scout's real long-context rules against Hugging Face transformers (issue 17): the fixture
// tiny_longctx_f32 (tools/reference/make_model_fixtures.py) is a tiny random-weight model with
// Scout's attention rules as shipped: chunk 8192, llama3 RoPE 16/1/1/8192 with theta 5e5,
// temperature tuning floor 8192 / scale 0.1 (the query factor steps from 1 to 1 + 0.1 ln 2 at
// position 8191), NoPE every 4th layer, qk-norm, GQA, a top-1 MoE layer and a dense one. Its one
// 12,000-token sequence has reference logits at 167 positions: 0-31, 8160-8239 (both sides of the
// chunk edge and of the temperature step), 11968-11999 and every 500th.
//
// Checked, with float32 KV, to the tolerance of the other float32 fixtures
// (max |Δlogit| <= 1e-4 · max(1, max |logit|)):
//   - one prefill of all 12,000 tokens at 2 threads (the backend splits it into passes of
//     max_batch_rows rows; also a pass size that does not divide the chunk, so that one pass
//     straddles the chunk edge);
//   - a session prefilled to 8,170 tokens, then decoded one token at a time to position 8,239, at
//     1 and 2 threads.
// Each prints its worst |Δlogit| / max(1, max |logit|). Release: about 3 s per test on 2 cores.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backend/factory.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "fixture.hpp"
#include "kv/kv_type.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

constexpr const char* kFixture = "tiny_longctx_f32";
constexpr int64_t kPrefillTo = 8170;     // the decode check's prompt: positions 0 .. 8169
constexpr int64_t kDecodeTo = 8240;      // then one token at a time: positions 8170 .. 8239
constexpr int64_t kTempStep = 8191;      // first position whose NoPE query factor is 1 + 0.1 ln 2
constexpr double kTolerance = 1e-4;      // relative to max(1, max |logit|), as the other f32 fixtures

struct Loaded {
    test::Fixture fx;
    std::unique_ptr<engine::Model> model;
    const test::LongLogitsCase* c = nullptr;
    NpyArray ref;        // [positions, vocab]
    double scale = 1.0;  // max(1, max |reference logit|)
};

// The fixture, loaded once for the whole program (nullptr when its files are absent).
const Loaded* loaded() {
    static const std::unique_ptr<Loaded> l = []() -> std::unique_ptr<Loaded> {
        if (!std::filesystem::exists(test::data_dir() / "models" / kFixture / "reference" / "cases.json")) return nullptr;
        auto p = std::make_unique<Loaded>();
        p->fx = test::load_fixture(kFixture);
        p->model = engine::load_model(p->fx.dir);
        if (p->fx.long_logits.empty()) return p;
        p->c = &p->fx.long_logits.front();
        p->ref = p->fx.load_logits(*p->c);
        p->scale = std::max(1.0, test::max_abs(p->ref.data));
        return p;
    }();
    return l.get();
}

// Worst |Δ| / scale over the stored positions in [from, to) whose logits `got` has: `got` holds
// rows for positions first .. first + rows - 1. Counts the positions compared.
struct Worst {
    double rel = 0;
    int64_t at = -1;
    int compared = 0;
};
Worst compare(const Loaded& l, std::span<const float> got, int64_t first, int64_t from, int64_t to) {
    const int64_t V = l.model->config.text.vocab_size;
    const int64_t rows = static_cast<int64_t>(got.size()) / V;
    Worst w;
    for (std::size_t i = 0; i < l.c->positions.size(); ++i) {
        const int64_t p = l.c->positions[i];
        if (p < from || p >= to || p < first || p >= first + rows) continue;
        const auto ours = got.subspan(static_cast<std::size_t>((p - first) * V), static_cast<std::size_t>(V));
        const auto want = std::span<const float>(l.ref.data).subspan(i * static_cast<std::size_t>(V), static_cast<std::size_t>(V));
        const double rel = test::max_abs_diff(ours, want) / l.scale;
        if (rel > w.rel || w.at < 0) w = {rel, p, w.compared};
        ++w.compared;
    }
    return w;
}

std::string report(const Worst& w) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2e (at %lld, %d positions)", w.rel, static_cast<long long>(w.at), w.compared);
    return buf;
}

class LongContext : public ::testing::Test {
protected:
    void SetUp() override {
        l_ = loaded();
        if (l_ == nullptr) SCOUT_SKIP_WITHOUT_DATA(std::string("no fixture tests/data/models/") + kFixture);
        ASSERT_NE(l_->c, nullptr) << kFixture << "'s cases.json has no long_logits case";
    }
    std::unique_ptr<backend::Forward> make(int threads, int64_t max_batch_rows = 512) const {
        return backend::make_forward(l_->model->config.text, l_->model->plan, l_->model->weights,
                                     backend::BackendOptions{.device = "cpu", .threads = threads, .kv_type = kv::KvType::F32,
                                                             .max_batch_rows = max_batch_rows});
    }
    const Loaded* l_ = nullptr;
};

// The fixture is what the test claims: Scout's rules, and reference rows on both sides of the edges.
TEST_F(LongContext, FixtureHasScoutsRulesAndSpansTheEdges) {
    const model::TextConfig& cfg = l_->model->config.text;
    const model::LayerPlan& plan = l_->model->plan;
    EXPECT_EQ(plan.chunk_size, 8192);
    EXPECT_EQ(cfg.rope_scaling.type, model::RopeType::Llama3);
    EXPECT_EQ(cfg.rope_scaling.factor, 16.0f);
    EXPECT_EQ(cfg.rope_scaling.original_max_position_embeddings, 8192);
    EXPECT_EQ(cfg.rope_theta, 500000.0);
    EXPECT_TRUE(cfg.attn_temperature_tuning);
    EXPECT_EQ(cfg.floor_scale, 8192.0);
    EXPECT_EQ(cfg.attn_scale, 0.1);
    ASSERT_EQ(plan.n_layers(), 4);
    for (int64_t il = 0; il < 4; ++il) {
        const model::LayerRule& r = plan.layers[static_cast<std::size_t>(il)];
        EXPECT_EQ(r.rope, il != 3) << il;
        EXPECT_EQ(r.chunked, il != 3) << il;
        EXPECT_EQ(r.qk_norm, il != 3) << il;
        EXPECT_EQ(r.temperature, il == 3) << il;
        EXPECT_EQ(r.moe, il % 2 == 1) << il;
    }
    EXPECT_LT(cfg.num_key_value_heads, cfg.num_attention_heads);
    EXPECT_EQ(cfg.num_experts_per_tok, 1);
    const auto& pos = l_->c->positions;
    EXPECT_EQ(l_->c->tokens.size(), 12000u);
    EXPECT_EQ(l_->c->compute_dtype, "float32");
    ASSERT_EQ(l_->ref.shape, (std::vector<int64_t>{static_cast<int64_t>(pos.size()), cfg.vocab_size}));
    EXPECT_TRUE(std::is_sorted(pos.begin(), pos.end()));
    EXPECT_LT(pos.back(), static_cast<int64_t>(l_->c->tokens.size()));
    for (int64_t p = kPrefillTo - 10; p < kDecodeTo; ++p)  // every position of the decode window
        EXPECT_TRUE(std::binary_search(pos.begin(), pos.end(), p)) << p;
    for (int64_t p : {int64_t{0}, kTempStep - 1, kTempStep, plan.chunk_size, int64_t{11999}})
        EXPECT_TRUE(std::binary_search(pos.begin(), pos.end(), p)) << p;
}

// (threads, rows per forward pass). 512 rows: the passes end at the chunk edge; 300: the pass of
// positions 8100-8399 holds queries on both sides of it. One thread is left to the decode test, whose
// 8,170-token prefill goes the same way: a 12,000-token prefill on one thread takes about 6 s.
class LongPrefill : public LongContext, public ::testing::WithParamInterface<std::pair<int, int64_t>> {};

TEST_P(LongPrefill, AllTwelveThousandTokensMatchTransformers) {
    const auto [threads, batch_rows] = GetParam();
    const auto fwd = make(threads, batch_rows);
    const auto kv = fwd->make_kv();
    std::vector<float> logits;
    fwd->forward(*kv, l_->c->tokens, true, logits);
    ASSERT_EQ(logits.size(), l_->c->tokens.size() * static_cast<std::size_t>(l_->model->config.text.vocab_size));
    const int64_t C = l_->model->plan.chunk_size;
    const Worst all = compare(*l_, logits, 0, 0, INT64_MAX);
    const Worst first = compare(*l_, logits, 0, 0, C - 64);
    const Worst edge = compare(*l_, logits, 0, C - 64, C + 64);
    const Worst last = compare(*l_, logits, 0, C + 64, INT64_MAX);
    EXPECT_EQ(all.compared, static_cast<int>(l_->c->positions.size()));
    EXPECT_GE(edge.compared, 64);  // 8160 .. 8239
    EXPECT_LE(all.rel, kTolerance) << "worst position " << all.at;
    std::printf("prefill 12000, %d thread(s), passes of %lld rows: max|d|/scale %s; before the edge %s, "
                "8128-8255 %s, after %s (scale %.3f)\n",
                threads, static_cast<long long>(batch_rows), report(all).c_str(), report(first).c_str(),
                report(edge).c_str(), report(last).c_str(), l_->scale);
    RecordProperty("max_rel", std::to_string(all.rel));
}

INSTANTIATE_TEST_SUITE_P(Threads, LongPrefill,
                         ::testing::Values(std::pair<int, int64_t>{2, 512}, std::pair<int, int64_t>{2, 300}),
                         [](const auto& info) {
                             return "threads" + std::to_string(info.param.first) + "_rows" + std::to_string(info.param.second);
                         });

class LongDecode : public LongContext, public ::testing::WithParamInterface<int> {};

// A session (the generation loop's path: prefill in pieces of prefill_batch, then one token per
// step through the KV cache) across the chunk edge and the temperature step.
TEST_P(LongDecode, StepsAcrossTheChunkEdgeMatchTransformers) {
    const int threads = GetParam();
    const auto fwd = make(threads);
    engine::Session session(*fwd, {.context_length = 12000, .prefill_batch = 512});
    const std::span<const int32_t> tokens(l_->c->tokens);
    const auto last = session.feed(tokens.first(static_cast<std::size_t>(kPrefillTo)));
    Worst w = compare(*l_, last, kPrefillTo - 1, 0, INT64_MAX);
    ASSERT_EQ(w.compared, 1);
    for (int64_t p = kPrefillTo; p < kDecodeTo; ++p) {
        const auto row = session.feed(tokens.subspan(static_cast<std::size_t>(p), 1));
        const Worst s = compare(*l_, row, p, 0, INT64_MAX);
        ASSERT_EQ(s.compared, 1) << p;
        EXPECT_LE(s.rel, kTolerance) << "decode step at position " << p;
        if (s.rel > w.rel) w.rel = s.rel, w.at = s.at;
        ++w.compared;
    }
    EXPECT_LE(w.rel, kTolerance) << "worst position " << w.at;
    EXPECT_EQ(session.n_past(), kDecodeTo);
    std::printf("prefill %lld + %lld decode steps, %d thread(s): max|d|/scale %s (scale %.3f)\n",
                static_cast<long long>(kPrefillTo), static_cast<long long>(kDecodeTo - kPrefillTo), threads,
                report(w).c_str(), l_->scale);
    RecordProperty("max_rel", std::to_string(w.rel));
}

INSTANTIATE_TEST_SUITE_P(Threads, LongDecode, ::testing::Values(1, 2),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

}  // namespace
}  // namespace scout
