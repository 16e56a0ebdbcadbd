// The decode mat-vec's per-format decoding (src/backend/cuda/matvec_traits.cuh) checked on the
// host, no GPU needed: the device intrinsics it uses are emulated below, then for every row,
// warp step and lane the weights a lane decodes must equal quant::dequantize_row bit for bit at
// the activation offsets the lane reads, every element of a row must be read exactly once, and
// no load may be misaligned or touch a byte past the row (Q6_K / Q8_0 blocks are only 2-byte
// aligned; rows start 2 bytes off 4-byte alignment here). Runs everywhere (CI has no GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <cuda_fp16.h>
#include <vector_functions.h>
#include <vector_types.h>

#include "base/error.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

// ---- host emulation of the intrinsics matvec_traits.cuh uses -----------------------------------
namespace {
const uint8_t* g_lo = nullptr;  // bytes a load may touch: [g_lo, g_hi)
const uint8_t* g_hi = nullptr;
bool g_out_of_row = false;
}  // namespace

template <class T>
inline T __ldg(const T* p) {
    const auto* b = reinterpret_cast<const uint8_t*>(p);
    if (b < g_lo || b + sizeof(T) > g_hi) g_out_of_row = true;
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) != 0) g_out_of_row = true;  // misaligned load
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    const uint64_t v = (static_cast<uint64_t>(y) << 32) | x;
    unsigned r = 0;
    for (unsigned n = 0; n < 4; ++n) r |= static_cast<unsigned>((v >> (8 * ((s >> (4 * n)) & 7))) & 0xFF) << (8 * n);
    return r;
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned sh) {
    return static_cast<unsigned>(((static_cast<uint64_t>(hi) << 32) | lo) >> (sh & 31));
}
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
using std::fmaf;

#include "backend/cuda/matvec_traits.cuh"

using namespace scout;

namespace {

template <DType DT>
void check_format(int64_t K, int64_t rows, std::size_t offset) {
    using Tr = cuda::mv::Traits<DT>;
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(DT), " K ", K, " offset ", offset));
    std::mt19937_64 rng(seed);
    const std::size_t rb = quant::row_size(DT, K);
    std::vector<uint4> storage((rb * static_cast<std::size_t>(rows) + offset + 64) / 16 + 1);
    uint8_t* base = reinterpret_cast<uint8_t*>(storage.data()) + offset;
    const std::vector<float> src = test::random_floats(rng, static_cast<std::size_t>(K));
    for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> row = src;
        for (float& v : row) v *= 0.5f + static_cast<float>(r);
        if (r == 1) row[3] = -40.0f;  // a large value: wide scales
        quant::quantize_row(DT, row.data(), base + r * rb, K);
    }
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* row = base + r * rb;
        std::vector<float> want(static_cast<std::size_t>(K));
        quant::dequantize_row(DT, row, want.data(), K);
        std::vector<int> seen(static_cast<std::size_t>(K), 0);
        // A block 2 mod 4 is read from the word before it: from the row's first 4-byte boundary
        // (inside the tensor: a tensor starts 256-byte aligned), never past the row's end.
        g_lo = row - (reinterpret_cast<std::uintptr_t>(row) & 3);
        g_hi = row + rb;
        g_out_of_row = false;
        const int64_t steps = Tr::n_steps(K);
        for (int64_t s = 0; s < steps; ++s)
            for (int lane = 0; lane < 32; ++lane) {
                if (!Tr::active(K, s, lane)) continue;
                const typename Tr::Raw raw = Tr::load(row, s, lane);
                const typename Tr::Dec dec = Tr::prepare(raw, row, s, lane);
                for (int q = 0; q < Tr::kPieces; ++q) {
                    float w[8];
                    Tr::piece(raw, dec, q, w);
                    const int64_t off = Tr::x_off(s, lane, q);
                    ASSERT_EQ(off % 8, 0);
                    ASSERT_LE(off + 8, K) << "step " << s << " lane " << lane << " piece " << q;
                    for (int i = 0; i < 8; ++i) {
                        ++seen[static_cast<std::size_t>(off + i)];
                        ASSERT_EQ(std::memcmp(&w[i], &want[static_cast<std::size_t>(off + i)], 4), 0)
                            << "row " << r << " step " << s << " lane " << lane << " piece " << q << " element " << off + i
                            << ": " << w[i] << " vs " << want[static_cast<std::size_t>(off + i)];
                    }
                }
            }
        for (int64_t k = 0; k < K; ++k) ASSERT_EQ(seen[static_cast<std::size_t>(k)], 1) << "row " << r << " element " << k;
        EXPECT_FALSE(g_out_of_row) << "row " << r << ": a load outside the row or misaligned";
    }
}

TEST(MatvecDecode, Q4K) {
    for (int64_t K : {256, 512, 1280, 5120}) check_format<DType::Q4_K>(K, 3, 0);
}

TEST(MatvecDecode, Q6K) {
    for (int64_t K : {256, 512, 1280, 5120})
        for (std::size_t off : {0, 2}) check_format<DType::Q6_K>(K, 3, off);
}

TEST(MatvecDecode, Q8_0) {
    for (int64_t K : {32, 96, 288, 5120})
        for (std::size_t off : {0, 2}) check_format<DType::Q8_0>(K, 3, off);
}

}  // namespace
