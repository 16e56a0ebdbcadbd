// base/: dtype conversions, .npy round trip, mapped files, the thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <sched.h>

#include <chrono>
#include <thread>

#include "base/cpu_topology.hpp"
#include "base/dtype.hpp"
#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "base/npy.hpp"
#include "base/thread_pool.hpp"
#include "test_util.hpp"

using namespace scout;

TEST(DType, Bf16RoundsToNearestEven) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
    EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
    // 1 + 3*2^-8 is halfway between 1.0078125 (odd mantissa) and 1.015625: rounds up to even.
    EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
    EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
    EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
}

TEST(DType, F16ExhaustiveRoundTrip) {
    // Every finite f16 value converts to f32 exactly and back to the same bits.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto bits = static_cast<uint16_t>(h);
        const float f = f16_to_f32(bits);
        if (std::isnan(f)) continue;
        ASSERT_EQ(f32_to_f16(f), bits) << "h=" << h << " f=" << f;
    }
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                // rounds to inf
    EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
}

TEST(DType, SafetensorsNames) {
    EXPECT_EQ(dtype_from_safetensors("BF16"), DType::BF16);
    EXPECT_EQ(dtype_size(DType::F16), 2u);
    EXPECT_THROW(dtype_from_safetensors("F8_E4M3X"), Error);
}

TEST(Npy, RoundTrip) {
    const auto path = std::filesystem::temp_directory_path() / "scout_test_npy.npy";
    std::vector<float> data = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
    const int64_t shape[2] = {2, 3};
    write_npy_f32(path, data, shape);
    const NpyArray back = read_npy_f32(path);
    EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(back.data, data);
    // The header must be 64-byte aligned as NumPy requires.
    EXPECT_EQ((std::filesystem::file_size(path) - data.size() * 4) % 64, 0u);
    std::filesystem::remove(path);
}

TEST(MappedFile, MissingFileNamesPath) {
    try {
        MappedFile f("/nonexistent/scout/file.bin");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/scout/file.bin"), std::string::npos);
    }
}

TEST(ThreadPool, CoversEveryIndexOnceForAllSizes) {
    for (int threads : {1, 2, 3, 5, 8}) {
        ThreadPool pool(threads);
        for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
            for (int64_t grain : {1, 4, 64}) {
                std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
                pool.parallel_for_grain(n, grain, [&](int64_t b, int64_t e, int t) {
                    ASSERT_GE(t, 0);
                    ASSERT_LT(t, threads);
                    for (int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
                });
                for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1);
            }
        }
    }
}

TEST(ThreadPool, RethrowsWorkerExceptionAndStaysUsable) {
    ThreadPool pool(4);
    EXPECT_THROW(pool.parallel_for(100, [](int64_t b, int64_t, int) {
        if (b > 0) throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    std::atomic<int64_t> sum{0};
    pool.parallel_for(100, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, ForEachClaimedRunsEveryItemOnceWhateverTheCosts) {
    for (int threads : {1, 2, 3, 7}) {
        ThreadPool pool(threads);
        for (int64_t n : {0, 1, 2, 5, 97}) {
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
            pool.for_each_claimed(n, [&](int64_t i, int t) {
                ASSERT_GE(t, 0);
                ASSERT_LT(t, threads);
                if (i % 13 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));  // unequal costs
                hits[static_cast<std::size_t>(i)]++;
            });
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << "item " << i;
        }
    }
    ThreadPool pool(3);
    EXPECT_THROW(pool.for_each_claimed(50, [](int64_t i, int) {
        if (i == 17) throw std::runtime_error("boom");
    }),
                 std::runtime_error);
}

// The metering a profile reads: a region's time lands on the threads that ran it, regions are
// counted, and nothing is measured while metering is off.
TEST(ThreadPool, MetersEachThreadsWorkAndTheRegions) {
    ThreadPool pool(3);
    const auto sleep_ms = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
    pool.parallel_for(3, [&](int64_t, int64_t, int) { sleep_ms(5); });
    PoolWork w = pool.work();
    ASSERT_EQ(w.busy_seconds.size(), 3u);
    for (double b : w.busy_seconds) EXPECT_EQ(b, 0.0);
    EXPECT_EQ(w.regions, 1u);

    pool.set_work_metering(true);
    // Thread 2 works 40 ms, the others 1 ms: the caller then waits for it.
    pool.parallel_for(3, [&](int64_t, int64_t, int t) { sleep_ms(t == 2 ? 40 : 1); });
    pool.parallel_for(1, [&](int64_t, int64_t, int) { sleep_ms(10); });  // inline: the caller's work, no region
    w = pool.work();
    EXPECT_EQ(w.regions, 2u);
    EXPECT_GE(w.busy_seconds[2], 0.040);
    EXPECT_LT(w.busy_seconds[1], 0.030);
    EXPECT_GE(w.busy_seconds[0], 0.011);  // 1 ms in its range + 10 ms inline
    EXPECT_GE(w.caller_wait_seconds, 0.020);
    pool.set_work_metering(false);
    pool.parallel_for(3, [&](int64_t, int64_t, int) { sleep_ms(2); });
    EXPECT_EQ(pool.work().busy_seconds[2], w.busy_seconds[2]);
}

TEST(CpuTopology, OneCpuPerPhysicalCore) {
    // Two sockets of two cores with SMT pairs (siblings numbered +4, as Linux does), cpu 1
    // missing from the affinity mask: cores (0,0) (0,1) (1,0) (1,1) -> cpus 0, 5, 2, 3.
    const LogicalCpu cpus[] = {{4, 0, 0}, {0, 0, 0}, {5, 0, 1}, {2, 1, 0}, {6, 1, 0}, {3, 1, 1}, {7, 1, 1}};
    EXPECT_EQ(first_cpu_of_each_core(cpus), (std::vector<int>{0, 2, 3, 5}));
    EXPECT_TRUE(first_cpu_of_each_core({}).empty());

    const CpuTopology t = read_cpu_topology();
    ASSERT_FALSE(t.core_cpus.empty());
    EXPECT_LE(static_cast<int>(t.core_cpus.size()), t.logical_cpus);
    EXPECT_EQ(physical_core_count(), static_cast<int>(t.core_cpus.size()));
    EXPECT_EQ(ThreadPool().n_threads(), physical_core_count());  // the default worker count
}

TEST(ThreadPool, PinnedWorkersRunOnTheirCores) {
    const CpuTopology t = read_cpu_topology();
    ThreadPool pool(ThreadPoolOptions{3, true});
    if (!pool.pinned()) GTEST_SKIP() << "this system refuses thread affinity";
    std::vector<int> seen(3, -1);
    pool.parallel_for(3, [&](int64_t b, int64_t, int thread) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        seen[static_cast<std::size_t>(thread)] = sched_getcpu();
        (void)b;
    });
    for (int i = 1; i < 3; ++i)
        EXPECT_EQ(seen[static_cast<std::size_t>(i)], t.core_cpus[static_cast<std::size_t>(i) % t.core_cpus.size()]) << "worker " << i;
}
