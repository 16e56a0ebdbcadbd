// Every CUDA kernel against a plain host twin (double accumulation, the quant reference codecs)
// on fresh random inputs with odd sizes; outputs are poisoned with NaN before each run.
// Skips when no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "backend/cuda/device_kv.hpp"
#include "backend/forward.hpp"
#include "backend/cuda/ops.hpp"
#include "cuda_test_util.hpp"
#include "kv/attn_mask.hpp"
#include "kv/kv_type.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

using namespace scout;
using cuda::DeviceBuffer;

namespace {

const DType kWeightTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                              DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// A random [rows, in] matrix stored as `t`, and its exact float values (the reference decode).
struct HostMatrix {
    std::vector<uint8_t> bytes;
    std::vector<float> values;  // [rows, in]
};
HostMatrix random_matrix(std::mt19937_64& rng, DType t, int64_t rows, int64_t in) {
    HostMatrix m;
    const std::size_t rb = quant::row_size(t, in);
    m.bytes.resize(rb * static_cast<std::size_t>(rows));
    m.values.resize(static_cast<std::size_t>(rows * in));
    const std::vector<float> src = test::random_floats(rng, static_cast<std::size_t>(rows * in));
    for (int64_t r = 0; r < rows; ++r) {
        quant::quantize_row(t, src.data() + r * in, m.bytes.data() + r * rb, in);
        quant::dequantize_row(t, m.bytes.data() + r * rb, m.values.data() + r * in, in);
    }
    return m;
}

// K for a type: a multiple of its block, odd in the float case (tails, unaligned rows).
int64_t k_for(DType t) {
    switch (quant::block_size(t)) {
        case 256: return 512;
        case 32: return 96;
        default: return 100 + (t == DType::F32 ? 3 : 1);  // F32 103: scalar tails; F16/BF16 101
    }
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& mag,
                  double rel, const std::string& what) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_LE(std::abs(got[i] - want[i]), rel * mag[i] + 1e-6) << what << " at " << i << ": " << got[i] << " vs " << want[i];
}

// A weight matrix on the device; `offset` bytes into its buffer (a misaligned base for the
// formats whose blocks are only 2-byte aligned).
struct DeviceWeights {
    HostMatrix host;
    DeviceBuffer buffer;
    cuda::DeviceMatrix m;
};
DeviceWeights device_weights(std::mt19937_64& rng, DType t, int64_t experts, int64_t N, int64_t K, std::size_t offset) {
    DeviceWeights d;
    d.host = random_matrix(rng, t, experts * N, K);
    d.buffer = DeviceBuffer(d.host.bytes.size() + 16);
    SCOUT_CUDA_CHECK(cudaMemcpy(d.buffer.as<uint8_t>() + offset, d.host.bytes.data(), d.host.bytes.size(), cudaMemcpyHostToDevice));
    d.m.data = d.buffer.as<uint8_t>() + offset;
    d.m.dtype = t;
    d.m.out = N;
    d.m.in = K;
    d.m.row_bytes = quant::row_size(t, K);
    d.m.expert_bytes = experts > 1 ? d.m.row_bytes * static_cast<std::size_t>(N) : 0;
    return d;
}

class CudaMatmul : public ::testing::TestWithParam<DType> {};

TEST_P(CudaMatmul, BothKernelsMatchReference) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("type ", dtype_name(t)));
    std::mt19937_64 rng(seed);
    const int64_t K = k_for(t), N = 75;
    const HostMatrix w = random_matrix(rng, t, N, K);
    const DeviceBuffer dw = test::to_device(w.bytes);
    cuda::DeviceMatrix m;
    m.data = dw.get();
    m.dtype = t;
    m.out = N;
    m.in = K;
    m.row_bytes = quant::row_size(t, K);
    for (int64_t T : {1, 3, 8, 9, 70}) {
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
        std::vector<double> want(static_cast<std::size_t>(T * N)), mag(want.size());
        for (int64_t i = 0; i < T; ++i)
            for (int64_t n = 0; n < N; ++n) {
                double s = 0, a = 0;
                for (int64_t k = 0; k < K; ++k) {
                    s += static_cast<double>(x[i * K + k]) * w.values[n * K + k];
                    a += std::abs(static_cast<double>(x[i * K + k]) * w.values[n * K + k]);
                }
                want[i * N + n] = s, mag[i * N + n] = a;
            }
        const DeviceBuffer dx = test::to_device(x);
        // 0: matvec_jobs for K-quants / Q8_0, else the warp-per-row kernel; 1: tiled; 2: the
        // warp-per-row kernel; 3: a block per output row (float weights).
        for (int kind : {0, 1, 2, 3}) {
            if (kind == 3 && dtype_is_quantized(t)) continue;
            DeviceBuffer dy = test::poisoned(static_cast<std::size_t>(T * N));
            cuda::matmul_kernel(kind, dx.as<float>(), T, m, dy.as<float>(), {}, nullptr);
            expect_close(test::to_host<float>(dy, want.size()), want, mag, 1e-5, cat("T ", T, " kernel ", kind));
        }
        // matmul's own choice (the small-N kernel for few float outputs, matvec_jobs, tiled).
        DeviceBuffer dy = test::poisoned(static_cast<std::size_t>(T * N));
        cuda::matmul(dx.as<float>(), T, m, dy.as<float>(), {}, nullptr);
        expect_close(test::to_host<float>(dy, want.size()), want, mag, 1e-5, cat("T ", T, " matmul"));
    }
}

// Three experts, rows grouped per expert with an empty group: transposed ([E, out, in]) for
// every type, and the x·W layout ([E, in, cols], columns from col0) for float types.
TEST_P(CudaMatmul, GroupedExpertsMatchReference) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("type ", dtype_name(t)));
    std::mt19937_64 rng(seed);
    const int64_t E = 3, K = k_for(t), N = 41;
    const std::vector<int32_t> slot_expert = {0, 2, 1, 0};  // slot 2 is empty
    for (int64_t rows_total : {5, 80}) {
        const std::vector<int32_t> offset = {0, static_cast<int32_t>(rows_total / 3), static_cast<int32_t>(rows_total - 1),
                                             static_cast<int32_t>(rows_total - 1), static_cast<int32_t>(rows_total)};
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(rows_total * K));
        const DeviceBuffer dx = test::to_device(x), dexp = test::to_device(slot_expert), doff = test::to_device(offset);
        const cuda::RowGroups groups{dexp.as<int32_t>(), doff.as<int32_t>(), 4};
        for (bool transposed : {true, false}) {
            if (!transposed && dtype_is_quantized(t)) continue;
            const int64_t cols = transposed ? K : N + 7, col0 = transposed ? 0 : 5;
            const int64_t rows_per = transposed ? N : K;  // stored rows of one expert
            const HostMatrix w = random_matrix(rng, t, E * rows_per, cols);
            const DeviceBuffer dw = test::to_device(w.bytes);
            cuda::DeviceMatrix m;
            m.data = dw.get();
            m.dtype = t;
            m.out = N;
            m.in = K;
            m.transposed = transposed;
            m.row_bytes = quant::row_size(t, cols);
            m.ld = cols;
            m.col0 = col0;
            m.expert_bytes = m.row_bytes * static_cast<std::size_t>(rows_per);
            std::vector<double> want(static_cast<std::size_t>(rows_total * N)), mag(want.size());
            for (std::size_t s = 0; s < 4; ++s)
                for (int64_t i = offset[s]; i < offset[s + 1]; ++i)
                    for (int64_t n = 0; n < N; ++n) {
                        double acc = 0, a = 0;
                        for (int64_t k = 0; k < K; ++k) {
                            const float wv = transposed ? w.values[(slot_expert[s] * N + n) * K + k]
                                                        : w.values[(slot_expert[s] * K + k) * cols + col0 + n];
                            acc += static_cast<double>(x[i * K + k]) * wv;
                            a += std::abs(static_cast<double>(x[i * K + k]) * wv);
                        }
                        want[i * N + n] = acc, mag[i * N + n] = a;
                    }
            for (int kind : {0, 1, 2, 3}) {
                if (kind == 3 && (dtype_is_quantized(t) || !transposed)) continue;
                DeviceBuffer dy = test::poisoned(want.size());
                cuda::matmul_kernel(kind, dx.as<float>(), rows_total, m, dy.as<float>(), groups, nullptr);
                expect_close(test::to_host<float>(dy, want.size()), want, mag, 1e-5,
                             cat("rows ", rows_total, " transposed ", transposed, " kernel ", kind));
            }
        }
    }
}

