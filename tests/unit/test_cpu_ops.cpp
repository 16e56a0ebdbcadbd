// backend/cpu ops: every fast kernel against its plain twin on fresh random inputs,
// odd sizes, poisoned outputs and several thread counts.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <random>

#include "backend/cpu/ops/attention.hpp"
#include "backend/cpu/ops/attention_kernel.hpp"
#include "backend/cpu/ops/ffn.hpp"
#include "backend/cpu/ops/matmul.hpp"
#include "backend/cpu/ops/norm.hpp"
#include "backend/cpu/ops/rope.hpp"
#include "base/error.hpp"
#include "kv/kv_cache.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

using namespace scout;
using namespace scout::cpu;

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Storage for a random weight matrix in a given dtype.
struct OwnedMatrix {
    std::vector<float> f32;
    std::vector<uint16_t> half;
    WeightMatrix m;
};

OwnedMatrix random_matrix(std::mt19937_64& rng, int64_t rows, int64_t cols, DType dtype) {
    OwnedMatrix o;
    o.f32 = test::random_floats(rng, static_cast<std::size_t>(rows * cols), 0.5f);
    o.m.rows = rows;
    o.m.cols = cols;
    o.m.row_stride = cols;
    o.m.dtype = dtype;
    if (dtype == DType::F32) {
        o.m.data = o.f32.data();
    } else {
        o.half.resize(o.f32.size());
        for (std::size_t i = 0; i < o.f32.size(); ++i)
            o.half[i] = dtype == DType::BF16 ? f32_to_bf16(o.f32[i]) : f32_to_f16(o.f32[i]);
        o.m.data = o.half.data();
    }
    return o;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, const char* what) {
    ASSERT_EQ(got.size(), want.size());
    double max_ref = 1e-6;
    for (float w : want) max_ref = std::max(max_ref, std::abs(static_cast<double>(w)));
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << what << " index " << i << " not written (poison left)";
        ASSERT_NEAR(got[i], want[i], rel * max_ref) << what << " index " << i;
    }
}

// Every SIMD variant this processor can run (the portable one always).
std::vector<SimdLevel> supported_levels() {
    std::vector<SimdLevel> levels;
    for (SimdLevel l : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
        if (simd_level_supported(l)) levels.push_back(l);
    return levels;
}

}  // namespace

TEST(CpuOps, MatmulNtMatchesReference) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    for (SimdLevel level : supported_levels())
        for (DType dtype : {DType::F32, DType::BF16, DType::F16})
            for (int threads : {1, 2, 3, 7})
                for (auto [T, N, K] :
                     {std::tuple{1, 1, 1}, {1, 37, 53}, {5, 19, 128}, {3, 65, 17}, {9, 8, 300}, {11, 23, 16},
                      // wide batch tiles (8 inputs) with token and row remainders and K tails
                      {8, 37, 256}, {17, 21, 257}, {16, 66, 31}, {13, 9, 33}}) {
                    SCOPED_TRACE(cat(simd_level_name(level), " ", dtype_name(dtype), " threads ", threads, " T ", T,
                                     " N ", N, " K ", K));
                    ThreadPool pool(threads);
                    const OwnedMatrix w = random_matrix(rng, N, K, dtype);
                    const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
                    std::vector<float> y(static_cast<std::size_t>(T * N), kPoison), ref(y.size());
                    matmul_nt(x.data(), T, w.m, y.data(), pool, level);
                    matmul_nt_ref(x.data(), T, w.m, ref.data());
                    expect_close(y, ref, 1e-5, "matmul_nt");
                }
}

TEST(CpuOps, MatmulNnMatchesReference) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed + 1);
    for (SimdLevel level : supported_levels())
        for (DType dtype : {DType::F32, DType::BF16, DType::F16})
            for (int threads : {1, 2, 5})
                for (auto [T, K, N] : {std::tuple{1, 1, 1}, {1, 53, 37}, {4, 31, 129}, {7, 64, 66}, {9, 17, 200},
                                       {1, 45, 300}, {1, 256, 512}}) {  // one input: 16-vector column tiles
                    SCOPED_TRACE(cat(simd_level_name(level), " ", dtype_name(dtype), " threads ", threads, " T ", T,
                                     " K ", K, " N ", N));
                    ThreadPool pool(threads);
                    const OwnedMatrix w = random_matrix(rng, K, N, dtype);
                    const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * K));
                    std::vector<float> y(static_cast<std::size_t>(T * N), kPoison), ref(y.size());
                    matmul_nn(x.data(), T, w.m, y.data(), pool, level);
                    matmul_nn_ref(x.data(), T, w.m, ref.data());
                    expect_close(y, ref, 1e-5, "matmul_nn");
                }
}

