// Each pure sampling step against its definition (docs/sampling.md), with boundary cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

#include "base/error.hpp"
#include "sample/rng.hpp"
#include "sample/steps.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<Candidate> from_logits(const std::vector<float>& logits) {
    std::vector<Candidate> c(logits.size());
    fill_candidates(logits, 1.0f, c);
    return c;
}

// Candidates with given probabilities (logit unused by the p-based filters).
std::vector<Candidate> from_probs(const std::vector<float>& probs) {
    std::vector<Candidate> c;
    for (size_t i = 0; i < probs.size(); ++i) {
        c.push_back({static_cast<int32_t>(i), std::log(probs[i]), probs[i]});
    }
    return c;
}

std::vector<int32_t> ids_of(std::span<const Candidate> c) {
    std::vector<int32_t> ids;
    for (const Candidate& x : c) ids.push_back(x.id);
    return ids;
}

std::vector<float> random_logits(size_t n, uint64_t seed, float scale) {
    Rng rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>((rng.next_unit() * 2.0 - 1.0) * scale);
    return v;
}

// ---------------------------------------------------------------- top-k

TEST(SamplerTopK, KeepsExactlyTheKHighestSortedDescending) {
    const std::vector<float> logits = random_logits(1000, 1, 10.0f);
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    for (int k : {1, 2, 10, 64, 999}) {
        auto c = from_logits(logits);
        const auto kept = top_k_filter(c, k);
        ASSERT_EQ(kept.size(), static_cast<size_t>(k));
        EXPECT_EQ(ids_of(kept), std::vector<int32_t>(order.begin(), order.begin() + k)) << "k=" << k;
    }
}

TEST(SamplerTopK, TiesAtTheKthValueKeepTheLowerIds) {
    auto c = from_logits({1.0f, 3.0f, 3.0f, 2.0f, 3.0f});
    EXPECT_EQ(ids_of(top_k_filter(c, 2)), (std::vector<int32_t>{1, 2}));
    c = from_logits({1.0f, 3.0f, 3.0f, 2.0f, 3.0f});
    EXPECT_EQ(ids_of(top_k_filter(c, 3)), (std::vector<int32_t>{1, 2, 4}));
    c = from_logits({1.0f, 3.0f, 3.0f, 2.0f, 3.0f});
    EXPECT_EQ(ids_of(top_k_filter(c, 4)), (std::vector<int32_t>{1, 2, 4, 3}));
}