TEST_P(CudaMatmul, EmbeddingRowsAreExact) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    std::mt19937_64 rng(test::test_seed());
    const int64_t V = 37, D = k_for(t);
    const HostMatrix w = random_matrix(rng, t, V, D);
    const std::vector<int32_t> tokens = {3, 0, 36, 3, 17};
    const DeviceBuffer dw = test::to_device(w.bytes), dt = test::to_device(tokens);
    cuda::DeviceMatrix m;
    m.data = dw.get();
    m.dtype = t;
    m.out = V;
    m.in = D;
    m.row_bytes = quant::row_size(t, D);
    DeviceBuffer out = test::poisoned(tokens.size() * D);
    cuda::embed_rows(m, dt.as<int32_t>(), static_cast<int64_t>(tokens.size()), out.as<float>(), nullptr);
    const std::vector<float> got = test::to_host<float>(out, tokens.size() * D);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        for (int64_t c = 0; c < D; ++c) ASSERT_EQ(got[i * D + c], w.values[tokens[i] * D + c]) << "row " << i << " col " << c;
}

// Σ_k x[k] · w[k] in double, and Σ |x[k] · w[k]| (the tolerance's scale).
void dot_ref(const float* x, const float* w, int64_t K, double& sum, double& mag) {
    sum = 0, mag = 0;
    for (int64_t k = 0; k < K; ++k) {
        sum += static_cast<double>(x[k]) * w[k];
        mag += std::abs(static_cast<double>(x[k]) * w[k]);
    }
}

