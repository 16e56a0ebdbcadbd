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

class ThreadPool {
public:
    // n_threads <= 0 means "all hardware threads".
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int n_threads() const { return n_threads_; }

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

private:
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
};

}  // namespace scout
