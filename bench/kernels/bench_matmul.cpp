// Matrix-product throughput of scout's CPU kernels (a benchmark, not a test):
//   bench_matmul TYPE N K T [THREADS] [REPS] [COPIES]
// times matmul_nt (y[T, N] = x[T, K] · W[N, K]ᵀ) on random weights of TYPE (F32, BF16, F16,
// Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) and prints the median time, GMAC/s and weight GB/s.
// COPIES > 1 cycles through that many distinct weight matrices, one product each per
// repetition (a time is per product): small matrices then come from memory, as the per-layer
// products of a decode step do, instead of from cache.
// Shapes worth timing: the 1b demo model's projections (N = K = 1024, T = 512 or 32 per expert)
// and the small demo's lm_head at batched decode (N = 202048, K = 256, T = 8).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/ops/matmul.hpp"
#include "base/dtype.hpp"
#include "base/thread_pool.hpp"
#include "quant/quant.hpp"

using namespace scout;

namespace {
DType parse_type(const std::string& name) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
        if (dtype_name(t) == name) return t;
    std::fprintf(stderr, "unknown type %s (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)\n", name.c_str());
    std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: bench_matmul TYPE N K T [THREADS=2] [REPS=20] [COPIES=1]\n");
        return 2;
    }
    const DType type = parse_type(argv[1]);
    const int64_t N = std::atoll(argv[2]), K = std::atoll(argv[3]), T = std::atoll(argv[4]);
    const int threads = argc > 5 ? std::atoi(argv[5]) : 2;
    const int reps = argc > 6 ? std::atoi(argv[6]) : 20;
    const int copies = std::max(1, argc > 7 ? std::atoi(argv[7]) : 1);

    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> wf(static_cast<std::size_t>(K)), x(static_cast<std::size_t>(T * K));
    for (float& v : x) v = g(rng);
    const std::size_t row_bytes = quant::row_size(type, K);
    const std::size_t matrix_bytes = row_bytes * static_cast<std::size_t>(N);
    std::vector<uint8_t> wq(matrix_bytes * static_cast<std::size_t>(copies));
    for (int64_t n = 0; n < N * copies; ++n) {
        for (float& v : wf) v = g(rng) * 0.03f;
        quant::quantize_row(type, wf.data(), wq.data() + static_cast<std::size_t>(n) * row_bytes, K);
    }
    std::vector<float> y(static_cast<std::size_t>(T * N));
    ThreadPool pool(threads);

    std::vector<double> secs;
    for (int r = 0; r < reps + 2; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int c = 0; c < copies; ++c) {
            const cpu::WeightMatrix w{wq.data() + c * matrix_bytes, type, N, K, K};
            cpu::matmul_nt(x.data(), T, w, y.data(), pool);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / copies;
        if (r >= 2) secs.push_back(s);  // two warm-ups
    }
    std::sort(secs.begin(), secs.end());
    const double med = secs[secs.size() / 2];
    const double macs = static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(T);
    std::printf("%-5s N=%-7lld K=%-5lld T=%-4lld threads=%d: %9.3f ms  %7.1f GMAC/s  %6.1f GB/s weights  (min %.3f ms)\n",
                argv[1], static_cast<long long>(N), static_cast<long long>(K), static_cast<long long>(T), threads,
                med * 1e3, macs / med * 1e-9, static_cast<double>(matrix_bytes) / med * 1e-9, secs.front() * 1e3);
    return 0;
}