// The bf16 bits of x rounded to nearest even (what __float2bfloat16_rn does; values here are
// finite), and that value as a float.
uint16_t bf16_bits(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
float bf16_round(float x) {
    const uint32_t u = static_cast<uint32_t>(bf16_bits(x)) << 16;
    float r;
    std::memcpy(&r, &u, 4);
    return r;
}

// The fast mode's kernel (kind 4, bf16 tensor cores): against the products of the bf16-rounded
// operands summed in double, dense (tiles cut by T = 130 and N = 75) and grouped per expert; and
// matmul choosing it only for many rows when asked to.
TEST_P(CudaMatmul, TensorCoresMatchBf16RoundedReference) {
    // The host twin's rounding itself (bf16 steps are 2^-7 at 1): nearest, ties to even.
    ASSERT_EQ(bf16_round(1.0f + 0.005859375f), 1.0078125f);  // 1 + 0.75 step: up
    ASSERT_EQ(bf16_round(1.0f + 0.00390625f), 1.0f);         // 1 + 0.5 step: down to the even 1
    ASSERT_EQ(bf16_round(1.0f + 0.01171875f), 1.015625f);    // 1 + 1.5 steps: up to the even 1 + 2 steps
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(t)));
    std::mt19937_64 rng(seed);
    const int64_t E = 2, K = k_for(t), N = 75;
    const DeviceWeights dwt = device_weights(rng, t, E, N, K, 0);
    const HostMatrix& w = dwt.host;
    const cuda::DeviceMatrix& m = dwt.m;  // two experts [2, N, K]
    std::vector<float> wr(w.values.size());
    for (std::size_t i = 0; i < wr.size(); ++i) wr[i] = bf16_round(w.values[i]);
    {  // the library-GEMM ingredients: the same bf16 values, bit for bit
        cuda::DeviceMatrix both = m;
        both.out = E * N;
        cuda::DeviceBuffer wb(static_cast<std::size_t>(E * N * K) * 2);
        cuda::dequantize_bf16(both, wb.as<uint16_t>(), nullptr);
        const auto got = test::to_host<uint16_t>(wb, static_cast<std::size_t>(E * N * K));
        for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], bf16_bits(w.values[i])) << "weight " << i;
        const std::vector<float> xs = test::random_floats(rng, 1001);
        const DeviceBuffer dxs = test::to_device(xs);
        cuda::DeviceBuffer xb(1001 * 2);
        cuda::round_bf16(dxs.as<float>(), 1001, xb.as<uint16_t>(), nullptr);
        const auto gx = test::to_host<uint16_t>(xb, 1001);
        for (std::size_t i = 0; i < gx.size(); ++i) ASSERT_EQ(gx[i], bf16_bits(xs[i])) << "x " << i;
    }
    for (int64_t T : {9, 70, 130}) {
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
        std::vector<float> xr(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) xr[i] = bf16_round(x[i]);
        const DeviceBuffer dx = test::to_device(x);
        // Dense (expert 0), then grouped: rows [0, T/2) expert 1, the rest expert 0.
        const int32_t half = static_cast<int32_t>(T / 2);
        const std::vector<int32_t> slot_expert = {1, 0}, offset = {0, half, static_cast<int32_t>(T)};
        const DeviceBuffer dexp = test::to_device(slot_expert), doff = test::to_device(offset);
        for (bool grouped : {false, true}) {
            std::vector<double> want(static_cast<std::size_t>(T * N)), mag(want.size());
            double err_exact = 0;  // how far the rounded products are from the exact ones
            for (int64_t i = 0; i < T; ++i) {
                const int64_t e = grouped && i < half ? 1 : 0;
                for (int64_t n = 0; n < N; ++n) {
                    double s, a, s_exact, a_exact;
                    dot_ref(xr.data() + i * K, wr.data() + (e * N + n) * K, K, s, a);
                    dot_ref(x.data() + i * K, w.values.data() + (e * N + n) * K, K, s_exact, a_exact);
                    want[i * N + n] = s, mag[i * N + n] = a;
                    err_exact = std::max(err_exact, std::abs(s - s_exact) / a_exact);
                }
            }
            cuda::DeviceMatrix me = m;
            me.expert_bytes = grouped ? m.row_bytes * static_cast<std::size_t>(N) : 0;
            const cuda::RowGroups groups = grouped ? cuda::RowGroups{dexp.as<int32_t>(), doff.as<int32_t>(), 2} : cuda::RowGroups{};
            DeviceBuffer dy = test::poisoned(want.size());
            cuda::matmul_kernel(4, dx.as<float>(), T, me, dy.as<float>(), groups, nullptr);
            const std::string what = cat("T ", T, grouped ? " grouped" : " dense");
            expect_close(test::to_host<float>(dy, want.size()), want, mag, 2e-5, what);
            // The reference is not the exact product: bf16 rounding moves it by more than the tolerance.
            EXPECT_GT(err_exact, 1e-4) << what;
            if (!grouped) {  // matmul with tensor_cores: kind 4 for these row counts (> 8)
                DeviceBuffer dm = test::poisoned(want.size());
                cuda::matmul(dx.as<float>(), T, me, dm.as<float>(), {}, nullptr, true);
                const bool fused = cuda::matvec_preferred(me, T, false);  // K-quants / Q8_0 up to 16 rows stay float32
                if (!fused) expect_close(test::to_host<float>(dm, want.size()), want, mag, 2e-5, what + " matmul");
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Types, CudaMatmul, ::testing::ValuesIn(kWeightTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// ---- matvec_jobs: the decode mat-vec, several products per launch -----------------------------


// Checks y [rows, N] of a product (pair: silu(gate) · up) against the host values; row_expert[t]
// is the expert of row t (-1: rows not computed, left unchecked).
void check_product(const std::vector<float>& y, const std::vector<float>& x, int64_t K, int64_t N,
                   const std::vector<int>& row_expert, const DeviceWeights& w, const DeviceWeights* w2,
                   const std::string& what) {
    for (std::size_t t = 0; t < row_expert.size(); ++t) {
        if (row_expert[t] < 0) continue;
        for (int64_t n = 0; n < N; ++n) {
            const float* wr = w.host.values.data() + (row_expert[t] * N + n) * K;
            double g, gm;
            dot_ref(x.data() + t * K, wr, K, g, gm);
            const float got = y[t * N + n];
            if (w2 == nullptr) {
                ASSERT_LE(std::abs(got - g), 1e-5 * gm + 1e-6) << what << " row " << t << " out " << n;
                continue;
            }
            double u, um;
            dot_ref(x.data() + t * K, w2->host.values.data() + (row_expert[t] * N + n) * K, K, u, um);
            const double silu = g / (1.0 + std::exp(-g));
            const double want = silu * u;
            const double tol = 1e-5 * (gm * 1.1 * (std::abs(u) + 1.0) + um * (std::abs(silu) + 1.0)) + 1e-6;
            ASSERT_LE(std::abs(got - want), tol) << what << " pair row " << t << " out " << n << ": " << got << " vs " << want;
        }
    }
}

class CudaMatvecJobs : public ::testing::TestWithParam<DType> {};

// Four products in one launch (two K, odd N, a gate/up pair), rows 1 .. 19 (chunks of 8 with a
// partial one), K with a partial last step, a base 2 bytes off 4-byte alignment where allowed.
TEST_P(CudaMatvecJobs, FusedProductsMatchReference) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(t)));
    std::mt19937_64 rng(seed);
    const bool kquant = quant::block_size(t) == 256;
    const int64_t K1 = kquant ? 1280 : 288, K2 = kquant ? 512 : 96;
    const std::size_t off = t == DType::Q4_K ? 0 : 2;
    const DeviceWeights a = device_weights(rng, t, 1, 37, K1, off), b = device_weights(rng, t, 1, 70, K1, 0);
    const DeviceWeights c = device_weights(rng, t, 1, 5, K2, off), g = device_weights(rng, t, 1, 21, K2, off);
    const DeviceWeights u = device_weights(rng, t, 1, 21, K2, off);
    for (const DeviceWeights* w : {&a, &b, &c, &g, &u}) ASSERT_TRUE(cuda::matvec_supported(w->m));
    for (int64_t T : {1, 3, 8, 19}) {
        const std::vector<float> x1 = test::random_floats(rng, static_cast<std::size_t>(T * K1));
        const std::vector<float> x2 = test::random_floats(rng, static_cast<std::size_t>(T * K2));
        const DeviceBuffer dx1 = test::to_device(x1), dx2 = test::to_device(x2);
        const std::vector<int> rows(static_cast<std::size_t>(T), 0);
        for (int rpw : {0, 1}) {
            if (rpw == 1 && (T != 1 || t == DType::Q8_0)) continue;  // the benchmark variant: T = 1, no pairs
            DeviceBuffer y1 = test::poisoned(static_cast<std::size_t>(T * 37)), y2 = test::poisoned(static_cast<std::size_t>(T * 70));
            DeviceBuffer y3 = test::poisoned(static_cast<std::size_t>(T * 5)), y4 = test::poisoned(static_cast<std::size_t>(T * 21));
            const cuda::MatvecJob jobs[4] = {{&a.m, nullptr, dx1.as<float>(), T, y1.as<float>(), {}},
                                             {&b.m, nullptr, dx1.as<float>(), T, y2.as<float>(), {}},
                                             {&c.m, nullptr, dx2.as<float>(), T, y3.as<float>(), {}},
                                             {&g.m, &u.m, dx2.as<float>(), T, y4.as<float>(), {}}};
            cuda::matvec_jobs(jobs, rpw == 1 ? 3 : 4, nullptr, rpw);
            const std::string what = cat("T ", T, " rows per warp ", rpw);
            check_product(test::to_host<float>(y1, static_cast<std::size_t>(T * 37)), x1, K1, 37, rows, a, nullptr, what);
            check_product(test::to_host<float>(y2, static_cast<std::size_t>(T * 70)), x1, K1, 70, rows, b, nullptr, what);
            check_product(test::to_host<float>(y3, static_cast<std::size_t>(T * 5)), x2, K2, 5, rows, c, nullptr, what);
            if (rpw != 1)
                check_product(test::to_host<float>(y4, static_cast<std::size_t>(T * 21)), x2, K2, 21, rows, g, &u, what);
        }
    }
}

// Experts [E, N, K] with rows grouped per expert (an empty group; groups of up to 38 rows, so
// several chunks of 8 per group), a plain product and a gate/up pair in one launch.
TEST_P(CudaMatvecJobs, GroupedExpertsAnyRowsPerGroup) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(t)));
    std::mt19937_64 rng(seed);
    const int64_t E = 3, N = 29, K = quant::block_size(t) == 256 ? 768 : 160;
    const DeviceWeights w = device_weights(rng, t, E, N, K, 0), w2 = device_weights(rng, t, E, N, K, 0);
    const std::vector<int32_t> slot_expert = {2, 0, 1, 0};  // slot 2 is empty
    for (int64_t rows_total : {2, 6, 40}) {
        const auto r3 = static_cast<int32_t>(rows_total / 3), rl = static_cast<int32_t>(rows_total - 1);
        const std::vector<int32_t> offset = {0, r3, rl, rl, static_cast<int32_t>(rows_total)};
        std::vector<int> row_expert(static_cast<std::size_t>(rows_total));
        for (std::size_t s = 0; s < 4; ++s)
            for (int32_t i = offset[s]; i < offset[s + 1]; ++i) row_expert[static_cast<std::size_t>(i)] = slot_expert[s];
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(rows_total * K));
        const DeviceBuffer dx = test::to_device(x), dexp = test::to_device(slot_expert), doff = test::to_device(offset);
        const cuda::RowGroups groups{dexp.as<int32_t>(), doff.as<int32_t>(), 4};
        DeviceBuffer y = test::poisoned(static_cast<std::size_t>(rows_total * N)), yp = test::poisoned(static_cast<std::size_t>(rows_total * N));
        const cuda::MatvecJob jobs[2] = {{&w.m, nullptr, dx.as<float>(), rows_total, y.as<float>(), groups},
                                         {&w.m, &w2.m, dx.as<float>(), rows_total, yp.as<float>(), groups}};
        cuda::matvec_jobs(jobs, 2, nullptr);
        const std::string what = cat("rows ", rows_total);
        check_product(test::to_host<float>(y, static_cast<std::size_t>(rows_total * N)), x, K, N, row_expert, w, nullptr, what);
        check_product(test::to_host<float>(yp, static_cast<std::size_t>(rows_total * N)), x, K, N, row_expert, w, &w2, what);
        // matmul picks matvec_jobs for grouped rows (up to 256).
        DeviceBuffer ym = test::poisoned(static_cast<std::size_t>(rows_total * N));
        cuda::matmul(dx.as<float>(), rows_total, w.m, ym.as<float>(), groups, nullptr);
        check_product(test::to_host<float>(ym, static_cast<std::size_t>(rows_total * N)), x, K, N, row_expert, w, nullptr,
                      what + " matmul");
    }
}

