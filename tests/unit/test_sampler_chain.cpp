// The whole chain through Sampler: greedy, temperature -> 0, seeds, empirical distributions,
// the order of temperature vs the filters, log-probabilities, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.hpp"
#include "sample/rng.hpp"
#include "sample/sampler.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<int32_t> run(Sampler& sampler, const std::vector<float>& logits, int n,
                         bool feed_history) {
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(sampler.sample(logits, feed_history ? out : std::vector<int32_t>{}));
    }
    return out;
}

// Reference distribution in double: softmax(logits / temperature) over `allowed` ids only.
std::vector<double> expected_probs(const std::vector<float>& logits, double temperature,
                                   const std::vector<int32_t>& allowed) {
    std::vector<double> p(logits.size(), 0.0);
    double z = 0.0;
    for (int32_t id : allowed) z += p[id] = std::exp(logits[id] / temperature);
    for (double& x : p) x /= z;
    return p;
}

// Pearson chi-square of `draws` samples against `expected` (tokens with expected 0 must never
// appear: that is asserted, not folded into the statistic).
double chi_square(Sampler& sampler, const std::vector<float>& logits,
                  const std::vector<double>& expected, int draws) {
    std::vector<int> counts(logits.size(), 0);
    for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits, {})];
    double chi2 = 0.0;
    for (size_t t = 0; t < logits.size(); ++t) {
        if (expected[t] == 0.0) {
            EXPECT_EQ(counts[t], 0) << "token " << t << " should have been filtered out";
            continue;
        }
        const double e = expected[t] * draws;
        chi2 += (counts[t] - e) * (counts[t] - e) / e;
    }
    return chi2;
}

// Chi-square critical values at p = 0.001 by degrees of freedom.
constexpr double kChi2Df1 = 10.83, kChi2Df2 = 13.82, kChi2Df4 = 18.47;

const std::vector<float> kSmallLogits = {0.0f, 1.0f, 2.0f, -1.0f, 0.5f};

TEST(SamplerChain, EmpiricalDistributionMatchesSoftmax) {
    SamplingParams params;
    params.seed = 11;
    Sampler sampler(params);
    EXPECT_LT(chi_square(sampler, kSmallLogits, expected_probs(kSmallLogits, 1.0, {0, 1, 2, 3, 4}),
                         100000),
              kChi2Df4);
}

TEST(SamplerChain, ChiSquareHasPowerAgainstTheWrongTemperature) {
    // The same statistic must reject draws at T = 0.7 judged against T = 1: the test above
    // could fail.
    SamplingParams params;
    params.temperature = 0.7f;
    params.seed = 11;
    Sampler sampler(params);
    EXPECT_GT(chi_square(sampler, kSmallLogits, expected_probs(kSmallLogits, 1.0, {0, 1, 2, 3, 4}),
                         100000),
              1000.0);
}

TEST(SamplerChain, TopKWithTemperatureSamplesTheRenormalisedTopK) {
    SamplingParams params;
    params.temperature = 0.7f;
    params.top_k = 3;
    params.seed = 5;
    Sampler sampler(params);
    EXPECT_LT(chi_square(sampler, kSmallLogits, expected_probs(kSmallLogits, 0.7, {2, 1, 4}), 100000),
              kChi2Df2);
}

TEST(SamplerChain, TemperatureIsAppliedBeforeTopP) {
    // logits {2, 1, 0, -10}. At T = 1 the top token has p = 0.665 < 0.85, so top-p keeps two;
    // at T = 0.5 it has p = 0.867 >= 0.85, so top-p keeps one. HF order (temperature first)
    // must therefore always give token 0.
    const std::vector<float> logits = {2.0f, 1.0f, 0.0f, -10.0f};
    SamplingParams params;
    params.temperature = 0.5f;
    params.top_p = 0.85f;
    params.seed = 3;
    Sampler tempered(params);
    for (int32_t id : run(tempered, logits, 2000, false)) ASSERT_EQ(id, 0);
    // At T = 1 both survivors appear, in the ratio e : 1.
    params.temperature = 1.0f;
    Sampler plain(params);
    EXPECT_LT(chi_square(plain, logits, expected_probs(logits, 1.0, {0, 1}), 50000), kChi2Df1);
}

TEST(SamplerChain, TemperatureIsAppliedBeforeMinP) {
    // p1/p0 = e^-1 = 0.37 at T = 1 (kept by min_p 0.2), e^-2 = 0.14 at T = 0.5 (dropped).
    const std::vector<float> logits = {2.0f, 1.0f};
    SamplingParams params;
    params.temperature = 0.5f;
    params.min_p = 0.2f;
    params.seed = 4;
    Sampler tempered(params);
    for (int32_t id : run(tempered, logits, 2000, false)) ASSERT_EQ(id, 0);
    params.temperature = 1.0f;
    Sampler plain(params);
    EXPECT_LT(chi_square(plain, logits, expected_probs(logits, 1.0, {0, 1}), 50000), kChi2Df1);
}