TEST(CpuOps, ResultsDoNotDependOnThreadCount) {
    std::mt19937_64 rng(test::test_seed());
    const OwnedMatrix w = random_matrix(rng, 97, 211, DType::BF16);
    const std::vector<float> x = test::random_floats(rng, 3 * 211);
    ThreadPool p1(1), p5(5);
    for (SimdLevel level : supported_levels()) {
        std::vector<float> y1(3 * 97), y5(3 * 97);
        matmul_nt(x.data(), 3, w.m, y1.data(), p1, level);
        matmul_nt(x.data(), 3, w.m, y5.data(), p5, level);
        EXPECT_EQ(y1, y5) << simd_level_name(level);  // bitwise
        std::vector<float> z1(3 * 211), z5(3 * 211);
        const OwnedMatrix sq = random_matrix(rng, 211, 211, DType::F16);
        matmul_nn(x.data(), 3, sq.m, z1.data(), p1, level);
        matmul_nn(x.data(), 3, sq.m, z5.data(), p5, level);
        EXPECT_EQ(z1, z5) << simd_level_name(level);
    }
}

TEST(CpuOps, RowResultsDoNotDependOnBatchSize) {
    // A sequence's logits must not change with what else is batched with it (continuous
    // batching, greedy equality under concurrency): every batch size takes its own code path
    // (register tiles of 1-4 inputs, full and remainder row tiles), and all must agree bit for bit.
    std::mt19937_64 rng(test::test_seed());
    ThreadPool pool(2);
    for (SimdLevel level : supported_levels())
        for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
            const OwnedMatrix w = random_matrix(rng, 37, 203, dtype);    // nt: [N=37, K=203]
            const OwnedMatrix wn = random_matrix(rng, 203, 83, dtype);   // nn: [K=203, N=83]
            const std::vector<float> x = test::random_floats(rng, 9 * 203);
            std::vector<float> all(9 * 37), all_nn(9 * 83);
            matmul_nt(x.data(), 9, w.m, all.data(), pool, level);
            matmul_nn(x.data(), 9, wn.m, all_nn.data(), pool, level);
            for (int64_t T : {1, 2, 3, 4, 5}) {
                for (int64_t t0 = 0; t0 + T <= 9; t0 += T) {
                    std::vector<float> part(static_cast<std::size_t>(T * 37)), part_nn(static_cast<std::size_t>(T * 83));
                    matmul_nt(x.data() + t0 * 203, T, w.m, part.data(), pool, level);
                    matmul_nn(x.data() + t0 * 203, T, wn.m, part_nn.data(), pool, level);
                    for (int64_t i = 0; i < T * 37; ++i)
                        ASSERT_EQ(part[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(t0 * 37 + i)])
                            << simd_level_name(level) << " " << dtype_name(dtype) << " T=" << T << " t0=" << t0 << " i=" << i;
                    for (int64_t i = 0; i < T * 83; ++i)
                        ASSERT_EQ(part_nn[static_cast<std::size_t>(i)], all_nn[static_cast<std::size_t>(t0 * 83 + i)])
                            << "nn " << simd_level_name(level) << " " << dtype_name(dtype) << " T=" << T << " i=" << i;
                }
            }
        }
}

TEST(CpuOps, NtRowsBitIdenticalForEveryBatchSizeAndThreadCount) {
    // Each batch size picks its own nt tile shape (one row per input below 4 inputs, 4 × 4
    // tiles, wider token tiles from 8 inputs up, with their transposed horizontal sums) and the
    // thread count moves the row-slice edges; every input's outputs must equal its own T = 1
    // product bit for bit, whatever it is batched with. K: a whole number of vectors, one more,
    // and a short tail-only row.
    std::mt19937_64 rng(test::test_seed());
    constexpr int64_t kMaxT = 17, N = 45;
    for (SimdLevel level : supported_levels())
        for (DType dtype : {DType::F32, DType::BF16, DType::F16})
            for (int64_t K : {256, 257, 31}) {
                const OwnedMatrix w = random_matrix(rng, N, K, dtype);
                const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(kMaxT * K));
                ThreadPool one(1);
                std::vector<float> single(static_cast<std::size_t>(kMaxT * N), kPoison);
                for (int64_t t = 0; t < kMaxT; ++t) matmul_nt(x.data() + t * K, 1, w.m, single.data() + t * N, one, level);
                for (int threads = 1; threads <= 4; ++threads) {
                    ThreadPool pool(threads);
                    for (int64_t T = 1; T <= kMaxT; ++T) {
                        const int64_t t0 = (kMaxT - T) / 2;  // a window not always starting at input 0
                        std::vector<float> y(static_cast<std::size_t>(T * N), kPoison);
                        matmul_nt(x.data() + t0 * K, T, w.m, y.data(), pool, level);
                        ASSERT_EQ(0, std::memcmp(y.data(), single.data() + t0 * N, y.size() * sizeof(float)))
                            << simd_level_name(level) << " " << dtype_name(dtype) << " K=" << K << " threads=" << threads
                            << " T=" << T;
                    }
                }
            }
}