INSTANTIATE_TEST_SUITE_P(Types, CudaMatvecJobs, ::testing::Values(DType::Q4_K, DType::Q6_K, DType::Q8_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// run_products: fused launches for the formats matvec_jobs reads, the generic path (a pair as two
// products and silu_mul) for the others, in the order given.
TEST(CudaOps, RunProductsMixesFusedAndGenericPaths) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    const int64_t K = 512, N = 19;
    const DeviceWeights q1 = device_weights(rng, DType::Q4_K, 1, N, K, 0), q2 = device_weights(rng, DType::Q4_K, 1, N, K, 0);
    const DeviceWeights f1 = device_weights(rng, DType::F16, 1, N, K, 0), f2 = device_weights(rng, DType::F16, 1, N, K, 0);
    const DeviceWeights s1 = device_weights(rng, DType::Q6_K, 1, N, K, 0);
    for (int64_t T : {1, 5, 12}) {
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
        const DeviceBuffer dx = test::to_device(x);
        const auto n = static_cast<std::size_t>(T * N);
        DeviceBuffer y0 = test::poisoned(n), y1 = test::poisoned(n), y2 = test::poisoned(n), y3 = test::poisoned(n),
                     scratch = test::poisoned(n);
        const cuda::MatvecJob jobs[4] = {{&q1.m, &q2.m, dx.as<float>(), T, y0.as<float>(), {}},
                                         {&f1.m, &f2.m, dx.as<float>(), T, y1.as<float>(), {}},
                                         {&s1.m, nullptr, dx.as<float>(), T, y2.as<float>(), {}},
                                         {&q2.m, nullptr, dx.as<float>(), T, y3.as<float>(), {}}};
        cuda::run_products(jobs, 4, scratch.as<float>(), nullptr);
        const std::vector<int> rows(static_cast<std::size_t>(T), 0);
        const std::string what = cat("T ", T);
        check_product(test::to_host<float>(y0, n), x, K, N, rows, q1, &q2, what);
        check_product(test::to_host<float>(y1, n), x, K, N, rows, f1, &f2, what);
        check_product(test::to_host<float>(y2, n), x, K, N, rows, s1, nullptr, what);
        check_product(test::to_host<float>(y3, n), x, K, N, rows, q2, nullptr, what);
    }
}

// The CPU's RMSNorm, operation for operation (double mean of squares, float products).
float host_inv_rms(const float* x, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    return 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
}

TEST(CudaOps, RmsNormMatchesCpuFormula) {
    SCOUT_REQUIRE_GPU();
    std::mt19937_64 rng(test::test_seed());
    const int64_t T = 5, n = 333;
    const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * n), 3.0f);
    std::vector<float> wf = test::random_floats(rng, static_cast<std::size_t>(n));
    std::vector<uint16_t> wb(wf.size());
    for (std::size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i]), wf[i] = bf16_to_f32(wb[i]);
    const DeviceBuffer dx = test::to_device(x), dw = test::to_device(wb);
    DeviceBuffer dy = test::poisoned(x.size());
    cuda::rms_norm(dx.as<float>(), T, n, {dw.get(), DType::BF16, n}, 1e-5f, dy.as<float>(), nullptr);
    const std::vector<float> y = test::to_host<float>(dy, x.size());
    for (int64_t t = 0; t < T; ++t) {
        const float r = host_inv_rms(x.data() + t * n, n, 1e-5f);
        for (int64_t i = 0; i < n; ++i) {
            const float want = (x[t * n + i] * r) * wf[i];
            ASSERT_NEAR(y[t * n + i], want, 1e-6f * std::abs(want) + 1e-30f) << t << "," << i;
        }
    }
    // Weightless, rows of a head (QK norm), in place.
    for (int64_t d : {24, 128}) {
        const int64_t rows = 7;
        std::vector<float> q = test::random_floats(rng, static_cast<std::size_t>(rows * d));
        DeviceBuffer dq = test::to_device(q);
        cuda::rms_norm_noweight(dq.as<float>(), rows, d, 1e-5f, nullptr);
        const std::vector<float> got = test::to_host<float>(dq, q.size());
        for (int64_t r = 0; r < rows; ++r) {
            const float s = host_inv_rms(q.data() + r * d, d, 1e-5f);
            for (int64_t i = 0; i < d; ++i) ASSERT_NEAR(got[r * d + i], q[r * d + i] * s, 1e-6f * std::abs(q[r * d + i] * s));
        }
    }
}

TEST(CudaOps, RopeTemperatureAndElementwise) {
    SCOUT_REQUIRE_GPU();
    std::mt19937_64 rng(test::test_seed());
    const int64_t T = 4, heads = 3, d = 24;
    const std::vector<int32_t> pos = {0, 7, 8191, 123456};
    std::vector<float> inv(static_cast<std::size_t>(d / 2));
    for (int64_t j = 0; j < d / 2; ++j) inv[j] = static_cast<float>(std::pow(500000.0, -2.0 * j / d));
    std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * heads * d));
    DeviceBuffer dx = test::to_device(x);
    const DeviceBuffer dp = test::to_device(pos), di = test::to_device(inv);
    cuda::rope(dx.as<float>(), T, heads, d, dp.as<int32_t>(), di.as<float>(), nullptr);
    const std::vector<float> got = test::to_host<float>(dx, x.size());
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t j = 0; j < d / 2; ++j) {
                const float angle = static_cast<float>(pos[t]) * inv[j];
                const auto c = static_cast<float>(std::cos(static_cast<double>(angle)));
                const auto s = static_cast<float>(std::sin(static_cast<double>(angle)));
                const float* v = x.data() + (t * heads + h) * d + 2 * j;
                const float* g = got.data() + (t * heads + h) * d + 2 * j;
                ASSERT_NEAR(g[0], v[0] * c - v[1] * s, 1e-6f);
                ASSERT_NEAR(g[1], v[0] * s + v[1] * c, 1e-6f);
            }
    // Temperature rows, residual add, SwiGLU.
    const std::vector<float> scales = {1.0f, 1.5f, 0.25f, 3.0f};
    const DeviceBuffer ds = test::to_device(scales);
    DeviceBuffer dy = test::to_device(x);
    cuda::scale_rows(dy.as<float>(), T, heads * d, ds.as<float>(), nullptr);
    const std::vector<float> scaled = test::to_host<float>(dy, x.size());
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(scaled[i], x[i] * scales[i / (heads * d)]);
    const std::vector<float> u = test::random_floats(rng, x.size());
    const DeviceBuffer du = test::to_device(u);
    DeviceBuffer dg = test::to_device(x);
    cuda::silu_mul(dg.as<float>(), du.as<float>(), static_cast<int64_t>(x.size()), nullptr);
    cuda::add_inplace(dg.as<float>(), du.as<float>(), static_cast<int64_t>(x.size()), nullptr);
    const std::vector<float> sg = test::to_host<float>(dg, x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float want = (x[i] / (1.0f + std::exp(-x[i]))) * u[i] + u[i];
        ASSERT_NEAR(sg[i], want, 1e-6f * (std::abs(want) + 1.0f));
    }
}

// residual_norm: the add (with routed expert outputs in moe_combine's order) is bit-exact; the
// norm follows rms_norm's formula; without a weight only h changes.
TEST(CudaOps, ResidualNormFusesAddCombineAndNorm) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    const int64_t T = 5, D = 333;
    for (int64_t k : {0, 1, 2}) {
        for (bool with_norm : {true, false}) {
            const std::vector<float> h = test::random_floats(rng, static_cast<std::size_t>(T * D), 3.0f);
            const std::vector<float> br = test::random_floats(rng, static_cast<std::size_t>(T * D));
            const std::vector<float> ye = test::random_floats(rng, static_cast<std::size_t>(std::max<int64_t>(1, T * k) * D));
            std::vector<int32_t> ta(static_cast<std::size_t>(std::max<int64_t>(1, T * k)));
            std::iota(ta.begin(), ta.end(), 0);
            std::shuffle(ta.begin(), ta.end(), rng);
            const std::vector<float> w = test::random_floats(rng, static_cast<std::size_t>(D));
            DeviceBuffer dh = test::to_device(h), dxn = test::poisoned(static_cast<std::size_t>(T * D));
            const DeviceBuffer dbr = test::to_device(br), dye = test::to_device(ye), dta = test::to_device(ta), dw = test::to_device(w);
            const cuda::DeviceVector wv = with_norm ? cuda::DeviceVector{dw.get(), DType::F32, D} : cuda::DeviceVector{};
            cuda::residual_norm(dh.as<float>(), dbr.as<float>(), k > 0 ? dye.as<float>() : nullptr,
                                k > 0 ? dta.as<int32_t>() : nullptr, k, T, D, wv, 1e-5f, dxn.as<float>(), nullptr);
            const std::vector<float> gh = test::to_host<float>(dh, h.size()), gx = test::to_host<float>(dxn, h.size());
            for (int64_t t = 0; t < T; ++t) {
                std::vector<float> want(static_cast<std::size_t>(D));
                for (int64_t c = 0; c < D; ++c) {
                    float routed = 0.0f;
                    for (int64_t j = 0; j < k; ++j) routed += ye[static_cast<std::size_t>(ta[t * k + j] * D + c)];
                    const float b = k > 0 ? br[t * D + c] + routed : br[t * D + c];
                    want[c] = h[t * D + c] + b;
                    ASSERT_EQ(gh[t * D + c], want[c]) << "k " << k << " row " << t << " col " << c;
                }
                if (!with_norm) continue;
                const float r = host_inv_rms(want.data(), D, 1e-5f);
                for (int64_t c = 0; c < D; ++c) {
                    const float wn = (want[c] * r) * w[c];
                    ASSERT_NEAR(gx[t * D + c], wn, 1e-6f * std::abs(wn) + 1e-30f) << "k " << k << " row " << t << " col " << c;
                }
            }
        }
    }
}

