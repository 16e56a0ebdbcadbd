// The text model against Hugging Face transformers on tiny random-weight checkpoints
// (fixtures made by tools/reference/make_model_fixtures.py), and cached decode against
// the full forward under several (prefill K, step N) splits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/forward_cpu.hpp"
#include "kv/kv_type.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "kv/kv_cache.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {

using test::max_abs;
using test::max_abs_diff;

// Runs `tokens` with the first K in one batch and the rest in pieces of N.
std::vector<float> run_split(const engine::Model& m, const std::vector<int32_t>& tokens, int64_t K, int64_t N,
                             int threads) {
        cpu::CpuForward fwd(m.config.text, m.plan, m.weights, backend::BackendOptions{.device = "cpu", .threads = threads, .kv_type = kv::KvType::F32});
    const auto kv_mem = fwd.make_kv();
    kv::KvMemory& kv = *kv_mem;
    std::vector<float> all, part;
    std::size_t done = 0;
    while (done < tokens.size()) {
        const std::size_t len = std::min<std::size_t>(done == 0 ? K : N, tokens.size() - done);
        fwd.forward(kv, std::span<const int32_t>(tokens).subspan(done, len), true, part);
        all.insert(all.end(), part.begin(), part.end());
        done += len;
    }
    return all;
}

class ReferenceLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceLogits, MatchesTransformers) {
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    int checked = 0;
    for (const auto& c : fx.logits) {
        if (c.has_pixels) continue;  // image inputs need the vision tower
        SCOPED_TRACE(c.file + " (" + std::to_string(c.tokens.size()) + " tokens, reference " + c.compute_dtype + ")");
        const std::vector<float> ours = run_split(*model, c.tokens, static_cast<int64_t>(c.tokens.size()), 1, 2);
        const NpyArray ref = fx.load_logits(c);
        ASSERT_EQ(ref.shape, (std::vector<int64_t>{static_cast<int64_t>(c.tokens.size()), model->config.text.vocab_size}));
        const double scale = std::max(1.0, max_abs(ref.data));
        const double err = max_abs_diff(ours, ref.data);
        if (c.compute_dtype == "float32") {
            // Every position: max |Δlogit| <= 1e-4 · max(1, max|logit|).
            EXPECT_LE(err, 1e-4 * scale) << "relative error " << err / scale;
        } else {
            // bf16 reference: transformers rounds activations to bf16 at every step; scout keeps
            // float32 activations. Tolerance: scout may be no farther from the bf16 reference than
            // transformers' own float32 run of the same weights is (plus 1e-4 · scale).
            const auto twin = std::find_if(fx.logits.begin(), fx.logits.end(), [&](const test::LogitsCase& o) {
                return o.tokens == c.tokens && o.compute_dtype == "float32";
            });
            ASSERT_NE(twin, fx.logits.end()) << "bf16 case without a float32 twin";
            const double ref_gap = max_abs_diff(fx.load_logits(*twin).data, ref.data);
            EXPECT_LE(err, 1.0 * ref_gap + 1e-4 * scale) << "reference f32-vs-bf16 gap " << ref_gap;
            RecordProperty("bf16_gap_" + c.file, std::to_string(err / scale));
        }
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST_P(ReferenceLogits, CachedDecodeEqualsFullForward) {
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    // The longest text sequence spans several chunks (chunk size 4 in every fixture).
    const test::LogitsCase* longest = nullptr;
    for (const auto& c : fx.logits)
        if (!c.has_pixels && (!longest || c.tokens.size() > longest->tokens.size())) longest = &c;
    ASSERT_NE(longest, nullptr);
    const auto& tokens = longest->tokens;
    const auto n = static_cast<int64_t>(tokens.size());
    ASSERT_GE(n, 3 * model->plan.chunk_size);
    const std::vector<float> full = run_split(*model, tokens, n, 1, 1);
    const double scale = std::max(1.0, max_abs(full));
    for (auto [K, N] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {3, 2}, {4, 4}, {5, 7}, {n - 1, 1}, {7, 5}}) {
        for (int threads : {1, 3}) {
            const std::vector<float> split = run_split(*model, tokens, K, N, threads);
            EXPECT_LE(max_abs_diff(split, full), 1e-5 * scale) << "prefill " << K << " step " << N << " threads " << threads;
        }
    }
}

TEST_P(ReferenceLogits, BatchedSequencesEqualSeparateRuns) {
    // Continuous batching: several sequences at different positions in one forward call give
    // the same logits as running each alone.
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    std::vector<const test::LogitsCase*> cases;
    for (const auto& c : fx.logits)
        if (!c.has_pixels && c.compute_dtype == "float32") cases.push_back(&c);
    ASSERT_GE(cases.size(), 3u);
        cpu::CpuForward fwd(model->config.text, model->plan, model->weights, backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
    const auto& cfg = model->config.text;
    // Each sequence is first prefilled alone with a different prefix length, then all continue together.
    std::vector<std::unique_ptr<kv::KvMemory>> kvs;
    std::vector<float> scratch;
    std::vector<backend::SequenceStep> steps;
    std::vector<std::size_t> prefix;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& toks = cases[i]->tokens;
        kvs.push_back(fwd.make_kv());
        const std::size_t p = std::min(toks.size() - 1, 2 * i);
        if (p > 0) fwd.forward(*kvs.back(), std::span<const int32_t>(toks).first(p), false, scratch);
        prefix.push_back(p);
        steps.push_back({kvs.back().get(), std::span<const int32_t>(toks).subspan(p), {}, {}, i % 2 == 0});
    }
    std::vector<float> batched;
    fwd.forward(steps, batched);
    std::size_t row = 0;
    const auto V = static_cast<std::size_t>(cfg.vocab_size);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const std::vector<float> alone = run_split(*model, cases[i]->tokens, static_cast<int64_t>(cases[i]->tokens.size()), 1, 2);
        const std::size_t n = cases[i]->tokens.size();
        const std::size_t first = steps[i].all_logits ? prefix[i] : n - 1;
        for (std::size_t t = first; t < n; ++t, ++row)
            for (std::size_t v = 0; v < V; ++v)
                ASSERT_NEAR(batched[row * V + v], alone[t * V + v], 1e-5 * std::max(1.0, max_abs(alone)))
                    << "sequence " << i << " position " << t;
    }
    EXPECT_EQ(row * V, batched.size());
}