TEST(CpuOps, NnColsBitIdenticalForEveryBatchSizeAndThreadCount) {
    // A single input takes wider column tiles than a batch (and the thread count moves the
    // column-slice edges): each input's outputs must still equal its own T = 1 product bit for bit.
    std::mt19937_64 rng(test::test_seed());
    constexpr int64_t kMaxT = 9, K = 67, N = 300;
    for (SimdLevel level : supported_levels())
        for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
            const OwnedMatrix w = random_matrix(rng, K, N, dtype);
            const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(kMaxT * K));
            ThreadPool one(1);
            std::vector<float> single(static_cast<std::size_t>(kMaxT * N), kPoison);
            for (int64_t t = 0; t < kMaxT; ++t) matmul_nn(x.data() + t * K, 1, w.m, single.data() + t * N, one, level);
            for (int threads = 1; threads <= 4; ++threads) {
                ThreadPool pool(threads);
                for (int64_t T = 1; T <= kMaxT; ++T) {
                    std::vector<float> y(static_cast<std::size_t>(T * N), kPoison);
                    matmul_nn(x.data(), T, w.m, y.data(), pool, level);
                    ASSERT_EQ(0, std::memcmp(y.data(), single.data(), y.size() * sizeof(float)))
                        << simd_level_name(level) << " " << dtype_name(dtype) << " threads=" << threads << " T=" << T;
                }
            }
        }
}

namespace {

// A random tensor [shape...] whose rows (last dimension) are stored in `type` (any type
// scout quantizes to, or F32/BF16/F16), backed by `bytes`.
TensorView random_tensor(std::mt19937_64& rng, std::vector<int64_t> shape, DType type, std::vector<uint8_t>& bytes, float scale) {
    const int64_t cols = shape.back();
    int64_t rows = 1;
    for (std::size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
    const std::size_t row_bytes = quant::row_size(type, cols);
    bytes.assign(static_cast<std::size_t>(rows) * row_bytes, 0);
    for (int64_t r = 0; r < rows; ++r) {
        const std::vector<float> v = test::random_floats(rng, static_cast<std::size_t>(cols), scale);
        quant::quantize_row(type, v.data(), bytes.data() + static_cast<std::size_t>(r) * row_bytes, cols);
    }
    TensorView t;
    t.name = "random";
    t.dtype = type;
    t.shape = std::move(shape);
    t.data = bytes.data();
    return t;
}

}  // namespace

// The grouped MoE ((expert, row panel) items claimed dynamically, five regions) against the
// per-expert split it replaced: the same bits for every weight type, batch size, routing width
// and thread count, taps included, whatever was in the outputs before.
TEST(CpuOps, MoeGroupedBitIdenticalToPerExpert) {
    std::mt19937_64 rng(test::test_seed());
    struct Case {
        DType gate_up, down, shared;
        int64_t E, D, F;
    };
    const Case cases[] = {
        {DType::F32, DType::F32, DType::F32, 5, 12, 7},      // odd widths: partial panels everywhere
        {DType::BF16, DType::F16, DType::BF16, 3, 40, 24},
        {DType::Q8_0, DType::Q8_0, DType::Q4_0, 5, 64, 96},
        {DType::Q4_K, DType::Q6_K, DType::Q8_0, 4, 256, 512},  // Q4_K_M's mix: down in Q6_K
        {DType::Q5_K, DType::Q4_K, DType::F16, 3, 256, 256},
    };
    for (const Case& c : cases) {
        std::vector<uint8_t> b_router, b_gate, b_up, b_down, b_sg, b_su, b_sd;
        const TensorView router = random_tensor(rng, {c.E, c.D}, DType::F32, b_router, 1.0f),
                         gate = random_tensor(rng, {c.E, c.F, c.D}, c.gate_up, b_gate, 0.5f),
                         up = random_tensor(rng, {c.E, c.F, c.D}, c.gate_up, b_up, 0.5f),
                         down = random_tensor(rng, {c.E, c.D, c.F}, c.down, b_down, 0.5f),
                         sg = random_tensor(rng, {c.F, c.D}, c.gate_up, b_sg, 0.5f),
                         su = random_tensor(rng, {c.F, c.D}, c.gate_up, b_su, 0.5f),
                         sd = random_tensor(rng, {c.D, c.F}, c.shared, b_sd, 0.5f);
        model::LayerWeights w;
        w.router = &router;
        w.experts = model::gguf_expert_weights(gate, up, down);
        w.shared_gate = &sg;
        w.shared_up = &su;
        w.shared_down = &sd;
        for (int64_t k : {1, 2})
            for (int64_t T : {1, 2, 9, 70}) {
                const std::vector<float> x = test::random_floats(rng, static_cast<std::size_t>(T * c.D));
                std::vector<float> want(static_cast<std::size_t>(T * c.D), kPoison);
                std::vector<float> want_router(static_cast<std::size_t>(T * c.E)), want_shared(want.size());
                {
                    ThreadPool pool(1);
                    moe_ffn_per_expert(x.data(), T, w, k, want.data(), pool, MoeTaps{want_router.data(), want_shared.data()});
                }
                for (int threads : {1, 2, 3, 4}) {
                    ThreadPool pool(threads);
                    std::vector<float> got(want.size(), kPoison), router_tap(want_router.size(), kPoison),
                        shared_tap(want.size(), kPoison);
                    moe_ffn(x.data(), T, w, k, got.data(), pool, MoeTaps{router_tap.data(), shared_tap.data()});
                    const std::string what = cat(dtype_name(c.gate_up), "/", dtype_name(c.down), " T=", T, " k=", k,
                                                 " threads=", threads);
                    for (std::size_t i = 0; i < got.size(); ++i) {
                        ASSERT_TRUE(std::isfinite(got[i])) << what << " index " << i;
                        ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i])) << what << " index " << i;
                        ASSERT_EQ(std::bit_cast<uint32_t>(shared_tap[i]), std::bit_cast<uint32_t>(want_shared[i])) << what;
                    }
                    for (std::size_t i = 0; i < router_tap.size(); ++i)
                        ASSERT_EQ(std::bit_cast<uint32_t>(router_tap[i]), std::bit_cast<uint32_t>(want_router[i])) << what;
                }
            }
    }
}