// attn_prep: RoPE, QK norm and temperature in one launch, as rope / rms_norm_noweight / scale_rows.
TEST(CudaOps, AttnPrepMatchesRopeNormAndTemperature) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    const std::vector<int32_t> pos = {0, 7, 8191, 123456};
    const std::vector<float> temps = {1.0f, 1.5f, 0.25f, 3.0f};
    const int64_t T = 4, H = 5, Hkv = 2;
    for (int64_t d : {24, 128}) {
        std::vector<float> inv(static_cast<std::size_t>(d / 2));
        for (int64_t j = 0; j < d / 2; ++j) inv[j] = static_cast<float>(std::pow(500000.0, -2.0 * j / d));
        const DeviceBuffer dp = test::to_device(pos), di = test::to_device(inv), dt = test::to_device(temps);
        for (int mode = 0; mode < 3; ++mode) {  // 0: RoPE + QK norm, 1: RoPE only, 2: temperature only
            const std::vector<float> q = test::random_floats(rng, static_cast<std::size_t>(T * H * d));
            const std::vector<float> k = test::random_floats(rng, static_cast<std::size_t>(T * Hkv * d));
            DeviceBuffer dq = test::to_device(q), dk = test::to_device(k);
            cuda::attn_prep(dq.as<float>(), dk.as<float>(), T, H, Hkv, d, dp.as<int32_t>(), mode < 2 ? di.as<float>() : nullptr,
                            mode == 0, 1e-5f, mode == 2 ? dt.as<float>() : nullptr, nullptr);
            const std::vector<float> gq = test::to_host<float>(dq, q.size()), gk = test::to_host<float>(dk, k.size());
            for (int64_t t = 0; t < T; ++t)
                for (int64_t hh = 0; hh < H + Hkv; ++hh) {
                    const bool is_q = hh < H;
                    const float* src = is_q ? q.data() + (t * H + hh) * d : k.data() + (t * Hkv + hh - H) * d;
                    const float* got = is_q ? gq.data() + (t * H + hh) * d : gk.data() + (t * Hkv + hh - H) * d;
                    std::vector<float> want(src, src + d);
                    if (mode < 2)
                        for (int64_t j = 0; j < d / 2; ++j) {
                            const float angle = static_cast<float>(pos[t]) * inv[j];
                            const auto c = static_cast<float>(std::cos(static_cast<double>(angle)));
                            const auto sn = static_cast<float>(std::sin(static_cast<double>(angle)));
                            want[2 * j] = src[2 * j] * c - src[2 * j + 1] * sn;
                            want[2 * j + 1] = src[2 * j] * sn + src[2 * j + 1] * c;
                        }
                    if (mode == 0) {
                        const float r = host_inv_rms(want.data(), d, 1e-5f);
                        for (float& v : want) v *= r;
                    }
                    if (mode == 2 && is_q)
                        for (float& v : want) v *= temps[t];
                    for (int64_t c = 0; c < d; ++c)
                        ASSERT_NEAR(got[c], want[c], 2e-6f * (std::abs(want[c]) + 1.0f))
                            << "mode " << mode << " d " << d << " row " << t << " head " << hh << " dim " << c;
                }
        }
    }
}

// KV writes (bit-identical to kv_encode_row) and attention (against a double-precision reference
// on the decoded rows) on a two-layer plan: layer 0 chunked (C = 8), layer 1 global, pages of 4.
class CudaKvAttention : public ::testing::TestWithParam<kv::KvType> {};

