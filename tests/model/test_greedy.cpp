// Greedy continuation equals transformers' greedy generation token for token
// (fixtures: 40 new tokens from prompts of 5 and 11 tokens, chunk size 4, so the
// continuation crosses about ten chunk boundaries).
#include <gtest/gtest.h>

#include "backend/factory.hpp"
#include "engine/generate.hpp"
#include "engine/model.hpp"
#include "base/error.hpp"
#include "fixture.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {

class GreedyGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(GreedyGoldens, MatchesTransformersGenerate) {
    const test::Fixture fx = test::load_fixture(GetParam());
    if (fx.greedy.empty()) GTEST_SKIP() << "fixture has no greedy goldens";
    const auto model = engine::load_model(fx.dir);
    for (int64_t prefill_batch : {512, 3}) {
                const std::unique_ptr<backend::Forward> fwd_ptr = backend::make_forward(model->config.text, model->plan, model->weights, backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
        backend::Forward& fwd = *fwd_ptr;
        for (const auto& g : fx.greedy) {
            engine::Session session(fwd, {.context_length = 256, .prefill_batch = prefill_batch});
            SamplingParams params;
            params.temperature = 0.0f;
            Sampler sampler(params);
            engine::GenerateOptions opt;
            opt.max_new_tokens = static_cast<int64_t>(g.output.size());
            const auto result = engine::generate(session, sampler, nullptr, g.prompt, opt);
            EXPECT_EQ(result.tokens, g.output) << "prompt of " << g.prompt.size() << " tokens, prefill batch "
                                               << prefill_batch;
            EXPECT_EQ(result.reason, engine::StopReason::max_tokens);
            ASSERT_GE(g.output.size(), 32u);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GreedyGoldens, ::testing::ValuesIn(test::fixture_names()),
                         [](const auto& info) { return info.param; });

TEST(Generate, StopTokenAndContextLimit) {
    const auto model = engine::load_model(test::data_dir() / "models" / "tiny_text_f32");
    const test::Fixture fx = test::load_fixture("tiny_text_f32");
    const auto& g = fx.greedy.front();
        const std::unique_ptr<backend::Forward> fwd_ptr = backend::make_forward(model->config.text, model->plan, model->weights, backend::BackendOptions{.device = "cpu", .threads = 1, .kv_type = kv::KvType::F32});
        backend::Forward& fwd = *fwd_ptr;
    SamplingParams params;
    params.temperature = 0.0f;
    {
        // The 4th greedy token declared a stop token: generation ends right there, including it.
        engine::Session session(fwd);
        Sampler sampler(params);
        engine::GenerateOptions opt;
        opt.max_new_tokens = 40;
        opt.stop_tokens = {g.output[3]};
        const auto r = engine::generate(session, sampler, nullptr, g.prompt, opt);
        const auto first = std::find(g.output.begin(), g.output.end(), g.output[3]);
        EXPECT_EQ(r.tokens, std::vector<int32_t>(g.output.begin(), first + 1));
        EXPECT_EQ(r.reason, engine::StopReason::stop_token);
    }
    {
        // A context of prompt + 6 positions: 7 tokens come out (the last needs no position), then it stops.
        const auto ctx = static_cast<int64_t>(g.prompt.size()) + 6;
        engine::Session session(fwd, {.context_length = ctx});
        Sampler sampler(params);
        engine::GenerateOptions opt;
        opt.max_new_tokens = 40;
        const auto r = engine::generate(session, sampler, nullptr, g.prompt, opt);
        EXPECT_EQ(r.reason, engine::StopReason::context_full);
        EXPECT_EQ(r.tokens, std::vector<int32_t>(g.output.begin(), g.output.begin() + 7));
    }
    {
        engine::Session session(fwd, {.context_length = 3});
        Sampler sampler(params);
        EXPECT_THROW(engine::generate(session, sampler, nullptr, g.prompt, {}), Error);
    }
}

}  // namespace
