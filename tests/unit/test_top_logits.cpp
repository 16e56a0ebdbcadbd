// Sampling from a row's top logits (what a GPU backend returns instead of the whole row): the
// host selection backend::top_logits_of against a plain full sort, and Sampler::sample_from_top
// against Sampler::sample on the whole row, draw for draw, for every parameter set it accepts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "backend/forward.hpp"
#include "base/error.hpp"
#include "sample/sampler.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows with ties (values from a small set), -inf, both zeros, and one wide random row.
std::vector<float> test_rows(std::mt19937_64& rng, int64_t rows, int64_t V) {
    std::vector<float> x(static_cast<std::size_t>(rows * V));
    std::uniform_int_distribution<int> small(-3, 3);
    std::normal_distribution<float> wide(0.0f, 4.0f);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < V; ++i) {
            float& v = x[static_cast<std::size_t>(r * V + i)];
            switch (r % 3) {
                case 0: v = static_cast<float>(small(rng)) * 0.5f; break;  // many ties
                case 1: v = i % 5 == 0 ? -kInf : (i % 7 == 0 ? -0.0f : (i % 11 == 0 ? 0.0f : wide(rng))); break;
                default: v = wide(rng); break;
            }
        }
    return x;
}

TEST(TopLogits, EqualsTheHeadOfAFullSort) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t rows = 6, V = 1000;
    const std::vector<float> x = test_rows(rng, rows, V);
    for (int k : {1, 7, 64, 1500}) {
        backend::TopLogits top;
        backend::top_logits_of(x, rows, V, k, top);
        const int kk = std::min<int>(k, static_cast<int>(V));
        ASSERT_EQ(top.k, kk);
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<int32_t> order(static_cast<std::size_t>(V));
            std::iota(order.begin(), order.end(), 0);
            const float* row = x.data() + r * V;
            std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
            EXPECT_TRUE(top.usable[static_cast<std::size_t>(r)]);
            for (int j = 0; j < kk; ++j) {
                ASSERT_EQ(top.ids[static_cast<std::size_t>(r * kk + j)], order[static_cast<std::size_t>(j)]) << "row " << r << " rank " << j;
                ASSERT_EQ(top.values[static_cast<std::size_t>(r * kk + j)], row[order[static_cast<std::size_t>(j)]]);
            }
        }
    }
    // NaN, +inf or no finite logit: unusable.
    for (float bad : {std::nanf(""), kInf}) {
        std::vector<float> row(10, 1.0f);
        row[3] = bad;
        backend::TopLogits top;
        backend::top_logits_of(row, 1, 10, 4, top);
        EXPECT_FALSE(top.usable[0]);
    }
    std::vector<float> none(10, -kInf);
    backend::TopLogits top;
    backend::top_logits_of(none, 1, 10, 4, top);
    EXPECT_FALSE(top.usable[0]);
}

TEST(TopLogits, SampleFromTopDrawsWhatTheWholeRowDraws) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t rows = 9, V = 3000;
    const int k = 64;
    const std::vector<float> x = test_rows(rng, rows, V);
    backend::TopLogits top;
    backend::top_logits_of(x, rows, V, k, top);
    struct Case {
        float temperature;
        int top_k;
        float top_p, min_p;
    };
    const Case cases[] = {{0.0f, 0, 1.0f, 0.0f}, {0.0f, 40, 0.5f, 0.0f}, {1.0f, 1, 1.0f, 0.0f}, {0.7f, 40, 1.0f, 0.0f},
                          {1.3f, 63, 0.9f, 0.05f}, {0.6f, 20, 0.9f, 0.0f}, {2.0f, 5, 1.0f, 0.3f}};
    for (const Case& c : cases) {
        SamplingParams p;
        p.temperature = c.temperature;
        p.top_k = c.top_k;
        p.top_p = c.top_p;
        p.min_p = c.min_p;
        p.seed = 17;
        ASSERT_TRUE(Sampler::samples_from_top(p, k)) << c.temperature << " " << c.top_k;
        Sampler whole(p), from_top(p);
        int draws = 0;
        for (int rep = 0; rep < 40; ++rep)
            for (int64_t r = 0; r < rows; ++r) {
                const std::span<const float> row(x.data() + r * V, static_cast<std::size_t>(V));
                const int32_t want = whole.sample(row, {});
                const int32_t got = from_top.sample_from_top(std::span<const int32_t>(top.ids).subspan(static_cast<std::size_t>(r * k), k),
                                                             std::span<const float>(top.values).subspan(static_cast<std::size_t>(r * k), k),
                                                             top.usable[static_cast<std::size_t>(r)] != 0);
                ASSERT_EQ(got, want) << "temperature " << c.temperature << " top_k " << c.top_k << " row " << r << " draw " << rep;
                ++draws;
            }
        EXPECT_EQ(draws, 360);
    }
    // What it does not accept: the whole row is needed (top_p / min_p alone, top_k >= k, penalties).
    SamplingParams p;
    p.temperature = 0.6f;
    p.top_p = 0.9f;
    EXPECT_FALSE(Sampler::samples_from_top(p, k));
    p.top_k = k;
    EXPECT_FALSE(Sampler::samples_from_top(p, k));
    p.top_k = 10;
    p.repetition_penalty = 1.1f;
    EXPECT_FALSE(Sampler::samples_from_top(p, k));
    p.repetition_penalty = 1.0f;
    EXPECT_TRUE(Sampler::samples_from_top(p, k));
    Sampler s(p);
    const int32_t ids[3] = {0, 1, 2};
    const float vals[3] = {1, 0, -1};
    EXPECT_THROW(s.sample_from_top(ids, vals, true), Error);  // top_k 10 from 3 entries
    p.temperature = 0.0f;
    Sampler g(p);
    EXPECT_EQ(g.sample_from_top(ids, vals, true), 0);
    EXPECT_THROW(g.sample_from_top(ids, vals, false), Error);  // a NaN row
}

}  // namespace
}  // namespace scout