TEST_P(CudaKvAttention, WritesAndAttendsLikeTheReference) {
    SCOUT_REQUIRE_GPU();
    const kv::KvType type = GetParam();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("kv ", kv::kv_type_name(type)));
    std::mt19937_64 rng(seed);
    const int64_t H = 6, Hkv = 2, d = type == kv::KvType::Q8_0 ? 64 : 24, C = 8, n = 13;
    model::LayerPlan plan;
    plan.chunk_size = C;
    plan.layers = {model::LayerRule{true, true, true, false, true}, model::LayerRule{false, false, false, true, true}};
    auto pool = std::make_shared<cuda::PagePool>(std::size_t{1} << 20);
    cuda::DeviceKv kvm(plan, Hkv, d, type, 4, pool);
    kvm.reserve(n, nullptr);
    const std::size_t head_bytes = static_cast<std::size_t>(kv::kv_row_bytes(type, d));
    const std::vector<float> q = test::random_floats(rng, static_cast<std::size_t>(n * H * d));
    const std::vector<float> k = test::random_floats(rng, static_cast<std::size_t>(n * Hkv * d), 2.0f);
    const std::vector<float> v = test::random_floats(rng, static_cast<std::size_t>(n * Hkv * d));
    std::vector<int32_t> positions(static_cast<std::size_t>(n)), row_seq(static_cast<std::size_t>(n), 0);
    std::iota(positions.begin(), positions.end(), 0);
    const DeviceBuffer dq = test::to_device(q), dk = test::to_device(k), dv = test::to_device(v);
    const DeviceBuffer dpos = test::to_device(positions), dseq = test::to_device(row_seq);
    const std::vector<void* const*> tables = {kvm.device_table()};
    const std::vector<int32_t> caps = {kvm.capacity()};
    const DeviceBuffer dtab = test::to_device(tables), dcap = test::to_device(caps);
    // Host copy of the page table, to read the stored bytes back.
    std::vector<void*> table(static_cast<std::size_t>(2 * 2 * kvm.capacity()));
    SCOUT_CUDA_CHECK(cudaMemcpy(table.data(), kvm.device_table(), table.size() * sizeof(void*), cudaMemcpyDeviceToHost));
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    for (int il = 0; il < 2; ++il) {
        const bool chunked = plan.layers[static_cast<std::size_t>(il)].chunked;
        cuda::KvView view{dtab.as<void* const* const>(), dcap.as<int32_t>(), type, Hkv, d, 4, chunked, C, il};
        DeviceBuffer out = test::poisoned(static_cast<std::size_t>(n * H * d));
        // Chunked layer: phase 0 = positions 0..7, phase 1 = 8..12 (the ring's slots are reused).
        const std::vector<std::vector<int32_t>> phases =
            chunked ? std::vector<std::vector<int32_t>>{{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12}}
                    : std::vector<std::vector<int32_t>>{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
        for (const auto& rows : phases) {
            const DeviceBuffer drows = test::to_device(rows);
            const auto nr = static_cast<int64_t>(rows.size());
            cuda::kv_write(dk.as<float>(), dv.as<float>(), drows.as<int32_t>(), nr, dpos.as<int32_t>(), dseq.as<int32_t>(),
                           view, nullptr);
            cuda::attention(dq.as<float>(), out.as<float>(), drows.as<int32_t>(), nr, dpos.as<int32_t>(),
                            dseq.as<int32_t>(), view, H, scale, nullptr);
        }
        const std::vector<float> got = test::to_host<float>(out, static_cast<std::size_t>(n * H * d));
        // Stored bytes of the last position of each slot equal the reference encoder's.
        std::vector<uint8_t> want_bytes(head_bytes), got_bytes(head_bytes);
        for (int64_t p = chunked ? C : 0; p < n; ++p)
            for (int kind = 0; kind < 2; ++kind)
                for (int64_t g = 0; g < Hkv; ++g) {
                    const int64_t slot = chunked ? p % C : p;
                    const auto* page = static_cast<const uint8_t*>(table[(il * 2 + kind) * kvm.capacity() + slot / 4]);
                    SCOUT_CUDA_CHECK(cudaMemcpy(got_bytes.data(), page + ((slot % 4) * Hkv + g) * head_bytes, head_bytes,
                                                cudaMemcpyDeviceToHost));
                    kv::kv_encode_row(type, (kind == 0 ? k : v).data() + (p * Hkv + g) * d, d, want_bytes.data());
                    ASSERT_EQ(got_bytes, want_bytes) << "layer " << il << " pos " << p << " kind " << kind << " head " << g;
                }
        // Attention against the decoded rows, in double.
        std::vector<float> kr(static_cast<std::size_t>(d)), vr(static_cast<std::size_t>(d));
        std::vector<uint8_t> enc(head_bytes);
        for (int64_t a = 0; a < n; ++a)
            for (int64_t h = 0; h < H; ++h) {
                const int64_t g = h / (H / Hkv);
                std::vector<double> sc;
                std::vector<double> o(static_cast<std::size_t>(d), 0.0);
                const int64_t lo = kv::first_visible_key(a, chunked, C);
                for (int64_t t = lo; t <= a; ++t) {
                    kv::kv_encode_row(type, k.data() + (t * Hkv + g) * d, d, enc.data());
                    kv::kv_decode_row(type, enc.data(), d, kr.data());
                    double s = 0;
                    for (int64_t c = 0; c < d; ++c) s += static_cast<double>(q[(a * H + h) * d + c]) * kr[c];
                    sc.push_back(s * scale);
                }
                const double m = *std::max_element(sc.begin(), sc.end());
                double z = 0;
                for (double& s : sc) z += (s = std::exp(s - m));
                for (int64_t t = lo; t <= a; ++t) {
                    kv::kv_encode_row(type, v.data() + (t * Hkv + g) * d, d, enc.data());
                    kv::kv_decode_row(type, enc.data(), d, vr.data());
                    for (int64_t c = 0; c < d; ++c) o[c] += sc[t - lo] / z * vr[c];
                }
                for (int64_t c = 0; c < d; ++c)
                    ASSERT_NEAR(got[(a * H + h) * d + c], o[c], 2e-5) << "layer " << il << " query " << a << " head " << h;
            }
    }
    EXPECT_GT(kvm.bytes_allocated(), 0u);
    kvm.clear();
    EXPECT_EQ(kvm.bytes_allocated(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Types, CudaKvAttention,
                         ::testing::Values(kv::KvType::F32, kv::KvType::F16, kv::KvType::BF16, kv::KvType::Q8_0),
                         [](const auto& info) { return std::string(kv::kv_type_name(info.param)); });

// Routing on the device equals route_token + grouping on the host (ties included), and the
// gather / combine follow moe_ffn's products and summation order.
TEST(CudaOps, RoutingGroupingAndCombine) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    for (int64_t k : {1, 2}) {
        const int64_t T = 37, E = 5, D = 19;
        std::vector<float> logits = test::random_floats(rng, static_cast<std::size_t>(T * E));
        for (int64_t t = 0; t < T; t += 4) logits[t * E + 3] = logits[t * E + 1];  // ties
        for (int64_t t = 0; t < T; ++t) logits[t * E + 4] -= 10.0f;               // expert 4 mostly unused
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * D));
        const std::vector<float> shared = test::random_floats(rng, static_cast<std::size_t>(T * D));
        DeviceBuffer dl = test::to_device(logits), dx = test::to_device(x), dsh = test::to_device(shared);
        DeviceBuffer ri(static_cast<std::size_t>(3 * T * k + 2 * E + 1) * 4), rf(static_cast<std::size_t>(2 * T * k) * 4);
        auto* pi = ri.as<int32_t>();
        auto* pf = rf.as<float>();
        const cuda::RouteBuffers r{pi, pf, pi + 3 * T * k, pi + 3 * T * k + E, pi + T * k, pf + T * k, pi + 2 * T * k};
        cuda::route_tokens(dl.as<float>(), T, E, k, r, nullptr);
        // Host twin.
        std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<std::size_t>(E));
        for (int64_t t = 0; t < T; ++t) {
            std::vector<int32_t> order(static_cast<std::size_t>(E));
            std::iota(order.begin(), order.end(), 0);
            const float* lg = logits.data() + t * E;
            std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return lg[a] > lg[b]; });
            for (int64_t i = 0; i < k; ++i)
                assigned[order[i]].emplace_back(t, 1.0f / (1.0f + std::exp(-lg[order[i]])));
        }
        std::vector<int32_t> slot_expert, slot_offset{0}, assign_token;
        std::vector<float> assign_score;
        for (int64_t e = 0; e < E; ++e) {
            if (assigned[e].empty()) continue;
            slot_expert.push_back(static_cast<int32_t>(e));
            for (auto [t, s] : assigned[e]) assign_token.push_back(static_cast<int32_t>(t)), assign_score.push_back(s);
            slot_offset.push_back(static_cast<int32_t>(assign_token.size()));
        }
        const auto ns = slot_expert.size();
        const std::vector<int32_t> gi = test::to_host<int32_t>(ri, static_cast<std::size_t>(3 * T * k + 2 * E + 1));
        const std::vector<float> gf = test::to_host<float>(rf, static_cast<std::size_t>(2 * T * k));
        for (std::size_t s = 0; s < ns; ++s) {
            EXPECT_EQ(gi[3 * T * k + s], slot_expert[s]) << "slot " << s;
            EXPECT_EQ(gi[3 * T * k + E + s], slot_offset[s]) << "slot " << s;
        }
        for (std::size_t s = ns; s <= static_cast<std::size_t>(E); ++s) EXPECT_EQ(gi[3 * T * k + E + s], T * k);
        for (int64_t a = 0; a < T * k; ++a) {
            EXPECT_EQ(gi[T * k + a], assign_token[a]) << "assignment " << a;
            EXPECT_NEAR(gf[T * k + a], assign_score[a], 3e-7f) << "assignment " << a;  // expf vs std::exp: a few ulp
        }
        // Gather (scaled inputs), fake expert outputs = inputs, combine.
        DeviceBuffer xs = test::poisoned(static_cast<std::size_t>(T * k * D));
        cuda::gather_scaled(dx.as<float>(), D, r, T * k, xs.as<float>(), nullptr);
        DeviceBuffer y = test::poisoned(static_cast<std::size_t>(T * D));
        cuda::moe_combine(dsh.as<float>(), xs.as<float>(), r, T, k, D, y.as<float>(), nullptr);
        const std::vector<float> gy = test::to_host<float>(y, static_cast<std::size_t>(T * D));
        std::vector<float> routed(static_cast<std::size_t>(T * D), 0.0f);
        for (int64_t e = 0; e < E; ++e)
            for (auto [t, s] : assigned[e])
                for (int64_t c = 0; c < D; ++c) routed[t * D + c] += x[t * D + c] * s;
        for (int64_t i = 0; i < T * D; ++i) ASSERT_NEAR(gy[i], shared[i] + routed[i], 5e-6f) << "k " << k << " at " << i;
    }
}