// The fused residual + norm over threads equals the serial add and rms_norm bit for bit.
TEST(CpuOps, AddRmsNormEqualsSerialStepsOnAnyThreads) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t T = 13, n = 37;
    const OwnedMatrix w = random_matrix(rng, 1, n, DType::BF16);
    const std::vector<float> h0 = test::random_floats(rng, T * n, 3.0f), add = test::random_floats(rng, T * n, 2.0f);
    std::vector<float> sum = h0, want(T * n);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += add[i];
    rms_norm(sum.data(), T, n, w.m, 1e-5f, want.data());
    std::vector<float> want_noadd(T * n);
    rms_norm(h0.data(), T, n, w.m, 1e-5f, want_noadd.data());
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        std::vector<float> h = h0, y(T * n, kPoison);
        add_rms_norm(h.data(), add.data(), T, n, w.m, 1e-5f, y.data(), pool);
        for (std::size_t i = 0; i < y.size(); ++i) {
            ASSERT_EQ(std::bit_cast<uint32_t>(h[i]), std::bit_cast<uint32_t>(sum[i])) << "threads " << threads;
            ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), std::bit_cast<uint32_t>(want[i])) << "threads " << threads;
        }
        h = h0;
        std::fill(y.begin(), y.end(), kPoison);
        add_rms_norm(h.data(), nullptr, T, n, w.m, 1e-5f, y.data(), pool);
        EXPECT_EQ(h, h0);
        for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), std::bit_cast<uint32_t>(want_noadd[i]));
        h = h0;
        add_in_place(h.data(), add.data(), T * n, pool);
        EXPECT_EQ(h, sum);
    }
}

TEST(CpuOps, RmsNormMatchesDefinition) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t T = 3, n = 37;
    const std::vector<float> x = test::random_floats(rng, T * n, 3.0f);
    const OwnedMatrix w = random_matrix(rng, 1, n, DType::F32);
    std::vector<float> y(T * n, kPoison), ref(T * n);
    rms_norm(x.data(), T, n, w.m, 1e-5f, y.data());
    for (int64_t t = 0; t < T; ++t) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[t * n + i]) * x[t * n + i];
        const double r = 1.0 / std::sqrt(ss / n + 1e-5);
        for (int64_t i = 0; i < n; ++i) ref[t * n + i] = static_cast<float>(x[t * n + i] * r * w.f32[i]);
    }
    expect_close(y, ref, 1e-6, "rms_norm");
    std::vector<float> z = x;
    rms_norm_noweight(z.data(), T, n, 1e-5f);
    for (int64_t t = 0; t < T; ++t) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(z[t * n + i]) * z[t * n + i];
        EXPECT_NEAR(ss / n, 1.0, 1e-4);  // unit RMS after the weightless norm
    }
}

TEST(CpuOps, RopeIsComplexRotationOfAdjacentPairs) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t T = 3, H = 2, d = 8;
    const std::vector<int64_t> pos = {0, 5, 1000};
    const std::vector<float> inv = {1.0f, 0.1f, 0.01f, 0.001f};
    std::vector<float> x = test::random_floats(rng, T * H * d);
    const std::vector<float> orig = x;
    apply_rope(x.data(), T, H, d, make_rope_table(pos, inv));
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t j = 0; j < d / 2; ++j) {
                const int64_t o = (t * H + h) * d + 2 * j;
                const std::complex<double> z(orig[o], orig[o + 1]);
                const double angle = static_cast<double>(static_cast<float>(pos[t]) * inv[j]);
                const std::complex<double> r = z * std::polar(1.0, angle);
                EXPECT_NEAR(x[o], r.real(), 1e-5);
                EXPECT_NEAR(x[o + 1], r.imag(), 1e-5);
            }
}