TEST(SamplerChain, MinusInfinityTokensAreNeverSampled) {
    const std::vector<float> logits = {-kInf, 0.0f, -kInf, 0.0f};
    SamplingParams params;
    params.seed = 9;
    Sampler sampler(params);
    EXPECT_LT(chi_square(sampler, logits, expected_probs(logits, 1.0, {1, 3}), 20000), kChi2Df1);
}

TEST(SamplerChain, GoldenStreamIsTheSameOnEveryPlatform) {
    // Four equal logits: p = 0.25 exactly, so token = floor(4u) with u from xoshiro256**
    // seeded with 42 (sequence computed independently in Python). Pins RNG, unit-float
    // conversion and the inverse-CDF walk together.
    SamplingParams params;
    params.seed = 42;
    Sampler sampler(params);
    const std::vector<int32_t> expected = {0, 1, 2, 3, 3, 3, 2, 3, 3, 2, 2, 1, 3, 1, 2, 3};
    EXPECT_EQ(run(sampler, {0.0f, 0.0f, 0.0f, 0.0f}, 16, false), expected);
}

TEST(SamplerChain, SameSeedSameSequenceDifferentSeedDifferent) {
    std::vector<float> logits(50);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.05f * static_cast<float>(i % 7);
    SamplingParams params;
    params.temperature = 0.9f;
    params.top_k = 30;
    params.top_p = 0.95f;
    params.min_p = 0.01f;
    params.repetition_penalty = 1.1f;
    params.frequency_penalty = 0.2f;
    params.presence_penalty = 0.1f;
    params.seed = 1234;
    Sampler a(params), b(params);
    const auto seq_a = run(a, logits, 300, true);
    EXPECT_EQ(seq_a, run(b, logits, 300, true));
    a.reset(1234);
    EXPECT_EQ(seq_a, run(a, logits, 300, true));  // reset restarts the stream
    params.seed = 1235;
    Sampler c(params);
    EXPECT_NE(seq_a, run(c, logits, 300, true));
    a.reset(1235);
    EXPECT_NE(seq_a, run(a, logits, 300, true));
}

TEST(SamplerChain, GreedyIsArgmaxWithLowestIdOnTies) {
    SamplingParams params;
    params.temperature = 0.0f;
    params.top_k = 2;  // ignored when greedy
    Sampler sampler(params);
    EXPECT_EQ(sampler.sample(std::vector<float>{1.0f, 7.0f, 3.0f, 7.0f}, {}), 1);
    EXPECT_EQ(sampler.sample(std::vector<float>{-kInf, -3.0f, -kInf}, {}), 1);
}

TEST(SamplerChain, GreedySeesThePenalties) {
    const std::vector<float> logits = {5.0f, 4.9f};
    SamplingParams params;
    params.temperature = 0.0f;
    params.repetition_penalty = 1.1f;  // 5 / 1.1 = 4.55 < 4.9
    params.penalty_last_n = 1;
    Sampler sampler(params);
    EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0}), 1);
    EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 1}), 0);  // token 0 left the window
}

TEST(SamplerChain, TemperatureToZeroEqualsGreedy) {
    // Distinct logits 0.01 apart: at T = 1e-5 (just above the greedy threshold) every gap is
    // >= 1000 in tempered logits, so sampling, whatever the seed and filters, must pick the argmax.
    for (uint64_t trial = 0; trial < 30; ++trial) {
        const size_t n = 2000;
        std::vector<float> logits(n);
        Rng rng(test::test_seed() + trial);
        for (size_t i = 0; i < n; ++i) logits[i] = 0.01f * static_cast<float>(i);
        for (size_t i = n - 1; i > 0; --i) {  // Fisher-Yates with our RNG
            std::swap(logits[i], logits[rng.next_u64() % (i + 1)]);
        }
        std::vector<int32_t> history;
        for (int i = 0; i < 20; ++i) history.push_back(static_cast<int32_t>(rng.next_u64() % n));

        SamplingParams greedy;
        greedy.temperature = 0.0f;
        greedy.repetition_penalty = 1.3f;
        greedy.presence_penalty = 0.4f;
        SamplingParams cold = greedy;
        cold.temperature = 1e-5f;
        cold.top_k = 40;
        cold.top_p = 0.9f;
        cold.min_p = 0.05f;
        cold.seed = trial;
        Sampler g(greedy), c(cold);
        const int32_t expected = g.sample(logits, history);
        EXPECT_EQ(c.sample(logits, history), expected) << "trial " << trial;
        // And greedy is the argmax of the penalised logits.
        std::vector<float> penalised = logits;
        std::vector<int32_t> scratch;
        apply_penalties(penalised, history, greedy, scratch);
        EXPECT_EQ(expected, argmax(std::span<const float>(penalised)));
    }
}

