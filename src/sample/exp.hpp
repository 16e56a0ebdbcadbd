// exp for x <= 0, for softmax. Written out instead of calling std::exp because:
//  - speed: std::exp is a scalar libm call (~4 ns); this loop body is branch-free float
//    arithmetic that the compiler vectorises, and softmax runs it over all 202,048 logits
//    on every sampled token;
//  - reproducibility: libm implementations differ in the last bit between platforms, while
//    this uses only IEEE-754 +, *, and exact bit manipulation, so a seed gives the same tokens
//    on every machine provided multiply-adds are not fused (scout_sample builds with
//    -ffp-contract=off for that reason; see src/sample/CMakeLists.txt).
// Accuracy: within 3e-7 relative of exp(x) where the result is a normal float, monotone up to
// one ulp (so softmax can only misorder logits whose weights are within an ulp); 0 below -87
// (where exp underflows anyway) and exactly 0 for -inf; exactly 1 at 0.
#pragma once

#include <bit>
#include <cstdint>

namespace scout {

inline float exp_nonpositive(float x) {
    // Clamp first so -inf and huge negatives stay in the integer range of the 2^n step; the
    // final select turns them into 0.
    const float xc = x < -87.0f ? -87.0f : x;
    // x = n ln2 + r with |r| <= ln2 / 2; n by the 1.5 * 2^23 rounding trick (round to nearest).
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
    const float n = (xc * kLog2e + kRound) - kRound;
    // ln2 split in two so n * kLn2Hi is exact (kLn2Hi has 9 significant bits, |n| < 2^7).
    constexpr float kLn2Hi = 0.693359375f;
    constexpr float kLn2Lo = -2.12194440e-4f;
    const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
    // Taylor series of e^r to degree 6 (|r| <= 0.347: truncation error < 1.3e-7 relative).
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // Multiply by 2^n by building the float's exponent directly; n is in [-126, 0].
    const auto scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
    return x < -87.0f ? 0.0f : p * scale;
}

}  // namespace scout