// A layer's KV memory holding random rows for the positions the queries [first, n_pos) can see.
struct AttnCase {
    int64_t H, Hkv, d, n_pos, first;
    bool chunked;
    int64_t chunk, page;
};

// The KV types a case's head size can store (q8_0 needs d % 32 == 0).
std::vector<kv::KvType> kv_types_for(const AttnCase& c) {
    std::vector<kv::KvType> types;
    for (kv::KvType t : kv::all_kv_types())
        if (c.d % kv::kv_block_elems(t) == 0) types.push_back(t);
    return types;
}

// The K layouts a case can store `type` in: rows always, tiles where they fit (kv::k_tiles_fit).
std::vector<kv::KLayout> k_layouts_for(const AttnCase& c, kv::KvType type) {
    std::vector<kv::KLayout> layouts{kv::KLayout::Rows};
    if (kv::k_tiles_fit(type, c.d, c.page, c.chunked, c.chunk)) layouts.push_back(kv::KLayout::Tiles);
    return layouts;
}

std::string layout_name(kv::KLayout l) { return l == kv::KLayout::Tiles ? "K tiles" : "K rows"; }

kv::LayerKv fill_kv(std::mt19937_64& rng, const AttnCase& c, kv::KvType type = kv::KvType::F32,
                    kv::KLayout layout = kv::KLayout::Rows) {
    kv::LayerKv kv(type, c.Hkv * c.d, c.d, c.page, nullptr, layout);
    const int64_t from = c.chunked ? (c.first / c.chunk) * c.chunk : 0;
    for (int64_t p = from; p < c.n_pos; ++p) {
        const auto k = test::random_floats(rng, c.Hkv * c.d), v = test::random_floats(rng, c.Hkv * c.d);
        kv.write(c.chunked ? p % c.chunk : p, k.data(), v.data());
    }
    return kv;
}

std::vector<AttnCase> attention_cases() {
    std::vector<AttnCase> cases;
    // Small: chunk edges, tiny pages.
    for (bool chunked : {false, true})
        for (int64_t chunk : {4, 5}) {
            const int64_t n_pos = 23, first = chunked ? ((n_pos - 1) / chunk) * chunk : 0;
            cases.push_back({6, 2, 10, n_pos, first, chunked, chunk, 3});
        }
    // Long: several 64-key tiles and pages, GQA groups 1/2/4, odd and model head_dim, chunk
    // sizes that do not divide the tile (and one that does), queries starting mid-chunk.
    cases.push_back({4, 4, 24, 300, 0, false, 0, 50});
    cases.push_back({4, 2, 24, 270, 100, false, 0, 64});
    cases.push_back({8, 2, 128, 200, 0, false, 0, 256});
    cases.push_back({8, 2, 128, 230, 150, false, 0, 7});
    cases.push_back({4, 1, 24, 260, 200, true, 100, 16});
    cases.push_back({6, 3, 24, 300, 205, true, 150, 32});
    cases.push_back({8, 2, 128, 230, 128, true, 128, 256});
    cases.push_back({8, 2, 40, 259, 222, true, 37, 5});
    // K tiles: a global layer over several pages with a partial last tile, and a ring of 3 tiles
    // in pages of one tile whose queries span its slots 0..65.
    cases.push_back({8, 2, 128, 420, 390, false, 0, 128});
    cases.push_back({4, 1, 32, 450, 380, true, 192, 64});
    return cases;
}

// The attention kernels' fast K/V decoding against the reference codec: every one of the 65,536
// f16 and bf16 bit patterns, at every offset of the 8-wide loop and its scalar tail (n = 1..19),
// bit for bit (NaNs only have to stay NaN); Q8_0, Q4_0 and F32 rows pass through the reference.
TEST(CpuOps, KvHeadDecodeF16cMatchesReferenceForEveryValue) {
    if (!simd_level_supported(SimdLevel::Avx2)) GTEST_SKIP() << "no AVX2 + F16C on this processor";
    std::vector<uint16_t> all(65536);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
    const auto* bytes = reinterpret_cast<const uint8_t*>(all.data());
    for (kv::KvType type : {kv::KvType::F16, kv::KvType::BF16}) {
        SCOPED_TRACE(kv::kv_type_name(type));
        std::vector<float> ref(all.size()), fast(all.size(), -7.0f);
        kv::kv_decode_row(type, bytes, static_cast<int64_t>(all.size()), ref.data());
        attn::decode_kv_head_f16c(type, bytes, static_cast<int64_t>(all.size()), fast.data());
        int64_t mismatches = 0;
        for (std::size_t i = 0; i < all.size(); ++i) {
            const bool same = std::isnan(ref[i]) ? std::isnan(fast[i])
                                                 : std::bit_cast<uint32_t>(ref[i]) == std::bit_cast<uint32_t>(fast[i]);
            if (!same && mismatches++ < 5) ADD_FAILURE() << "bits 0x" << std::hex << i << ": " << fast[i] << " vs " << ref[i];
        }
        EXPECT_EQ(mismatches, 0);
        for (int64_t n = 1; n < 20; ++n) {  // tails, and nothing written past n
            std::vector<float> r(24, -7.0f), f(24, -7.0f);
            kv::kv_decode_row(type, bytes + 2 * 15360, n, r.data());  // 15360 = 0x3C00: 1.0 in f16
            attn::decode_kv_head_f16c(type, bytes + 2 * 15360, n, f.data());
            for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(std::bit_cast<uint32_t>(f[i]), std::bit_cast<uint32_t>(r[i])) << n << " " << i;
        }
    }
    std::mt19937_64 rng(test::test_seed());
    std::uniform_real_distribution<float> u(-3.0f, 3.0f);
    for (kv::KvType type : {kv::KvType::Q8_0, kv::KvType::Q4_0, kv::KvType::F32}) {
        std::vector<float> x(64);
        for (float& v : x) v = u(rng);
        std::vector<uint8_t> row(static_cast<std::size_t>(kv::kv_row_bytes(type, 64)));
        kv::kv_encode_row(type, x.data(), 64, row.data());
        std::vector<float> r(64), f(64, -7.0f);
        kv::kv_decode_row(type, row.data(), 64, r.data());
        attn::decode_kv_head_f16c(type, row.data(), 64, f.data());
        EXPECT_EQ(std::memcmp(r.data(), f.data(), 64 * sizeof(float)), 0) << kv::kv_type_name(type);
    }
}

