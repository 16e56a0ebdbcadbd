// The int8 quantized matrix products: activation quantization against its plain definition,
// every SIMD level's dot kernels against the Portable reference, the Portable reference against
// the bit-exact dequantizer (exact integer cases), and matmul_nt_quant against matmul_nt_ref
// within a bound derived from the activation rounding; odd sizes, poisoned outputs, thread
// counts and batch independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/kernels/q8_activations.hpp"
#include "backend/cpu/kernels/vec_dot.hpp"
#include "backend/cpu/ops/matmul.hpp"
#include "backend/cpu/ops/matmul_quant.hpp"
#include "base/cpu_features.hpp"
#include "base/error.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

using namespace scout;
using namespace scout::quant;
using namespace scout::cpu;  // the int8 kernels (backend/cpu/kernels)

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();
constexpr DType kTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<SimdLevel> supported_levels() {
    std::vector<SimdLevel> out;
    for (SimdLevel l : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
        if (simd_level_supported(l)) out.push_back(l);
    return out;
}

bool is_k_quant(DType t) { return block_size(t) == kQK_K; }

// Where the fp16 fields of a weight block are (to give them chosen values).
void set_block_scales(DType t, uint8_t* block, uint16_t d, uint16_t dmin) {
    switch (t) {
        case DType::Q8_0:
        case DType::Q4_0:
            std::memcpy(block, &d, 2);
            return;
        case DType::Q4_K:
        case DType::Q5_K:
            std::memcpy(block, &d, 2);
            std::memcpy(block + 2, &dmin, 2);
            return;
        case DType::Q6_K:
            std::memcpy(block + offsetof(BlockQ6_K, d), &d, 2);
            return;
        default:
            FAIL();
    }
}

// n_blocks weight blocks of random bytes (every quant, scale and high-bit pattern occurs) with
// finite fp16 scales around `scale`.
std::vector<uint8_t> random_weight_blocks(std::mt19937_64& rng, DType t, int64_t n_blocks, float scale) {
    const std::size_t bs = type_size(t);
    std::vector<uint8_t> w(bs * static_cast<std::size_t>(n_blocks));
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
    for (int64_t i = 0; i < n_blocks; ++i)
        set_block_scales(t, w.data() + i * bs, f32_to_f16(scale * u(rng)), f32_to_f16(scale * u(rng)));
    return w;
}

// Activation row in the format paired with t, from int8 values with given block scales.
std::vector<uint8_t> make_activations(DType t, const std::vector<int8_t>& q, float d) {
    const int64_t n = static_cast<int64_t>(q.size());
    std::vector<uint8_t> out(activation_row_bytes(t, n));
    if (!is_k_quant(t)) {
        auto* b = reinterpret_cast<BlockQ8A*>(out.data());
        for (int64_t i = 0; i < n / kQK; ++i) {
            b[i].d = d;
            b[i].sum = 0;
            for (int j = 0; j < kQK; ++j) b[i].sum += (b[i].qs[j] = q[i * kQK + j]);
        }
    } else {
        auto* b = reinterpret_cast<BlockQ8KA*>(out.data());
        for (int64_t i = 0; i < n / kQK_K; ++i) {
            b[i].d = d;
            for (int j = 0; j < kQK_K; ++j) b[i].qs[j] = q[i * kQK_K + j];
            for (int j = 0; j < 16; ++j) {
                int s = 0;
                for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
                b[i].bsums[j] = static_cast<int16_t>(s);
            }
        }
    }
    return out;
}

std::vector<int8_t> random_int8(std::mt19937_64& rng, int64_t n, int lo, int hi) {
    std::uniform_int_distribution<int> v(lo, hi);
    std::vector<int8_t> q(static_cast<std::size_t>(n));
    for (auto& x : q) x = static_cast<int8_t>(v(rng));
    return q;
}

// The plain definition of the activation quantization (q8_activations.hpp).
void expect_quantized_block(const float* x, int n, float d, const int8_t* q) {
    float amax = 0.0f;
    for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    ASSERT_EQ(d, amax / 127.0f);
    for (int i = 0; i < n; ++i) {
        const int want = amax == 0.0f ? 0 : static_cast<int>(std::nearbyint(x[i] * (127.0f / amax)));
        ASSERT_EQ(q[i], std::clamp(want, -127, 127)) << "element " << i;
        ASSERT_LE(std::fabs(x[i] - d * q[i]), 0.5f * d * 1.0001f + 1e-30f);
    }
}

TEST(QuantKernels, ActivationQuantizationMatchesDefinition) {
    std::mt19937_64 rng(test::test_seed());
    for (int64_t n : {256, 512, 1024}) {
        std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(n), 2.0f);
        x[3] = 40.0f;                                        // an outlier in block 0
        std::fill(x.begin() + 256 - 32, x.begin() + 256, 0.0f);  // an all-zero Q8A block
        std::vector<BlockQ8A> a(static_cast<std::size_t>(n / kQK));
        quantize_row_q8a(x.data(), a.data(), n);
        for (int64_t b = 0; b < n / kQK; ++b) {
            expect_quantized_block(x.data() + b * kQK, kQK, a[b].d, a[b].qs);
            int s = 0;
            for (int i = 0; i < kQK; ++i) s += a[b].qs[i];
            EXPECT_EQ(a[b].sum, s);
        }
        std::vector<BlockQ8KA> k(static_cast<std::size_t>(n / kQK_K));
        quantize_row_q8ka(x.data(), k.data(), n);
        for (int64_t b = 0; b < n / kQK_K; ++b) {
            expect_quantized_block(x.data() + b * kQK_K, kQK_K, k[b].d, k[b].qs);
            for (int j = 0; j < 16; ++j) {
                int s = 0;
                for (int i = 0; i < 16; ++i) s += k[b].qs[16 * j + i];
                EXPECT_EQ(k[b].bsums[j], s);
            }
        }
        // The dispatching entry point writes the same bytes.
        std::vector<uint8_t> via(activation_row_bytes(DType::Q4_K, n));
        quantize_activation_row(DType::Q4_K, x.data(), via.data(), n);
        EXPECT_EQ(0, std::memcmp(via.data(), k.data(), via.size()));
    }
    EXPECT_THROW(activation_row_bytes(DType::BF16, 256), Error);
    EXPECT_THROW(activation_row_bytes(DType::Q4_K, 96), Error);
}

