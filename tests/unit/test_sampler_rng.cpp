// The RNG must give the same stream on every platform: pin it against values computed by an
// independent implementation (Python big-int arithmetic of the published splitmix64 /
// xoshiro256** definitions). splitmix64(0)'s outputs are the widely published reference values.
#include <gtest/gtest.h>

#include "sample/rng.hpp"

namespace scout {
namespace {

TEST(SamplerRng, Splitmix64MatchesReferenceOutputs) {
    uint64_t state = 0;
    EXPECT_EQ(splitmix64_next(state), 0xe220a8397b1dcdafull);
    EXPECT_EQ(splitmix64_next(state), 0x6e789e6aa1b965f4ull);
    EXPECT_EQ(splitmix64_next(state), 0x06c45d188009454full);
    EXPECT_EQ(splitmix64_next(state), 0xf88bb8a8724c81ecull);
}

TEST(SamplerRng, Xoshiro256StarStarMatchesIndependentImplementation) {
    Rng zero(0);
    EXPECT_EQ(zero.next_u64(), 0x99ec5f36cb75f2b4ull);
    EXPECT_EQ(zero.next_u64(), 0xbf6e1f784956452aull);
    EXPECT_EQ(zero.next_u64(), 0x1a5f849d4933e6e0ull);
    EXPECT_EQ(zero.next_u64(), 0x6aa594f1262d2d2cull);
    Rng forty_two(42);
    EXPECT_EQ(forty_two.next_u64(), 0x15780b2e0c2ec716ull);
    EXPECT_EQ(forty_two.next_u64(), 0x6104d9866d113a7eull);
    EXPECT_EQ(forty_two.next_u64(), 0xae17533239e499a1ull);
    EXPECT_EQ(forty_two.next_u64(), 0xecb8ad4703b360a1ull);
}

TEST(SamplerRng, UnitFloatIsTop53BitsExactly) {
    // (next_u64() >> 11) * 2^-53 of the four seed-0 outputs above, as exact hex floats from
    // Python. The fourth output has bit 11 set, so a 52-bit conversion would be caught.
    Rng rng(0);
    EXPECT_EQ(rng.next_unit(), 0x1.33d8be6d96ebep-1);
    EXPECT_EQ(rng.next_unit(), 0x1.7edc3ef092ac8p-1);
    EXPECT_EQ(rng.next_unit(), 0x1.a5f849d4933e0p-4);
    EXPECT_EQ(rng.next_unit(), 0x1.aa9653c498b4ap-2);
}

TEST(SamplerRng, ReseedRestartsTheStream) {
    Rng a(7);
    const uint64_t first = a.next_u64();
    a.next_u64();
    a.reseed(7);
    EXPECT_EQ(a.next_u64(), first);
    EXPECT_NE(Rng(7).next_u64(), Rng(8).next_u64());
}

TEST(SamplerRng, UnitFloatsAreInRangeAndUniform) {
    Rng rng(123);
    constexpr int kDraws = 200000;
    constexpr int kBins = 10;
    int counts[kBins] = {};
    for (int i = 0; i < kDraws; ++i) {
        const double u = rng.next_unit();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        ++counts[static_cast<int>(u * kBins)];
    }
    double chi2 = 0.0;
    const double expected = static_cast<double>(kDraws) / kBins;
    for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
    EXPECT_LT(chi2, 27.88);  // chi-square, 9 degrees of freedom, p = 0.001
}

}  // namespace
}  // namespace scout
