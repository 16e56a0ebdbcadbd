// Every CUDA kernel against a plain host twin (double accumulation, the quant reference codecs)
// on fresh random inputs with odd sizes; outputs are poisoned with NaN before each run.
// Skips when no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "backend/cuda/device_kv.hpp"
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

class CudaMatmul : public ::testing::TestWithParam<DType> {};

TEST_P(CudaMatmul, BothKernelsMatchReference) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::fresh_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(t)));
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
        for (int kind : {0, 1}) {
            DeviceBuffer dy = test::poisoned(static_cast<std::size_t>(T * N));
            cuda::matmul_kernel(kind, dx.as<float>(), T, m, dy.as<float>(), {}, nullptr);
            expect_close(test::to_host<float>(dy, want.size()), want, mag, 1e-5, cat("T ", T, " kernel ", kind));
        }
    }
}

// Three experts, rows grouped per expert with an empty group: transposed ([E, out, in]) for
// every type, and the x·W layout ([E, in, cols], columns from col0) for float types.
TEST_P(CudaMatmul, GroupedExpertsMatchReference) {
    SCOUT_REQUIRE_GPU();
    const DType t = GetParam();
    const uint64_t seed = test::fresh_seed();
    SCOPED_TRACE(cat("seed ", seed, " type ", dtype_name(t)));
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
            for (int kind : {0, 1}) {
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
    std::mt19937_64 rng(test::fresh_seed());
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

INSTANTIATE_TEST_SUITE_P(Types, CudaMatmul, ::testing::ValuesIn(kWeightTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The CPU's RMSNorm, operation for operation (double mean of squares, float products).
float host_inv_rms(const float* x, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    return 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
}

TEST(CudaOps, RmsNormMatchesCpuFormula) {
    SCOUT_REQUIRE_GPU();
    std::mt19937_64 rng(test::fresh_seed());
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
    std::mt19937_64 rng(test::fresh_seed());
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

// KV writes (bit-identical to kv_encode_row) and attention (against a double-precision reference
// on the decoded rows) on a two-layer plan: layer 0 chunked (C = 8), layer 1 global, pages of 4.
class CudaKvAttention : public ::testing::TestWithParam<kv::KvType> {};

TEST_P(CudaKvAttention, WritesAndAttendsLikeTheReference) {
    SCOUT_REQUIRE_GPU();
    const kv::KvType type = GetParam();
    const uint64_t seed = test::fresh_seed();
    SCOPED_TRACE(cat("seed ", seed, " kv ", kv::kv_type_name(type)));
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
    const uint64_t seed = test::fresh_seed();
    SCOPED_TRACE(cat("seed ", seed));
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