// Exact cases: d = dmin = 1 (weights) and d = 1 (activations) make every product and partial
// sum a small integer (|partial sums| < 2^24), so all float arithmetic is exact and every level
// must give exactly Σ dequantize_row(w)[i] * q[i] — the bit-exact dequantizer is the oracle.
TEST(QuantKernels, IntegerCasesAreExactAtEveryLevel) {
    std::mt19937_64 rng(test::test_seed() + 1);
    const uint16_t one = f32_to_f16(1.0f);
    for (DType t : kTypes) {
        SCOPED_TRACE(type_name(t));
        for (int64_t n : {256, 512}) {
            const int64_t nb = n / block_size(t);
            std::vector<uint8_t> w = random_weight_blocks(rng, t, nb, 1.0f);
            for (int64_t i = 0; i < nb; ++i) set_block_scales(t, w.data() + i * type_size(t), one, one);
            const std::vector<int8_t> q = random_int8(rng, n, -2, 2);
            const std::vector<uint8_t> a = make_activations(t, q, 1.0f);
            std::vector<float> deq(static_cast<std::size_t>(n));
            dequantize_row(t, w.data(), deq.data(), n);
            double want = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                want += static_cast<double>(deq[i]) * q[i];
                mag += std::fabs(static_cast<double>(deq[i]) * q[i]);
            }
            ASSERT_LT(mag, 1 << 24);
            for (SimdLevel l : supported_levels()) {
                SCOPED_TRACE(simd_level_name(l));
                EXPECT_EQ(vec_dot_q8(t, l, nb, w.data(), a.data()), static_cast<float>(want));
            }
        }
    }
}