TEST(SamplerChain, LogprobsAreUntruncatedPenalisedTemperatureOne) {
    std::vector<float> logits(100);
    Rng rng(77);
    for (float& x : logits) x = static_cast<float>(rng.next_unit() * 8.0 - 4.0);
    const std::vector<int32_t> history = {3, 5, 5};
    SamplingParams params;
    params.temperature = 0.7f;
    params.top_k = 5;
    params.repetition_penalty = 1.3f;
    params.seed = 8;

    // Reference: log-softmax in double of the penalised logits, no temperature, no truncation.
    std::vector<float> penalised = logits;
    std::vector<int32_t> scratch;
    apply_penalties(penalised, history, params, scratch);
    double z = 0.0;
    for (float x : penalised) z += std::exp(static_cast<double>(x));
    auto ref = [&](int32_t id) { return std::log(std::exp(static_cast<double>(penalised[id])) / z); };

    Sampler with(params), without(params);
    for (int step = 0; step < 20; ++step) {
        const SampleResult r = with.sample_with_logprobs(logits, history, 4);
        EXPECT_EQ(r.id, without.sample(logits, history));  // same token, same RNG use
        EXPECT_NEAR(r.logprob, ref(r.id), 1e-5);
        ASSERT_EQ(r.top_logprobs.size(), 4u);
        std::vector<int32_t> order(logits.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
        std::sort(order.begin(), order.end(),
                  [&](int32_t a, int32_t b) { return penalised[a] > penalised[b]; });
        for (size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(r.top_logprobs[i].first, order[i]);
            EXPECT_NEAR(r.top_logprobs[i].second, ref(order[i]), 1e-5);
        }
    }
    // n_top clamps to the vocabulary; the probabilities then sum to 1.
    const SampleResult all = with.sample_with_logprobs(logits, history, 1000);
    ASSERT_EQ(all.top_logprobs.size(), logits.size());
    double total = 0.0;
    for (const auto& [id, lp] : all.top_logprobs) total += std::exp(static_cast<double>(lp));
    EXPECT_NEAR(total, 1.0, 1e-5);
    EXPECT_TRUE(with.sample_with_logprobs(logits, history, 0).top_logprobs.empty());
    EXPECT_THROW(with.sample_with_logprobs(logits, history, -1), Error);
}

TEST(SamplerChain, BadInputIsAnError) {
    SamplingParams params;
    params.repetition_penalty = 1.2f;
    Sampler sampler(params);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(sampler.sample(std::span<const float>{}, {}), Error);
    EXPECT_THROW(sampler.sample(std::vector<float>{0.0f, nan}, {}), Error);
    EXPECT_THROW(sampler.sample(std::vector<float>{0.0f, kInf}, {}), Error);
    EXPECT_THROW(sampler.sample(std::vector<float>{-kInf, -kInf}, {}), Error);
    // History from a larger vocabulary than the logits: size mismatch.
    EXPECT_THROW(sampler.sample(std::vector<float>{0.0f, 1.0f}, std::vector<int32_t>{2}), Error);
    // Greedy checks the same things.
    params.temperature = 0.0f;
    Sampler greedy(params);
    EXPECT_THROW(greedy.sample(std::vector<float>{nan, 1.0f}, {}), Error);
    EXPECT_THROW(greedy.sample(std::span<const float>{}, {}), Error);
}

TEST(SamplerChain, OutOfRangeParamsAreRejected) {
    auto rejects = [](auto mutate) {
        SamplingParams p;
        mutate(p);
        EXPECT_THROW(Sampler{p}, Error);
    };
    rejects([](SamplingParams& p) { p.temperature = -0.1f; });
    rejects([](SamplingParams& p) { p.temperature = std::numeric_limits<float>::quiet_NaN(); });
    rejects([](SamplingParams& p) { p.top_k = -1; });
    rejects([](SamplingParams& p) { p.top_p = 0.0f; });
    rejects([](SamplingParams& p) { p.top_p = 1.5f; });
    rejects([](SamplingParams& p) { p.min_p = -0.5f; });
    rejects([](SamplingParams& p) { p.min_p = 2.0f; });
    rejects([](SamplingParams& p) { p.repetition_penalty = 0.0f; });
    rejects([](SamplingParams& p) { p.frequency_penalty = kInf; });
    rejects([](SamplingParams& p) { p.presence_penalty = std::numeric_limits<float>::quiet_NaN(); });
    rejects([](SamplingParams& p) { p.penalty_last_n = -2; });
    EXPECT_NO_THROW(Sampler{SamplingParams{}});
}

}  // namespace
}  // namespace scout
