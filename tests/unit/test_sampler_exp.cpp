// exp_nonpositive (src/sample/exp.hpp) against double-precision std::exp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sample/exp.hpp"

namespace scout {
namespace {

TEST(SamplerExp, CloseToStdExpOverTheWholeRange) {
    double worst = 0.0;
    for (int i = 0; i <= 2000000; ++i) {
        const float x = -80.0f * static_cast<float>(i) / 2000000.0f;
        const double ref = std::exp(static_cast<double>(x));
        const double rel = std::abs(exp_nonpositive(x) - ref) / ref;
        worst = std::max(worst, rel);
    }
    EXPECT_LT(worst, 3e-7) << "about 2.5 float ulp";
}

TEST(SamplerExp, EdgesAreExact) {
    EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);  // the max logit always gets weight exactly 1
    EXPECT_EQ(exp_nonpositive(-0.0f), 1.0f);
    EXPECT_EQ(exp_nonpositive(-std::numeric_limits<float>::infinity()), 0.0f);
    EXPECT_EQ(exp_nonpositive(-88.0f), 0.0f);
    EXPECT_EQ(exp_nonpositive(-1e30f), 0.0f);
    // Tiny but not flushed just above the cutoff.
    EXPECT_GT(exp_nonpositive(-86.9f), 0.0f);
    EXPECT_LT(exp_nonpositive(-86.9f), 1e-37f);
}

TEST(SamplerExp, MonotoneUpToOneUlp) {
    // Not exactly monotone (a polynomial with ~1 ulp error can step back by 1 ulp where the
    // range reduction switches n), but never by more: softmax can only misorder two logits
    // whose exponentials are within one float ulp of each other.
    auto sweep = [](float from, float to, auto next) {
        float prev = 0.0f;
        for (float x = from; x <= to; x = next(x)) {
            const float y = exp_nonpositive(x);
            ASSERT_GE(y, std::nextafter(prev, 0.0f)) << "x = " << x;
            prev = std::max(prev, y);
        }
    };
    // Whole range in small steps, then every float around the first switch of n (-ln2 / 2),
    // where the range-reduced argument jumps from one end of its interval to the other.
    sweep(-87.0f, 0.0f, [](float x) { return x + 2e-5f; });
    sweep(-0.35f, -0.34f, [](float x) { return std::nextafter(x, 1.0f); });
    sweep(-1.04f, -1.03f, [](float x) { return std::nextafter(x, 1.0f); });  // -3 ln2 / 2
}

}  // namespace
}  // namespace scout