// Every level against the Portable reference on random blocks (random bytes: every quant,
// scale and high-bit value) and random activations, including the extremes that would
// saturate a careless int16 sum; and every tile width giving the same bits as tile[0].
TEST(QuantKernels, VecDotLevelsMatchPortableReference) {
    std::mt19937_64 rng(test::test_seed() + 2);
    for (DType t : kTypes) {
        SCOPED_TRACE(type_name(t));
        for (int trial = 0; trial < 6; ++trial) {
            const int64_t n = block_size(t) * (1 + trial * 3);
            const int64_t nb = n / block_size(t);
            std::vector<uint8_t> w = random_weight_blocks(rng, t, nb, 0.01f);
            if (trial == 1) std::fill(w.begin(), w.end(), 0xFF);  // all quants / scales at their maximum
            if (trial == 1 || trial == 2)
                for (int64_t i = 0; i < nb; ++i)
                    set_block_scales(t, w.data() + i * type_size(t), f32_to_f16(0.01f), f32_to_f16(0.02f));
            if (trial == 2 && t == DType::Q8_0)
                for (int64_t i = 0; i < nb; ++i)
                    std::memset(w.data() + i * type_size(t) + 2, 0x80, kQK);  // Q8_0 quants of -128
            std::vector<int8_t> q[kMaxTileTokens];
            std::vector<uint8_t> act;
            for (int k = 0; k < kMaxTileTokens; ++k) {
                q[k] = random_int8(rng, n, -127, 127);
                if (trial == 1 || trial == 2)
                    for (auto& v : q[k]) v = static_cast<int8_t>(k % 2 ? -127 : 127);
                const std::vector<uint8_t> ak = make_activations(t, q[k], 0.02f * (k + 1));
                act.insert(act.end(), ak.begin(), ak.end());
            }
            const std::size_t as = act.size() / kMaxTileTokens;
            std::vector<float> deq(static_cast<std::size_t>(n));
            dequantize_row(t, w.data(), deq.data(), n);
            for (int k = 0; k < kMaxTileTokens; ++k) {
                double mag = 0.0;
                for (int64_t i = 0; i < n; ++i) mag += std::fabs(deq[i] * 0.02 * (k + 1) * q[k][i]);
                const float ref = vec_dot_q8(t, SimdLevel::Portable, nb, w.data(), act.data() + k * as);
                for (SimdLevel l : supported_levels()) {
                    SCOPED_TRACE(simd_level_name(l));
                    const float got = vec_dot_q8(t, l, nb, w.data(), act.data() + k * as);
                    EXPECT_NEAR(got, ref, 1e-5 * mag + 1e-30) << "trial " << trial << " token " << k;
                    // tiles: token k inside a tile of every width that contains it
                    const VecDotKernels& kern = vec_dot_kernels(t, l);
                    for (int width = k + 1; width <= kMaxTileTokens; ++width) {
                        float y[2 * kMaxTileTokens];
                        std::fill(std::begin(y), std::end(y), kPoison);
                        kern.tile[width - 1](nb, w.data(), act.data(), as, y, 2);
                        EXPECT_EQ(0, std::memcmp(&y[2 * k], &got, sizeof(float))) << "tile width " << width;
                        EXPECT_TRUE(std::isnan(y[1]));  // stride respected
                    }
                }
            }
        }
    }
}

struct QuantMatrix {
    std::vector<uint8_t> bytes;
    cpu::WeightMatrix m;
};

// rows x cols weights quantized from Gaussian floats, rows `pad` blocks longer than cols.
QuantMatrix random_quant_matrix(std::mt19937_64& rng, DType t, int64_t rows, int64_t cols, int64_t pad_blocks = 0) {
    QuantMatrix o;
    const int64_t stride = cols + pad_blocks * block_size(t);
    const std::size_t rb = row_size(t, stride);
    o.bytes.resize(rb * static_cast<std::size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        const std::vector<float> f = test::random_floats(rng, static_cast<std::size_t>(stride), 0.05f);
        quantize_row(t, f.data(), o.bytes.data() + r * rb, stride);
    }
    o.m = cpu::WeightMatrix{o.bytes.data(), t, rows, cols, stride};
    return o;
}

// |matmul_nt_quant - matmul_nt_ref| <= the activation rounding bound, per output:
//   |Σ_i w_i (x_i - x̂_i)| <= Σ_blocks (d_b / 2) Σ_{i in b} |w_i|,   d_b = max_b |x| / 127
// (the weights enter both sides dequantized identically), plus float32 accumulation error
// (≤ 1e-5 Σ|w x| for these sizes).
void expect_within_activation_bound(const std::vector<float>& x, int64_t T, const cpu::WeightMatrix& w,
                                    const std::vector<float>& got, const std::vector<float>& ref) {
    const int64_t N = w.rows, K = w.cols, bs = is_k_quant(w.dtype) ? kQK_K : kQK;
    std::vector<float> row(static_cast<std::size_t>(K));
    int64_t n_tight = 0;
    for (int64_t n = 0; n < N; ++n) {
        w.row_to_f32(n, 0, K, row.data());
        for (int64_t t = 0; t < T; ++t) {
            const float* xt = x.data() + t * K;
            double bound = 0.0, mag = 0.0;
            for (int64_t b = 0; b < K / bs; ++b) {
                double amax = 0.0, wsum = 0.0;
                for (int64_t i = b * bs; i < (b + 1) * bs; ++i) {
                    amax = std::max(amax, std::fabs(static_cast<double>(xt[i])));
                    wsum += std::fabs(static_cast<double>(row[i]));
                    mag += std::fabs(static_cast<double>(row[i]) * xt[i]);
                }
                bound += amax / 127.0 / 2.0 * wsum;
            }
            const double err = std::fabs(static_cast<double>(got[t * N + n]) - ref[t * N + n]);
            ASSERT_TRUE(std::isfinite(got[t * N + n])) << "n " << n << " t " << t;
            ASSERT_LE(err, bound * 1.0001 + 1e-5 * mag) << "n " << n << " t " << t;
            n_tight += err <= 0.25 * bound;
        }
    }
    // The bound is a worst case; random rounding errors cancel, so most outputs sit far inside it.
    EXPECT_GT(n_tight, N * T * 9 / 10);
}