// route_and_gather equals route_tokens + gather_scaled bit for bit, whether the routing kernel
// gathers (few assignments) or a separate gather runs.
TEST(CudaOps, RouteAndGatherEqualsRouteThenGather) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    const int64_t E = 5, D = 77;
    for (auto [T, k] : {std::pair<int64_t, int64_t>{1, 1}, {3, 2}, {8, 1}, {37, 2}}) {
        const std::vector<float> logits = test::random_floats(rng, static_cast<std::size_t>(T * E));
        const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * D));
        const DeviceBuffer dl = test::to_device(logits), dx = test::to_device(x);
        const auto ni = static_cast<std::size_t>(3 * T * k + 2 * E + 1), nf = static_cast<std::size_t>(2 * T * k);
        std::vector<std::vector<int32_t>> gi;
        std::vector<std::vector<float>> gf, gx;
        for (int fused = 0; fused < 2; ++fused) {
            DeviceBuffer ri(ni * 4), rf(nf * 4);
            SCOUT_CUDA_CHECK(cudaMemset(ri.get(), 0, ri.bytes()));
            SCOUT_CUDA_CHECK(cudaMemset(rf.get(), 0, rf.bytes()));
            auto* pi = ri.as<int32_t>();
            auto* pf = rf.as<float>();
            const cuda::RouteBuffers r{pi, pf, pi + 3 * T * k, pi + 3 * T * k + E, pi + T * k, pf + T * k, pi + 2 * T * k};
            DeviceBuffer xs = test::poisoned(static_cast<std::size_t>(T * k * D));
            if (fused) {
                cuda::route_and_gather(dl.as<float>(), T, E, k, r, dx.as<float>(), D, xs.as<float>(), nullptr);
            } else {
                cuda::route_tokens(dl.as<float>(), T, E, k, r, nullptr);
                cuda::gather_scaled(dx.as<float>(), D, r, T * k, xs.as<float>(), nullptr);
            }
            gi.push_back(test::to_host<int32_t>(ri, ni));
            gf.push_back(test::to_host<float>(rf, nf));
            gx.push_back(test::to_host<float>(xs, static_cast<std::size_t>(T * k * D)));
        }
        EXPECT_EQ(gi[0], gi[1]) << "T " << T << " k " << k;
        EXPECT_EQ(gf[0], gf[1]) << "T " << T << " k " << k;
        for (float v : gx[1]) ASSERT_FALSE(std::isnan(v)) << "T " << T << " k " << k;
        EXPECT_EQ(gx[0], gx[1]) << "T " << T << " k " << k;
    }
}

// The device's top logits against the host twin (backend::top_logits_of), bit for bit: rows with
// many ties at the k-th value (lowest ids must win), -inf, -0.0 beside +0.0, a wide random row,
// a row whose k-th value is unique, NaN and +inf rows (unusable), V below k, and a row of 202,048.
// Decode attention split over the keys (flash-decoding) against the unsplit kernel (itself
// checked against the double reference above): 300 positions, a chunked layer (C = 128: queries
// late in a chunk see up to 128 keys) and a global one, 2 / 5 / 32 splits (the last with empty
// stretches), a listed subset of rows, and attention_splits' choices.
TEST(CudaOps, AttentionSplitsFillTheGpu) {  // host logic: runs without a GPU
    EXPECT_EQ(cuda::attention_splits(512, 40, 132), 1);  // prefill: enough blocks already
    EXPECT_EQ(cuda::attention_splits(1, 40, 132), 27);   // Scout decode: 10 blocks -> about two per SM
    EXPECT_EQ(cuda::attention_splits(8, 40, 132), 4);
    EXPECT_EQ(cuda::attention_splits(128, 40, 132), 1);  // 1,280 blocks
    EXPECT_EQ(cuda::attention_splits(1, 4, 132), cuda::kMaxSplits);
    EXPECT_EQ(cuda::attention_splits(100, 1, 132), 3);
    for (int64_t rows : {1, 7, 100, 511, 512, 513, 5000})
        EXPECT_LE(cuda::attention_splits(rows, 1, 132) == 1 ? 0 : rows * cuda::attention_splits(rows, 1, 132),
                  cuda::kMaxSplitWork) << rows;
}

// One sequence of n = 300 positions in device KV pages of 16 (a chunked layer with C = 128, then
// a global layer), random q/k/v, and the KvView of each layer: the setup of the attention tests
// below. Rows [first_written(il), n) are written by write(il) (the chunked ring keeps one chunk).
struct AttentionSetup {
    static constexpr int64_t kH = 8, kHkv = 2, kC = 128, kN = 300;
    int64_t d;
    kv::KvType type;
    model::LayerPlan plan;
    std::shared_ptr<cuda::PagePool> pool = std::make_shared<cuda::PagePool>(std::size_t{1} << 22);
    std::unique_ptr<cuda::DeviceKv> kvm;
    std::vector<float> q, k, v;
    DeviceBuffer dq, dk, dv, dpos, dseq, dtab, dcap;
    float scale;

    AttentionSetup(std::mt19937_64& rng, int64_t head_dim, kv::KvType kv_type) : d(head_dim), type(kv_type) {
        plan.chunk_size = kC;
        plan.layers = {model::LayerRule{true, true, true, false, true}, model::LayerRule{false, false, false, true, true}};
        kvm = std::make_unique<cuda::DeviceKv>(plan, kHkv, d, type, 16, pool);
        kvm->reserve(kN, nullptr);
        q = test::random_floats(rng, static_cast<std::size_t>(kN * kH * d));
        k = test::random_floats(rng, static_cast<std::size_t>(kN * kHkv * d), 2.0f);
        v = test::random_floats(rng, static_cast<std::size_t>(kN * kHkv * d));
        std::vector<int32_t> positions(static_cast<std::size_t>(kN)), row_seq(static_cast<std::size_t>(kN), 0);
        std::iota(positions.begin(), positions.end(), 0);
        dq = test::to_device(q), dk = test::to_device(k), dv = test::to_device(v);
        dpos = test::to_device(positions), dseq = test::to_device(row_seq);
        dtab = test::to_device(std::vector<void* const*>{kvm->device_table()});
        dcap = test::to_device(std::vector<int32_t>{kvm->capacity()});
        scale = 1.0f / std::sqrt(static_cast<float>(d));
    }
    cuda::KvView view(int il) const {
        return {dtab.as<void* const* const>(), dcap.as<int32_t>(), type, kHkv, d, 16, il == 0, kC, il};
    }
    static int64_t first_written(int il) { return il == 0 ? 256 : 0; }
    void write(int il) const {
        std::vector<int32_t> rows(static_cast<std::size_t>(kN - first_written(il)));
        std::iota(rows.begin(), rows.end(), static_cast<int32_t>(first_written(il)));
        const DeviceBuffer drows = test::to_device(rows);
        cuda::kv_write(dk.as<float>(), dv.as<float>(), drows.as<int32_t>(), static_cast<int64_t>(rows.size()), dpos.as<int32_t>(),
                       dseq.as<int32_t>(), view(il), nullptr);
    }
    // attention() of the listed rows into out [kN, kH, d] (poisoned elsewhere).
    std::vector<float> attend(const std::vector<int32_t>& rows, int il, int splits, float* scratch) const {
        const DeviceBuffer drows = test::to_device(rows);
        DeviceBuffer out = test::poisoned(static_cast<std::size_t>(kN * kH * d));
        cuda::attention(dq.as<float>(), out.as<float>(), drows.as<int32_t>(), static_cast<int64_t>(rows.size()), dpos.as<int32_t>(),
                        dseq.as<int32_t>(), view(il), kH, scale, nullptr, splits, scratch);
        return test::to_host<float>(out, static_cast<std::size_t>(kN * kH * d));
    }
};

TEST(CudaOps, AttentionTilesStayInOneSequenceAndChunk) {  // host logic: runs without a GPU
    std::vector<cuda::AttnTile> tiles;
    // Sequence 0: rows 0..39 at positions 5..44; sequence 1: rows 40..42 at 100..102. Chunks of 16.
    const std::vector<cuda::AttnRun> runs = {{0, 0, 40, 5}, {1, 40, 3, 100}};
    ASSERT_EQ(cuda::attention_tiles(runs, false, 16, tiles), 4);
    const int32_t rows0[4] = {0, 16, 32, 40}, counts[4] = {16, 16, 8, 3}, pos0[4] = {5, 21, 37, 100}, seqs[4] = {0, 0, 0, 1};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(tiles[i].row0, rows0[i]) << i;
        EXPECT_EQ(tiles[i].count, counts[i]) << i;
        EXPECT_EQ(tiles[i].pos0, pos0[i]) << i;
        EXPECT_EQ(tiles[i].seq, seqs[i]) << i;
    }
    // Chunked: cut at the chunk edges (positions 16 and 32) too.
    ASSERT_EQ(cuda::attention_tiles(runs, true, 16, tiles), 4);
    const int32_t crows0[4] = {0, 11, 27, 40}, ccounts[4] = {11, 16, 13, 3}, cpos0[4] = {5, 16, 32, 100};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(tiles[i].row0, crows0[i]) << i;
        EXPECT_EQ(tiles[i].count, ccounts[i]) << i;
        EXPECT_EQ(tiles[i].pos0, cpos0[i]) << i;
        EXPECT_EQ(tiles[i].pos0 / 16, (tiles[i].pos0 + tiles[i].count - 1) / 16) << "tile " << i << " crosses a chunk edge";
    }
    EXPECT_TRUE(cuda::attention_tc_supported(128));
    EXPECT_FALSE(cuda::attention_tc_supported(24));
    EXPECT_FALSE(cuda::attention_tc_supported(256));
}