TEST_P(ReferenceLogits, RewindRecomputesAtMostOneChunk) {
    // Prefix reuse: after a long sequence, rewind to every earlier length and continue with
    // the rest of the sequence; the logits must equal the full forward's.
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    const test::LogitsCase* longest = nullptr;
    for (const auto& c : fx.logits)
        if (!c.has_pixels && (!longest || c.tokens.size() > longest->tokens.size())) longest = &c;
    const auto& toks = longest->tokens;
    const auto n = static_cast<int64_t>(toks.size());
    const int64_t C = model->plan.chunk_size;
    const std::vector<float> full = run_split(*model, toks, n, 1, 1);
    const auto V = model->config.text.vocab_size;
        cpu::CpuForward fwd(model->config.text, model->plan, model->weights, backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
    std::vector<float> out;
    for (int64_t keep = 0; keep < n; ++keep) {
        const auto kv_mem = fwd.make_kv();
    kv::KvMemory& kv = *kv_mem;
        fwd.forward(kv, toks, false, out);
        const int64_t resume = kv.rewind(keep);
        EXPECT_LE(keep - resume, C - 1) << "keep " << keep;
        EXPECT_GE(resume, 0);
        if (keep % C == 0) {
            EXPECT_EQ(resume, keep);
        }
        fwd.forward(kv, std::span<const int32_t>(toks).subspan(static_cast<std::size_t>(resume)), true, out);
        for (int64_t t = resume; t < n; ++t)
            for (int64_t v = 0; v < V; ++v)
                ASSERT_NEAR(out[static_cast<std::size_t>((t - resume) * V + v)], full[static_cast<std::size_t>(t * V + v)],
                            1e-5 * std::max(1.0, max_abs(full)))
                    << "keep " << keep << " position " << t;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceLogits, ::testing::ValuesIn(test::fixture_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