TEST(QuantKernels, MatmulMatchesReferenceOddSizesEveryLevel) {
    std::mt19937_64 rng(test::test_seed() + 3);
    ThreadPool pool(3);
    for (DType t : kTypes) {
        SCOPED_TRACE(type_name(t));
        // N = 37: not a multiple of the row grain (16); K: several blocks, odd count for Q8_0/Q4_0.
        // (matmul_nt_ref dequantizes one block per element, so sizes stay small.)
        const int64_t K = is_k_quant(t) ? 512 : 288;
        const QuantMatrix w = random_quant_matrix(rng, t, 37, K, /*pad_blocks=*/1);
        for (int64_t T : {1, 2, 3, 5, 17}) {
            SCOPED_TRACE(T);
            const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
            std::vector<float> ref(static_cast<std::size_t>(T * w.m.rows));
            cpu::matmul_nt_ref(x.data(), T, w.m, ref.data());
            for (SimdLevel l : supported_levels()) {
                SCOPED_TRACE(simd_level_name(l));
                std::vector<float> y(ref.size(), kPoison);
                cpu::matmul_nt_quant(x.data(), T, w.m, y.data(), pool, l);
                expect_within_activation_bound(x, T, w.m, y, ref);
                // Each output is exactly that level's tile[0] on the quantized rows.
                std::vector<uint8_t> xq(activation_row_bytes(t, K));
                const std::size_t rb = row_size(t, w.m.row_stride);
                for (int64_t tt = 0; tt < T; ++tt) {
                    quantize_activation_row(t, x.data() + tt * K, xq.data(), K);
                    for (int64_t n = 0; n < w.m.rows; ++n) {
                        const float want = vec_dot_q8(t, l, K / block_size(t), w.bytes.data() + n * rb, xq.data());
                        ASSERT_EQ(0, std::memcmp(&want, &y[tt * w.m.rows + n], sizeof(float))) << n << " " << tt;
                    }
                }
            }
        }
    }
}

TEST(QuantKernels, MatmulDefaultEntryUsesBestLevel) {
    std::mt19937_64 rng(test::test_seed() + 4);
    ThreadPool pool(2);
    const QuantMatrix w = random_quant_matrix(rng, DType::Q4_K, 20, 512);
    const std::vector<float> x = test::random_floats(rng, 3 * 512);
    std::vector<float> a(60, kPoison), b(60, kPoison);
    cpu::matmul_nt_quant(x.data(), 3, w.m, a.data(), pool);
    cpu::matmul_nt_quant(x.data(), 3, w.m, b.data(), pool, best_simd_level());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    // matmul_nt routes quantized weights here.
    std::vector<float> c(60, kPoison);
    cpu::matmul_nt(x.data(), 3, w.m, c.data(), pool);
    EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

TEST(QuantKernels, ResultsDoNotDependOnThreadCount) {
    std::mt19937_64 rng(test::test_seed() + 5);
    for (DType t : kTypes) {
        SCOPED_TRACE(type_name(t));
        const int64_t K = is_k_quant(t) ? 512 : 160, N = 75, T = 9;
        const QuantMatrix w = random_quant_matrix(rng, t, N, K);
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
        for (SimdLevel l : supported_levels()) {
            std::vector<float> first;
            for (int threads = 1; threads <= 4; ++threads) {
                ThreadPool pool(threads);
                std::vector<float> y(static_cast<std::size_t>(T * N), kPoison);
                cpu::matmul_nt_quant(x.data(), T, w.m, y.data(), pool, l);
                if (threads == 1)
                    first = y;
                else
                    EXPECT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * sizeof(float)))
                        << simd_level_name(l) << " threads " << threads;
            }
        }
    }
}