// Prompt attention on tensor cores (the fast mode) against the float32 kernel: two sequences, a
// chunked layer (the last chunk's rows) and a global one (300 rows: tiles of 16 and a partial
// one), GQA 8/2, head_dim 64 and 128. bf16 operands: held to 2e-2 (outputs are averages of V
// rows of magnitude <= 1), and not equal (the tensor cores ran).
TEST(CudaOps, TensorCoreAttentionMatchesFloat32Kernel) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    using A = AttentionSetup;
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE(cat("head_dim ", d));
        const AttentionSetup a(rng, d, kv::KvType::F16);
        for (int il = 0; il < 2; ++il) {
            // Chunked: rows 256..299 (the ring's last chunk); global: every row.
            a.write(il);
            const int64_t r0 = A::first_written(il), nr = A::kN - r0;
            std::vector<int32_t> rows(static_cast<std::size_t>(nr));
            std::iota(rows.begin(), rows.end(), static_cast<int32_t>(r0));
            const std::vector<float> want = a.attend(rows, il, 1, nullptr);
            std::vector<cuda::AttnTile> tiles;
            const std::vector<cuda::AttnRun> runs = {{0, static_cast<int32_t>(r0), nr, r0}};
            const int64_t nt = cuda::attention_tiles(runs, il == 0, A::kC, tiles);
            const DeviceBuffer dtiles = test::to_device(tiles);
            DeviceBuffer got_buf = test::poisoned(static_cast<std::size_t>(A::kN * A::kH * d));
            cuda::attention_tensor_cores(a.dq.as<float>(), got_buf.as<float>(), dtiles.as<cuda::AttnTile>(), nt, a.view(il), A::kH,
                                         a.scale, nullptr);
            const auto got = test::to_host<float>(got_buf, static_cast<std::size_t>(A::kN * A::kH * d));
            double max_err = 0;
            for (int32_t r : rows)
                for (int64_t i = 0; i < A::kH * d; ++i) {
                    const std::size_t at = static_cast<std::size_t>(r * A::kH * d + i);
                    ASSERT_TRUE(std::isfinite(got[at])) << "layer " << il << " row " << r << " at " << i;
                    max_err = std::max(max_err, static_cast<double>(std::abs(got[at] - want[at])));
                }
            EXPECT_LE(max_err, 2e-2) << "layer " << il;
            EXPECT_GT(max_err, 0.0) << "layer " << il;
            RecordProperty(cat("max_abs_error_d", d, "_layer", il), std::to_string(max_err));
        }
    }
}

TEST(CudaOps, SplitAttentionEqualsUnsplit) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    using A = AttentionSetup;
    for (kv::KvType type : {kv::KvType::F16, kv::KvType::Q8_0}) {
        SCOPED_TRACE(cat("kv ", kv::kv_type_name(type)));
        const AttentionSetup a(rng, 64, type);
        DeviceBuffer scratch(cuda::attention_split_floats(A::kH, a.d) * sizeof(float));
        for (int il = 0; il < 2; ++il) {
            a.write(il);
            // A decode step's rows: the chunked ring holds 256..299 only; the global layer every row.
            const std::vector<int32_t> rows = il == 0 ? std::vector<int32_t>{299, 256, 280}
                                                      : std::vector<int32_t>{299, 255, 127, 128, 0, 200, 31, 32};
            const std::vector<float> want = a.attend(rows, il, 1, nullptr);
            for (int splits : {2, 5, 32}) {
                const std::vector<float> got = a.attend(rows, il, splits, scratch.as<float>());
                for (int32_t r : rows)
                    for (int64_t i = 0; i < A::kH * a.d; ++i) {
                        const std::size_t at = static_cast<std::size_t>(r * A::kH * a.d + i);
                        ASSERT_NEAR(got[at], want[at], 2e-6 * (std::abs(want[at]) + 1.0))
                            << "layer " << il << " splits " << splits << " row " << r << " at " << i;
                    }
            }
        }
    }
}

TEST(CudaOps, TopLogitsEqualTheHostTwin) {
    SCOUT_REQUIRE_GPU();
    const uint64_t seed = test::test_seed();
    SCOPED_TRACE(cat("seed ", seed));
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> small(-3, 3);
    std::normal_distribution<float> wide(0.0f, 4.0f);
    const float inf = std::numeric_limits<float>::infinity();
    for (int64_t V : {int64_t{5}, int64_t{1000}, int64_t{3001}, int64_t{202048}}) {
        const int64_t rows = 7;
        std::vector<float> x(static_cast<std::size_t>(rows * V));
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < V; ++i) {
                float& v = x[static_cast<std::size_t>(r * V + i)];
                switch (r) {
                    case 0: v = static_cast<float>(small(rng)) * 0.5f; break;
                    case 1: v = i % 5 == 0 ? -inf : (i % 7 == 0 ? -0.0f : (i % 11 == 0 ? 0.0f : -std::abs(wide(rng)))); break;
                    case 4: v = i == V / 2 ? std::nanf("") : wide(rng); break;
                    case 5: v = i == V - 1 ? inf : wide(rng); break;
                    case 6: v = -inf; break;
                    default: v = wide(rng); break;
                }
            }
        const cuda::DeviceBuffer dx = test::to_device(x);
        for (int k : {1, 2, 40, 64}) {
            SCOPED_TRACE(cat("V ", V, " k ", k));
            backend::TopLogits want;
            backend::top_logits_of(x, rows, V, k, want);
            const auto kk = static_cast<std::size_t>(want.k);
            cuda::DeviceBuffer ids(rows * kk * 4), vals(rows * kk * 4), ok(rows);
            SCOUT_CUDA_CHECK(cudaMemset(ids.get(), 0xFF, ids.bytes()));
            SCOUT_CUDA_CHECK(cudaMemset(vals.get(), 0xFF, vals.bytes()));
            SCOUT_CUDA_CHECK(cudaMemset(ok.get(), 7, ok.bytes()));
            cuda::top_logits(dx.as<float>(), rows, V, k, ids.as<int32_t>(), vals.as<float>(), ok.as<uint8_t>(), nullptr);
            const auto got_ids = test::to_host<int32_t>(ids, rows * kk);
            const auto got_vals = test::to_host<float>(vals, rows * kk);
            const auto got_ok = test::to_host<uint8_t>(ok, rows);
            for (int64_t r = 0; r < rows; ++r) {
                ASSERT_EQ(got_ok[static_cast<std::size_t>(r)], want.usable[static_cast<std::size_t>(r)]) << "row " << r;
                if (!want.usable[static_cast<std::size_t>(r)]) continue;
                for (std::size_t j = 0; j < kk; ++j) {
                    const std::size_t at = static_cast<std::size_t>(r) * kk + j;
                    ASSERT_EQ(got_ids[at], want.ids[at]) << "row " << r << " rank " << j;
                    ASSERT_EQ(std::memcmp(&got_vals[at], &want.values[at], 4), 0) << "row " << r << " rank " << j;
                }
            }
        }
    }
    EXPECT_THROW(cuda::top_logits(nullptr, 1, 10, 65, nullptr, nullptr, nullptr, nullptr), Error);
}

TEST(CudaOps, DeviceInfoDescribesTheGpu) {
    SCOUT_REQUIRE_GPU();
    const cuda::DeviceInfo info = cuda::device_info(0);
    EXPECT_FALSE(info.name.empty());
    EXPECT_GT(info.total_bytes, 0u);
    EXPECT_GT(info.sm_count, 0);
    EXPECT_EQ(cuda::parse_device_index("cuda:3"), 3);
    EXPECT_THROW(cuda::parse_device_index("gpu"), Error);
}

}  // namespace