TEST(SamplerTopK, OffWhenZeroOrAtLeastVocab) {
    auto c = from_logits({1.0f, 3.0f, 2.0f});
    EXPECT_EQ(ids_of(top_k_filter(c, 0)), (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(ids_of(top_k_filter(c, 3)), (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(ids_of(top_k_filter(c, 50)), (std::vector<int32_t>{0, 1, 2}));
}

// ---------------------------------------------------------------- top-p

TEST(SamplerTopP, ExactMassBoundaryKeepsTheSetThatReachesIt) {
    // Dyadic probabilities: every partial sum is exact, so the boundary is really exact.
    const std::vector<float> probs = {0.125f, 0.5f, 0.125f, 0.25f};
    auto kept_for = [&](float top_p) {
        auto c = from_probs(probs);
        return ids_of(top_p_filter(c, top_p));
    };
    EXPECT_EQ(kept_for(0.5f), (std::vector<int32_t>{1}));         // 0.5 >= 0.5: one token
    EXPECT_EQ(kept_for(0.75f), (std::vector<int32_t>{1, 3}));     // 0.75 exactly
    EXPECT_EQ(kept_for(std::nextafter(0.75f, 1.0f)), (std::vector<int32_t>{0, 1, 3}));
    EXPECT_EQ(kept_for(std::nextafter(0.5f, 0.0f)), (std::vector<int32_t>{1}));
    EXPECT_EQ(kept_for(std::nextafter(0.5f, 1.0f)), (std::vector<int32_t>{1, 3}));
    EXPECT_EQ(kept_for(0.875f), (std::vector<int32_t>{0, 1, 3}));  // tie 0 vs 2: lower id
    EXPECT_EQ(kept_for(0.9f), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(SamplerTopP, TiesAreSplitByIdKeepingOnlyWhatTheMassNeeds) {
    auto c = from_probs({0.25f, 0.25f, 0.25f, 0.25f});
    EXPECT_EQ(ids_of(top_p_filter(c, 0.5f)), (std::vector<int32_t>{0, 1}));
    c = from_probs({0.25f, 0.25f, 0.25f, 0.25f});
    EXPECT_EQ(ids_of(top_p_filter(c, 0.6f)), (std::vector<int32_t>{0, 1, 2}));
    // Ties below a larger token: 0.5 plus one of the 0.125s reaches 0.6.
    c = from_probs({0.125f, 0.125f, 0.5f, 0.125f, 0.125f});
    EXPECT_EQ(ids_of(top_p_filter(c, 0.6f)), (std::vector<int32_t>{0, 2}));
    // A list in another order (as after top-k) splits ties in that order.
    std::vector<Candidate> reordered = {{4, 0, 0.25f}, {2, 0, 0.5f}, {0, 0, 0.25f}};
    EXPECT_EQ(ids_of(top_p_filter(reordered, 0.7f)), (std::vector<int32_t>{4, 2}));
}

TEST(SamplerTopP, AlwaysKeepsTheMostLikelyAndIsOffAtOne) {
    auto c = from_probs({0.2f, 0.7f, 0.1f});
    EXPECT_EQ(ids_of(top_p_filter(c, 1e-9f)), (std::vector<int32_t>{1}));
    c = from_probs({0.2f, 0.7f, 0.1f});
    EXPECT_EQ(ids_of(top_p_filter(c, 1.0f)), (std::vector<int32_t>{0, 1, 2}));
}

// The defining property on many random distributions, peaked and flat, big enough that the
// radix select's digits matter: the kept set holds the most likely tokens, reaches the mass,
// dropping its least likely member would not, and list order is kept.
TEST(SamplerTopP, KeepsTheSmallestHighestSetReachingTheMass) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
        const size_t n = 3000 + seed * 7;
        // Flat-ish distribution (scale 3) so the kept set spans hundreds of tokens.
        // Scales from flat (kept set spans thousands of tokens) to peaked (a handful).
        auto c = from_logits(random_logits(n, test::test_seed() + seed + 100, 1.0f + 2.0f * static_cast<float>(seed)));
        softmax(c);
        const std::vector<Candidate> all = c;
        for (float top_p : {0.05f, 0.5f, 0.9f, 0.99f}) {
            c = all;
            const auto kept = top_p_filter(c, top_p);
            ASSERT_FALSE(kept.empty());
            double total = 0.0, mass = 0.0;
            for (const Candidate& a : all) total += a.p;
            for (const Candidate& k : kept) mass += k.p;
            const double target = static_cast<double>(top_p) * total;  // total is 1 up to rounding
            // Summation order differs from the filter's, hence the rounding-level slack.
            EXPECT_GE(mass, target - 1e-12);
            float p_min = 1.0f;
            for (const Candidate& k : kept) p_min = std::min(p_min, k.p);
            EXPECT_LT(mass - p_min, target + 1e-12);
            // Every dropped token is no more likely than the least likely kept one.
            std::set<int32_t> kept_ids;
            for (const Candidate& k : kept) kept_ids.insert(k.id);
            for (const Candidate& a : all) {
                if (!kept_ids.count(a.id)) {
                    ASSERT_LE(a.p, p_min);
                }
            }
            const auto ids = ids_of(kept);
            EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));  // id order in, id order out
        }
    }
}

// Against a brute-force reference (stable sort by p, walk until the mass is reached) on
// distributions full of exact ties: logits on a 0.5 grid give many equal probabilities.
TEST(SamplerTopP, MatchesSortAndWalkReferenceWithManyTies) {
    for (uint64_t seed = 0; seed < 30; ++seed) {
        Rng rng(test::test_seed() + seed);
        const size_t n = 500 + seed * 37;
        std::vector<float> logits(n);
        for (float& x : logits) x = 0.5f * static_cast<float>(rng.next_u64() % 21) - 5.0f;
        auto all = from_logits(logits);
        softmax(all);
        double total = 0.0;
        for (const Candidate& a : all) total += a.p;
        for (float top_p : {0.1f, 0.3f, 0.7f, 0.95f}) {
            std::vector<size_t> order(n);
            std::iota(order.begin(), order.end(), size_t{0});
            std::stable_sort(order.begin(), order.end(),
                             [&](size_t a, size_t b) { return all[a].p > all[b].p; });
            std::vector<int32_t> expected;
            double mass = 0.0;
            for (size_t i : order) {
                expected.push_back(all[i].id);
                mass += all[i].p;
                if (mass >= top_p * total) break;
            }
            std::sort(expected.begin(), expected.end());
            auto c = all;
            EXPECT_EQ(ids_of(top_p_filter(c, top_p)), expected) << "seed " << seed << " top_p " << top_p;
        }
    }
}

// ---------------------------------------------------------------- min-p

TEST(SamplerMinP, KeepsExactlyTokensAtOrAboveTheScaledMax) {
    // p_max = 0.5; min_p = 0.25 -> cutoff 0.125 (exact): 0.125 is kept, 0.0625 is not.
    auto c = from_probs({0.0625f, 0.5f, 0.125f, 0.25f, 0.0625f});
    EXPECT_EQ(ids_of(min_p_filter(c, 0.25f)), (std::vector<int32_t>{1, 2, 3}));  // order kept
    c = from_probs({0.0625f, 0.5f, 0.125f, 0.25f, 0.0625f});
    EXPECT_EQ(ids_of(min_p_filter(c, std::nextafter(0.25f, 1.0f))), (std::vector<int32_t>{1, 3}));
    c = from_probs({0.0625f, 0.5f, 0.125f, 0.25f, 0.0625f});
    EXPECT_EQ(ids_of(min_p_filter(c, 0.0f)).size(), 5u);
}

TEST(SamplerMinP, OneKeepsOnlyTheMaxIncludingTies) {
    auto c = from_probs({0.3f, 0.1f, 0.3f, 0.3f});
    EXPECT_EQ(ids_of(min_p_filter(c, 1.0f)), (std::vector<int32_t>{0, 2, 3}));
}

TEST(SamplerMinP, CutoffIsRelativeSoNormalisationDoesNotMatter) {
    // Same ratios, total mass 0.5 instead of 1 (as after an earlier filter): same kept set.
    auto c = from_probs({0.03125f, 0.25f, 0.0625f, 0.125f});
    EXPECT_EQ(ids_of(min_p_filter(c, 0.25f)), (std::vector<int32_t>{1, 2, 3}));
}

// ---------------------------------------------------------------- penalties

TEST(SamplerPenalties, ApplyToExactlyTheWindowTokensWithTheRightAmounts) {
    const std::vector<float> original = {2.0f, -2.0f, 0.0f, 1.0f, 4.0f, -1.0f, 3.0f, 0.5f};
    std::vector<float> logits = original;
    const std::vector<int32_t> history = {7, 1, 1, 4, 0, 4, 4, 2};
    SamplingParams params;
    params.repetition_penalty = 2.0f;
    params.frequency_penalty = 0.5f;
    params.presence_penalty = 0.25f;
    params.penalty_last_n = 5;  // window {4, 0, 4, 4, 2}: counts 4:3, 0:1, 2:1
    std::vector<int32_t> scratch;
    apply_penalties(logits, history, params, scratch);
    std::vector<float> expected = original;
    expected[4] = 4.0f / 2.0f - (0.5f * 3 + 0.25f);   // divided once although seen 3 times
    expected[0] = 2.0f / 2.0f - (0.5f * 1 + 0.25f);
    expected[2] = 0.0f * 2.0f - (0.5f * 1 + 0.25f);   // zero: repetition leaves it at 0
    // 7 and 1 are in the history but outside the window: untouched, as are 3, 5, 6.
    EXPECT_EQ(logits, expected);
}

TEST(SamplerPenalties, NegativeLogitsAreMultipliedAndWholeHistoryWindow) {
    std::vector<float> logits = {2.0f, -2.0f, 1.0f};
    const std::vector<int32_t> history = {1, 0, 1};
    SamplingParams params;
    params.repetition_penalty = 1.5f;
    params.frequency_penalty = 1.0f;
    params.penalty_last_n = -1;
    std::vector<int32_t> scratch;
    apply_penalties(logits, history, params, scratch);
    EXPECT_EQ(logits, (std::vector<float>{2.0f / 1.5f - 1.0f, -2.0f * 1.5f - 2.0f, 1.0f}));
}

TEST(SamplerPenalties, WindowLongerThanHistoryAndZeroWindow) {
    std::vector<float> logits = {1.0f, 1.0f};
    SamplingParams params;
    params.presence_penalty = 0.5f;
    params.penalty_last_n = 100;
    std::vector<int32_t> scratch;
    const std::vector<int32_t> history = {1, 1};
    apply_penalties(logits, history, params, scratch);
    EXPECT_EQ(logits, (std::vector<float>{1.0f, 0.5f}));  // presence: once, not per count
    params.penalty_last_n = 0;  // off
    apply_penalties(logits, history, params, scratch);
    EXPECT_EQ(logits, (std::vector<float>{1.0f, 0.5f}));
}

TEST(SamplerPenalties, OutOfVocabTokenInWindowIsAnError) {
    std::vector<float> logits = {1.0f, 1.0f, 1.0f};
    SamplingParams params;
    params.repetition_penalty = 1.2f;
    params.penalty_last_n = 2;
    std::vector<int32_t> scratch;
    EXPECT_THROW(apply_penalties(logits, std::vector<int32_t>{0, 3}, params, scratch), Error);
    EXPECT_THROW(apply_penalties(logits, std::vector<int32_t>{-1, 0}, params, scratch), Error);
    // Outside the window it is not looked at (the window is all the step reads).
    EXPECT_NO_THROW(apply_penalties(logits, std::vector<int32_t>{99, 0, 1}, params, scratch));
}

// ---------------------------------------------------------------- softmax, argmax, draw, checks

TEST(SamplerSoftmax, MatchesDoublePrecisionReferenceAndHandlesInfAndLargeValues) {
    const std::vector<float> logits = {1000.0f, 999.0f, -kInf, 998.5f};
    auto c = from_logits(logits);
    softmax(c);
    const double e1 = std::exp(-1.0), e15 = std::exp(-1.5), z = 1.0 + e1 + e15;
    EXPECT_NEAR(c[0].p, 1.0 / z, 1e-6);
    EXPECT_NEAR(c[1].p, e1 / z, 1e-6);
    EXPECT_EQ(c[2].p, 0.0f);
    EXPECT_NEAR(c[3].p, e15 / z, 1e-6);
    EXPECT_THROW(softmax(std::span<Candidate>{}), Error);
}

TEST(SamplerArgmax, LowestIdWinsTies) {
    const std::vector<float> logits = {1.0f, 5.0f, 2.0f, 5.0f};
    EXPECT_EQ(argmax(std::span<const float>(logits)), 1);
    // Candidate version, list not in id order.
    const std::vector<Candidate> c = {{3, 5.0f, 0}, {0, 1.0f, 0}, {1, 5.0f, 0}};
    EXPECT_EQ(argmax(std::span<const Candidate>(c)), 1);
    EXPECT_THROW(argmax(std::span<const float>{}), Error);
}

TEST(SamplerArgmax, MatchesFirstMaxElementAcrossLanesAndTail) {
    // Values from a 5-value alphabet: the maximum repeats at many positions, across the
    // eight interleaved lanes and the tail; the answer must be its first position.
    for (size_t n = 1; n <= 70; ++n) {
        for (uint64_t seed = 0; seed < 8; ++seed) {
            Rng rng(test::test_seed() + seed * 1000 + n);
            std::vector<float> v(n);
            for (float& x : v) x = static_cast<float>(rng.next_u64() % 5);
            if (seed == 0) std::fill(v.begin(), v.end(), -kInf);  // all -inf: index 0
            const auto expected = static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
            ASSERT_EQ(argmax(std::span<const float>(v)), expected) << "n " << n << " seed " << seed;
        }
    }
}

TEST(SamplerDraw, InverseCdfAndZeroProbabilityNeverChosen) {
    const std::vector<Candidate> c = {{0, 0, 0.0f}, {1, 0, 0.5f}, {2, 0, 0.0f}, {3, 0, 0.5f}, {4, 0, 0.0f}};
    EXPECT_EQ(draw(c, 0.0), 1);
    EXPECT_EQ(draw(c, 0.4999), 1);
    EXPECT_EQ(draw(c, 0.5), 3);
    EXPECT_EQ(draw(c, std::nextafter(1.0, 0.0)), 3);
    EXPECT_THROW(draw(c, 1.0), Error);
    EXPECT_THROW(draw(c, -0.1), Error);
    EXPECT_THROW(draw(std::span<const Candidate>{}, 0.5), Error);
    const std::vector<Candidate> zero = {{0, 0, 0.0f}};
    EXPECT_THROW(draw(zero, 0.5), Error);
    // Unnormalised mass is scaled by its total.
    const std::vector<Candidate> half = {{7, 0, 0.125f}, {9, 0, 0.375f}};
    EXPECT_EQ(draw(half, 0.24), 7);
    EXPECT_EQ(draw(half, 0.26), 9);
}

TEST(SamplerCheckLogits, RejectsNanPlusInfEmptyAndAllMinusInf) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(check_logits(std::vector<float>{1.0f, nan}), Error);
    EXPECT_THROW(check_logits(std::vector<float>{kInf, 1.0f}), Error);
    EXPECT_THROW(check_logits(std::vector<float>{-kInf, -kInf}), Error);
    EXPECT_THROW(check_logits(std::span<const float>{}), Error);
    EXPECT_NO_THROW(check_logits(std::vector<float>{-kInf, 0.0f, -kInf}));
}

TEST(SamplerFillCandidates, DividesByTemperatureAndChecksSizes) {
    const std::vector<float> logits = {1.0f, -3.0f, 0.3f};
    std::vector<Candidate> c(3);
    fill_candidates(logits, 0.6f, c);
    for (int32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(c[i].id, i);
        EXPECT_EQ(c[i].logit, logits[i] / 0.6f);  // a division, bit for bit, as HF
    }
    std::vector<Candidate> wrong(2);
    EXPECT_THROW(fill_candidates(logits, 1.0f, wrong), Error);
    EXPECT_THROW(fill_candidates(logits, 0.0f, c), Error);
}

}  // namespace
}  // namespace scout