// Row t of a batch equals the same row computed alone, bit for bit: T = 4, 7 and 8 (the AVX-512
// level switches from its row kernels to the row-panel kernels at 4 tokens for Q8_0/Q4_0 and at 8
// for the K-quants, gemm_panel.hpp),
// and T = 70, which crosses a token chunk and leaves a partial tile. N = 19 leaves a partial
// panel; Q8_0/Q4_0 rows of 7 blocks end off the 4-block step of the decode kernel, and K-quant
// rows of 3 super-blocks take the Q4_K/Q5_K decode kernel's two-block step and its odd last block.
TEST(QuantKernels, RowResultsDoNotDependOnBatch) {
    std::mt19937_64 rng(test::test_seed() + 6);
    ThreadPool pool(2);
    for (DType t : kTypes) {
        SCOPED_TRACE(type_name(t));
        const int64_t K = is_k_quant(t) ? 768 : 224, N = 19;
        const QuantMatrix w = random_quant_matrix(rng, t, N, K);
        for (int64_t T : {4, 7, 8, 70}) {
            const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
            for (SimdLevel l : supported_levels()) {
                std::vector<float> y(static_cast<std::size_t>(T * N), kPoison);
                cpu::matmul_nt_quant(x.data(), T, w.m, y.data(), pool, l);
                for (int64_t r = 0; r < T; ++r) {
                    std::vector<float> one(static_cast<std::size_t>(N), kPoison);
                    cpu::matmul_nt_quant(x.data() + r * K, 1, w.m, one.data(), pool, l);
                    ASSERT_EQ(0, std::memcmp(one.data(), y.data() + r * N, N * sizeof(float)))
                        << simd_level_name(l) << " T " << T << " row " << r;
                }
            }
        }
    }
}

TEST(QuantKernels, RejectsTypesWithoutKernels) {
    EXPECT_THROW(vec_dot_kernels(DType::BF16, SimdLevel::Portable), Error);
    EXPECT_THROW(vec_dot_kernels(DType::F32, best_simd_level()), Error);
}

}  // namespace

TEST(QuantKernels, GroupedProductsEqualSeparateOnes) {
    // matmul_nt_group (q/k/v, gate/up, router + shared expert in one pass) must give each product
    // exactly what matmul_nt gives it alone: mixed block types sharing or not sharing an input
    // format, a float matrix among them, odd row counts that split across threads mid-matrix.
    std::mt19937_64 rng(test::test_seed() + 11);
    const int64_t K = 512;
    const DType types[] = {DType::Q4_K, DType::Q8_0, DType::Q6_K, DType::Q4_0, DType::Q5_K};
    const int64_t rows[] = {37, 16, 5, 64, 23};
    std::vector<QuantMatrix> mats;
    for (int i = 0; i < 5; ++i) mats.push_back(random_quant_matrix(rng, types[i], rows[i], K));
    std::vector<float> fw = test::random_floats(rng, static_cast<std::size_t>(19 * K));
    cpu::WeightMatrix fm{fw.data(), DType::F32, 19, K, K};
    for (SimdLevel l : supported_levels())
        for (int threads : {1, 2, 3})
            for (int64_t T : {1, 3, 6}) {
                ThreadPool pool(threads);
                const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
                std::vector<std::vector<float>> grouped, alone;
                std::vector<cpu::MatmulOut> outs;
                for (int i = 0; i <= 5; ++i) {
                    const cpu::WeightMatrix& w = i < 5 ? mats[static_cast<std::size_t>(i)].m : fm;
                    grouped.emplace_back(static_cast<std::size_t>(T * w.rows), kPoison);
                    alone.emplace_back(static_cast<std::size_t>(T * w.rows), kPoison);
                    cpu::matmul_nt(x.data(), T, w, alone.back().data(), pool, l);
                }
                for (int i = 0; i <= 5; ++i)
                    outs.push_back({i < 5 ? mats[static_cast<std::size_t>(i)].m : fm, grouped[static_cast<std::size_t>(i)].data()});
                cpu::matmul_nt_group(x.data(), T, outs, pool, l);
                for (int i = 0; i <= 5; ++i)
                    EXPECT_EQ(0, std::memcmp(grouped[static_cast<std::size_t>(i)].data(), alone[static_cast<std::size_t>(i)].data(),
                                             alone[static_cast<std::size_t>(i)].size() * sizeof(float)))
                        << simd_level_name(l) << " threads " << threads << " T " << T << " product " << i;
            }
}
