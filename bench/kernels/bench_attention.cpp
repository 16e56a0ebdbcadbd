// Attention throughput of scout's CPU kernel at a depth (a benchmark, not a test):
//   bench_attention DEPTH S [KV_TYPE=f16] [THREADS=2] [REPS=5] [H=8] [HKV=2] [D=128] [K_LAYOUT=tiles|rows]
// fills one global layer's KV with DEPTH + S random rows of KV_TYPE, then times cpu::attention
// for S new queries at positions DEPTH .. DEPTH+S-1 (S = 1: a decode step; S > 1: one prefill
// micro-batch). Prints the median time, GFLOP/s (4·H·d per visible key: Q·Kᵀ and P·V) and the
// K/V bytes read per second (each stored row once), next to a plain read of a buffer of the same
// size on the same threads, the memory limit a decode step at depth cannot beat.
// Default shape: the 1b demo model's attention (8 q heads, 2 KV heads, head_dim 128), whose global
// layers are what grows with depth.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/ops/attention.hpp"
#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"
#include "kv/kv_type.hpp"

using namespace scout;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// GB/s of reading `bytes` bytes split over the pool's threads: a sum of 64-bit words, which the
// compiler vectorises (integer addition may be reordered).
double read_bandwidth(std::size_t bytes, ThreadPool& pool, int reps) {
    std::vector<uint64_t> buf(bytes / sizeof(uint64_t), 1);
    const int64_t n = static_cast<int64_t>(buf.size());
    std::vector<uint64_t> sinks(static_cast<std::size_t>(pool.n_threads()) * 8, 0);
    std::vector<double> secs;
    for (int r = 0; r < reps + 1; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for_grain(n, 4096, [&](int64_t b, int64_t e, int t) {
            uint64_t acc = 0;
            for (int64_t i = b; i < e; ++i) acc += buf[static_cast<std::size_t>(i)];
            sinks[static_cast<std::size_t>(t) * 8] += acc;  // one cache line per thread
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0) secs.push_back(s);
    }
    if (sinks[0] == 12345) std::printf(" ");  // keeps the sums alive
    return static_cast<double>(bytes) / median(secs) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_attention DEPTH S [KV_TYPE=f16] [THREADS=2] [REPS=5] [H=8] [HKV=2] [D=128] "
                             "[K_LAYOUT=tiles|rows]\n");
        return 2;
    }
    const int64_t depth = std::atoll(argv[1]), S = std::atoll(argv[2]);
    const kv::KvType type = kv::parse_kv_type(argc > 3 ? argv[3] : "f16");
    const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
    const int reps = argc > 5 ? std::atoi(argv[5]) : 5;
    cpu::AttentionShape sh;
    sh.n_heads = argc > 6 ? std::atoll(argv[6]) : 8;
    sh.n_kv_heads = argc > 7 ? std::atoll(argv[7]) : 2;
    sh.head_dim = argc > 8 ? std::atoll(argv[8]) : 128;
    sh.scale = 1.0f / std::sqrt(static_cast<float>(sh.head_dim));
    const int64_t n = depth + S, row = sh.n_kv_heads * sh.head_dim;

    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.f, 1.f);
    // K in tiles where the type allows, as the model's global layers store it (kv::SequenceKv);
    // K_LAYOUT=rows forces rows (the kernel then transposes each K tile it reads).
    const bool force_rows = argc > 9 && std::string(argv[9]) == "rows";
    const kv::KLayout layout = !force_rows && kv::k_tiles_fit(type, sh.head_dim, 256, false, 0) ? kv::KLayout::Tiles
                                                                                               : kv::KLayout::Rows;
    kv::LayerKv kv(type, row, sh.head_dim, 256, nullptr, layout);
    std::vector<float> k(static_cast<std::size_t>(row)), v(k.size());
    for (int64_t t = 0; t < n; ++t) {
        for (float& x : k) x = g(rng);
        for (float& x : v) x = g(rng);
        kv.write(t, k.data(), v.data());
    }
    std::vector<float> q(static_cast<std::size_t>(S * sh.n_heads * sh.head_dim)), out(q.size());
    for (float& x : q) x = g(rng);
    std::vector<int64_t> positions(static_cast<std::size_t>(S));
    double visible = 0;
    for (int64_t i = 0; i < S; ++i) positions[static_cast<std::size_t>(i)] = depth + i, visible += static_cast<double>(depth + i + 1);

    ThreadPool pool(threads);
    std::vector<double> secs;
    for (int r = 0; r < reps + 1; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        cpu::attention(q.data(), positions, kv, sh, out.data(), pool);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0) secs.push_back(s);  // one warm-up
    }
    const double med = median(secs);
    const double flops = 4.0 * static_cast<double>(sh.n_heads * sh.head_dim) * visible;
    const double kv_bytes = 2.0 * static_cast<double>(kv.row_bytes()) * static_cast<double>(n);
    const double limit = read_bandwidth(static_cast<std::size_t>(kv_bytes), pool, reps);
    std::printf("%-4s %-7s depth=%-7lld S=%-4lld H=%lld/%lld d=%lld threads=%d: %9.3f ms  %6.1f GFLOP/s  %6.2f GB/s KV "
                "(plain read of %.0f MB: %.2f GB/s)\n",
                std::string(kv::kv_type_name(type)).c_str(), kv.k_tiled() ? "K tiles" : "K rows", static_cast<long long>(depth), static_cast<long long>(S),
                static_cast<long long>(sh.n_heads), static_cast<long long>(sh.n_kv_heads),
                static_cast<long long>(sh.head_dim), threads, med * 1e3, flops / med * 1e-9, kv_bytes / med * 1e-9,
                kv_bytes * 1e-6, limit);
    return 0;
}