TEST(CpuOps, AttentionMatchesReferenceChunkedAndGlobal) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    for (const AttnCase& c : attention_cases()) {
        SCOPED_TRACE("H " + std::to_string(c.H) + " Hkv " + std::to_string(c.Hkv) + " d " + std::to_string(c.d) +
                     " n_pos " + std::to_string(c.n_pos) + " first " + std::to_string(c.first) +
                     (c.chunked ? " chunk " + std::to_string(c.chunk) : " global"));
        for (kv::KvType type : kv_types_for(c))
        for (kv::KLayout layout : k_layouts_for(c, type)) {
        SCOPED_TRACE("kv " + std::string(kv::kv_type_name(type)) + " " + layout_name(layout));
        const kv::LayerKv kv = fill_kv(rng, c, type, layout);
        std::vector<int64_t> positions;
        for (int64_t p = c.first; p < c.n_pos; ++p) positions.push_back(p);
        const auto S = static_cast<int64_t>(positions.size());
        const auto q = test::random_floats(rng, S * c.H * c.d, 2.0f);
        AttentionShape shape{c.H, c.Hkv, c.d, c.chunked, c.chunk, 1.0f / std::sqrt(static_cast<float>(c.d))};
        std::vector<float> ref(S * c.H * c.d);
        attention_ref(q.data(), positions, kv, shape, ref.data());
        for (SimdLevel level : supported_levels())
            for (int threads : {1, 2, 3, 4}) {
                if (type != kv::KvType::F32 && threads % 2 == 0) continue;  // keeps the test short
                SCOPED_TRACE(std::string(simd_level_name(level)) + " threads " + std::to_string(threads));
                ThreadPool pool(threads);
                std::vector<float> out(S * c.H * c.d, kPoison);
                attention(q.data(), positions, kv, shape, out.data(), pool, level);
                expect_close(out, ref, 1e-5, "attention");
                if (threads == 1) {  // the default entry point is one of the levels
                    std::vector<float> def(S * c.H * c.d, kPoison);
                    attention(q.data(), positions, kv, shape, def.data(), pool);
                    expect_close(def, ref, 1e-5, "attention (default level)");
                }
            }
        }
    }
}

// A query's output does not depend on the queries computed with it (decode = prefill) nor on the
// thread count: compared bit for bit against the whole run.
TEST(CpuOps, AttentionQueryBitIdenticalAloneAndInAnyBlock) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed + 7);
    for (const AttnCase& c : attention_cases())
        for (kv::KvType type : {kv::KvType::F32, kv::KvType::F16, kv::KvType::BF16})
        for (kv::KLayout layout : k_layouts_for(c, type)) {
        const kv::LayerKv kv = fill_kv(rng, c, type, layout);
        std::vector<int64_t> positions;
        for (int64_t p = c.first; p < c.n_pos; ++p) positions.push_back(p);
        const auto S = static_cast<int64_t>(positions.size());
        const int64_t row = c.H * c.d;
        const auto q = test::random_floats(rng, S * row, 2.0f);
        AttentionShape shape{c.H, c.Hkv, c.d, c.chunked, c.chunk, 1.0f / std::sqrt(static_cast<float>(c.d))};
        for (SimdLevel level : supported_levels()) {
            SCOPED_TRACE(std::string(simd_level_name(level)) + " n_pos " + std::to_string(c.n_pos) + " " +
                         std::string(kv::kv_type_name(type)) + " " + layout_name(layout));
            ThreadPool pool3(3);
            std::vector<float> whole(S * row, kPoison);
            attention(q.data(), positions, kv, shape, whole.data(), pool3, level);
            // Segments of several sizes starting at several offsets, thread counts 1..4.
            for (int64_t seg : {1, 2, 7, 33, 64, 100})
                for (int64_t offset : {int64_t{0}, int64_t{3}, seg / 2 + 1}) {
                    ThreadPool pool(static_cast<int>(1 + (seg + offset) % 4));
                    std::vector<float> part(S * row, kPoison);
                    for (int64_t b = 0; b < S;) {
                        const int64_t e = std::min(S, b == 0 && offset > 0 ? std::min(offset, seg) : b + seg);
                        attention(q.data() + b * row, std::span<const int64_t>(positions).subspan(b, e - b), kv, shape,
                                  part.data() + b * row, pool, level);
                        b = e;
                    }
                    ASSERT_EQ(0, std::memcmp(part.data(), whole.data(), part.size() * sizeof(float)))
                        << "segments of " << seg << " offset " << offset;
                }
        }
    }
}

