// A persistent pool of worker threads for data-parallel loops.
// The calling thread takes part as worker 0, so ThreadPool(1) runs everything inline.
// Work is split statically into n_threads contiguous ranges: results do not depend
// on timing, only on the thread count (and kernels are written so that they do not
// depend on it either — each output element is computed by exactly one thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace scout {

struct ThreadPoolOptions {
    int threads = 0;     // <= 0: one per physical core this process may use (cpu_topology.hpp)
    // Binds worker i (i >= 1) to the i-th physical core. The calling thread, worker 0, is left
    // where it is: it belongs to the caller (a server's scheduler, a CLI's main thread), and
    // with the workers on cores 1..n-1 the system keeps it on the core left free.
    bool pin = false;
};

// What the pool's threads did since the pool was made (metering on; see set_work_metering).
struct PoolWork {
    std::vector<double> busy_seconds;  // [n_threads] time inside ranges; [0]: the caller's ranges only
    double caller_wait_seconds = 0.0;  // the caller waiting for workers after its own range
    uint64_t regions = 0;              // parallel regions run (each is one hand-off and one barrier)
};

class ThreadPool {
public:
    explicit ThreadPool(int n_threads = 0);
    explicit ThreadPool(const ThreadPoolOptions& options);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int n_threads() const { return n_threads_; }
    // Workers bound to their core (asked for and granted by the system for every worker).
    bool pinned() const { return pinned_; }

    // Work metering for profiles: while on, each thread adds the time it spends in its ranges
    // (two clock reads per range) and the caller its waits, so a profiler can tell serial or
    // unbalanced stages from parallel ones. Off by default; switch only between regions.
    void set_work_metering(bool on) { metering_ = on; }
    // A copy of the totals; call between regions, from the thread that runs them.
    PoolWork work() const;

    // A non-owning reference to any callable fn(begin, end, thread): unlike std::function it never
    // allocates (a decode step hands the pool a few hundred lambdas; none may reach the heap).
    // Valid only during the call it is passed to, which blocks until every range is done.
    class RangeFn {
    public:
        template <typename F>
        RangeFn(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert at the call site
            : obj_(const_cast<void*>(static_cast<const void*>(&f))),
              call_([](void* o, int64_t b, int64_t e, int t) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e, t); }) {}
        void operator()(int64_t b, int64_t e, int t) const { call_(obj_, b, e, t); }

    private:
        void* obj_;
        void (*call_)(void*, int64_t, int64_t, int);
    };

    // Calls fn(begin, end, thread_index) on disjoint ranges covering [0, n).
    // Blocks until all ranges are done; rethrows the first exception thrown by fn.
    void parallel_for(int64_t n, const RangeFn& fn);

    // Like parallel_for, but ranges are aligned to multiples of `grain` (except the last).
    void parallel_for_grain(int64_t n, int64_t grain, const RangeFn& fn);

    // Calls fn(item, thread_index) once for each item in [0, n), in one parallel region where
    // every thread claims the next unclaimed item until none is left: for items of unequal cost
    // (an expert's panel costs in proportion to its tokens), which a static split would leave
    // unbalanced. Which thread runs an item depends on timing, so fn's result for an item must
    // not depend on the thread; give costly items low indices, so that the cheap ones fill the
    // gaps at the end. Rethrows the first exception thrown by fn.
    template <typename F>
    void for_each_claimed(int64_t n, F&& fn) {
        if (n <= 0) return;
        if (n_threads_ == 1 || n == 1) {
            parallel_for(1, [&](int64_t, int64_t, int t) {  // inline, metered as the caller's work
                for (int64_t i = 0; i < n; ++i) fn(i, t);
            });
            return;
        }
        std::atomic<int64_t> next{0};
        parallel_for(n_threads_, [&](int64_t, int64_t, int t) {
            for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n; i = next.fetch_add(1, std::memory_order_relaxed))
                fn(i, t);
        });
    }

private:
    void start_workers(const ThreadPoolOptions& options);
    void worker_loop(int index);
    void run_range(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    // A forward pass issues hundreds of short jobs per token, so workers and the caller spin
    // briefly on these atomics before sleeping on the condition variables (a futex wake-up
    // costs tens of microseconds, a spin a fraction of one). Writes happen under mutex_ so a
    // sleeper cannot miss its wake-up.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::atomic<uint64_t> generation_{0};  // bumped for each job
    std::atomic<int> pending_{0};          // workers still running the current job
    std::atomic<bool> stop_{false};
    const RangeFn* job_ = nullptr;
    int64_t job_n_ = 0;
    int64_t job_grain_ = 1;
    std::exception_ptr error_;
    bool pinned_ = false;
    // Metering (written by the thread that owns each slot; read by the caller between regions,
    // ordered after the workers' writes by pending_'s release/acquire).
    bool metering_ = false;
    struct alignas(64) Busy {  // one cache line per thread: no false sharing between workers
        double seconds = 0.0;
    };
    std::vector<Busy> busy_;
    double caller_wait_ = 0.0;
    uint64_t regions_ = 0;
};

}  // namespace scout