// f16 and bf16 rows are widened as the SIMD kernels load them (no decoding pass), and K stored in
// tiles is read as stored (no transpose): the outputs must be bit for bit those of the same kernel
// over an f32 KV holding the decoded values in rows, for every level, chunk edge, odd head size
// (scalar tails), thread count and K layout (f32 K tiles too).
TEST(CpuOps, AttentionReadsHalvesAsTheirFloats) {
    std::mt19937_64 rng(test::test_seed() + 11);
    for (const AttnCase& c : attention_cases())
        for (kv::KvType type : {kv::KvType::F16, kv::KvType::BF16})
        for (kv::KLayout layout : k_layouts_for(c, type)) {
            const kv::LayerKv halves = fill_kv(rng, c, type, layout);
            kv::LayerKv floats(kv::KvType::F32, c.Hkv * c.d, c.d, c.page);
            kv::LayerKv float_tiles(kv::KvType::F32, c.Hkv * c.d, c.d, c.page, nullptr, layout);
            std::vector<float> k(static_cast<std::size_t>(c.Hkv * c.d)), v(k.size());
            for (int64_t p = c.chunked ? (c.first / c.chunk) * c.chunk : 0; p < c.n_pos; ++p) {  // as fill_kv
                const int64_t slot = c.chunked ? p % c.chunk : p;
                for (int64_t g = 0; g < c.Hkv; ++g) {
                    halves.k_head(slot, g, k.data() + g * c.d);
                    halves.v_head(slot, g, v.data() + g * c.d);
                }
                floats.write(slot, k.data(), v.data());
                float_tiles.write(slot, k.data(), v.data());
            }
            std::vector<int64_t> positions;
            for (int64_t p = c.first; p < c.n_pos; ++p) positions.push_back(p);
            const auto S = static_cast<int64_t>(positions.size());
            const auto q = test::random_floats(rng, S * c.H * c.d, 2.0f);
            AttentionShape shape{c.H, c.Hkv, c.d, c.chunked, c.chunk, 1.0f / std::sqrt(static_cast<float>(c.d))};
            for (SimdLevel level : supported_levels())
                for (int threads : {1, 3}) {
                    SCOPED_TRACE(std::string(kv::kv_type_name(type)) + " " + layout_name(layout) + " " +
                                 std::string(simd_level_name(level)) + " threads " + std::to_string(threads) + " d " +
                                 std::to_string(c.d) + " n_pos " + std::to_string(c.n_pos));
                    ThreadPool pool(threads);
                    std::vector<float> from_halves(S * c.H * c.d, kPoison), from_floats(S * c.H * c.d, -kPoison);
                    attention(q.data(), positions, halves, shape, from_halves.data(), pool, level);
                    attention(q.data(), positions, floats, shape, from_floats.data(), pool, level);
                    ASSERT_EQ(0, std::memcmp(from_halves.data(), from_floats.data(), from_halves.size() * sizeof(float)));
                    std::vector<float> from_float_tiles(S * c.H * c.d, kPoison);
                    attention(q.data(), positions, float_tiles, shape, from_float_tiles.data(), pool, level);
                    ASSERT_EQ(0, std::memcmp(from_float_tiles.data(), from_floats.data(), from_floats.size() * sizeof(float)));
                }
        }
}

TEST(CpuOps, RouteTokenPicksTopKWithSigmoidScores) {
    const float logits[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.5f};
    const Route r = route_token(logits, 5, 3);
    EXPECT_EQ(r.experts, (std::vector<int32_t>{1, 3, 4}));  // tie 1/3: lower index first
    EXPECT_NEAR(r.scores[0], 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
    EXPECT_NEAR(r.scores[2], 1.0 / (1.0 + std::exp(-1.5)), 1e-7);
}

TEST(CpuOps, MoeMatchesReferenceAndScalesExpertInput) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    const int64_t E = 5, D = 12, F = 7, T = 9;
    for (int64_t k : {1, 2}) {
        auto router = test::random_floats(rng, E * D, 1.0f), gate_up = test::random_floats(rng, E * D * 2 * F, 0.5f),
             down = test::random_floats(rng, E * F * D, 0.5f), sg = test::random_floats(rng, F * D, 0.5f),
             su = test::random_floats(rng, F * D, 0.5f), sd = test::random_floats(rng, D * F, 0.5f);
        auto view = [](std::vector<float>& v, std::vector<int64_t> shape) {
            TensorView t;
            t.dtype = DType::F32;
            t.shape = std::move(shape);
            t.data = v.data();
            return t;
        };
        const TensorView tr = view(router, {E, D}), tgu = view(gate_up, {E, D, 2 * F}), td = view(down, {E, F, D}),
                         tsg = view(sg, {F, D}), tsu = view(su, {F, D}), tsd = view(sd, {D, F});
        model::LayerWeights w;
        w.router = &tr;
        w.experts = model::hf_expert_weights(tgu, td);
        w.shared_gate = &tsg;
        w.shared_up = &tsu;
        w.shared_down = &tsd;
        const auto x = test::random_floats(rng, T * D);
        std::vector<float> y(T * D, kPoison), ref(T * D);
        ThreadPool pool(3);
        moe_ffn(x.data(), T, w, k, y.data(), pool);
        moe_ffn_ref(x.data(), T, w, k, ref.data());
        expect_close(y, ref, 1e-5, "moe");

        // The same experts in the GGUF layout (split, transposed: x·Wᵀ) give the same result.
        std::vector<float> gate_t(E * F * D), up_t(E * F * D), down_t(E * D * F);
        for (int64_t e = 0; e < E; ++e)
            for (int64_t c = 0; c < D; ++c)
                for (int64_t j = 0; j < F; ++j) {
                    gate_t[(e * F + j) * D + c] = gate_up[(e * D + c) * 2 * F + j];
                    up_t[(e * F + j) * D + c] = gate_up[(e * D + c) * 2 * F + F + j];
                    down_t[(e * D + c) * F + j] = down[(e * F + j) * D + c];
                }
        const TensorView tgt = view(gate_t, {E, F, D}), tut = view(up_t, {E, F, D}), tdt = view(down_t, {E, D, F});
        model::LayerWeights wt = w;
        wt.experts = model::gguf_expert_weights(tgt, tut, tdt);
        std::vector<float> yt(T * D, kPoison);
        moe_ffn(x.data(), T, wt, k, yt.data(), pool);
        expect_close(yt, ref, 1e-5, "moe (GGUF expert layout)");

        // Independent check of token 0 from the definition (score scales the expert input).
        std::vector<double> expect(D, 0.0);
        auto swiglu = [&](const std::vector<double>& in, auto gate_at, auto up_at, auto down_at, int64_t width) {
            std::vector<double> h(width), out(D, 0.0);
            for (int64_t j = 0; j < width; ++j) {
                double g = 0, u = 0;
                for (int64_t c = 0; c < D; ++c) {
                    g += in[c] * gate_at(c, j);
                    u += in[c] * up_at(c, j);
                }
                h[j] = g / (1 + std::exp(-g)) * u;
            }
            for (int64_t c = 0; c < D; ++c)
                for (int64_t j = 0; j < width; ++j) out[c] += h[j] * down_at(j, c);
            return out;
        };
        std::vector<double> x0(x.begin(), x.begin() + D);
        const auto shared = swiglu(
            x0, [&](int64_t c, int64_t j) { return sg[j * D + c]; }, [&](int64_t c, int64_t j) { return su[j * D + c]; },
            [&](int64_t j, int64_t c) { return sd[c * F + j]; }, F);
        std::vector<float> lg(E);
        for (int64_t e = 0; e < E; ++e) {
            double s = 0;
            for (int64_t c = 0; c < D; ++c) s += x0[c] * router[e * D + c];
            lg[e] = static_cast<float>(s);
        }
        const Route r = route_token(lg.data(), E, k);
        for (int64_t c = 0; c < D; ++c) expect[c] = shared[c];
        for (std::size_t i = 0; i < r.experts.size(); ++i) {
            const int64_t e = r.experts[i];
            std::vector<double> xe(D);
            for (int64_t c = 0; c < D; ++c) xe[c] = x0[c] * r.scores[i];
            const auto ye = swiglu(
                xe, [&](int64_t c, int64_t j) { return gate_up[(e * D + c) * 2 * F + j]; },
                [&](int64_t c, int64_t j) { return gate_up[(e * D + c) * 2 * F + F + j]; },
                [&](int64_t j, int64_t c) { return down[(e * F + j) * D + c]; }, F);
            for (int64_t c = 0; c < D; ++c) expect[c] += ye[c];
        }
        for (int64_t c = 0; c < D; ++c) EXPECT_NEAR(y[c], expect[c], 1e-4 * (1 + std::abs(expect[c])));
    }
}
