#include "base/thread_pool.hpp"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace scout {

namespace {

// Polling before a thread goes to sleep: a few microseconds of pause instructions, then
// yields (so that on a busy machine the thread we wait for can have our core), about 100-300
// microseconds in all: longer than the gaps between the jobs of one forward pass, far shorter
// than the gaps between requests.
constexpr int kSpinIterations = 1 << 12;
constexpr int kPauseIterations = 1 << 8;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

// Polls until done() is true or the spin budget runs out; returns done()'s last value.
template <typename Pred>
bool spin_until(Pred done) {
    for (int i = 0; i < kSpinIterations; ++i) {
        if (done()) return true;
        if (i < kPauseIterations)
            cpu_relax();
        else
            std::this_thread::yield();
    }
    return done();
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n_threads_ = n_threads;
    workers_.reserve(n_threads_ - 1);
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_range(int index) {
    const int64_t n_blocks = (job_n_ + job_grain_ - 1) / job_grain_;
    const int64_t b0 = n_blocks * index / n_threads_;
    const int64_t b1 = n_blocks * (index + 1) / n_threads_;
    const int64_t begin = std::min(job_n_, b0 * job_grain_);
    const int64_t end = std::min(job_n_, b1 * job_grain_);
    if (begin >= end) return;
    try {
        (*job_)(begin, end, index);
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
    }
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    const auto woken = [&] { return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
        if (!spin_until(woken)) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, woken);
        }
        if (stop_.load(std::memory_order_acquire)) return;
        seen = generation_.load(std::memory_order_acquire);
        run_range(index);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);  // the caller may be about to sleep on done_
            done_.notify_one();
        }
    }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn) { parallel_for_grain(n, 1, fn); }

void ThreadPool::parallel_for_grain(int64_t n, int64_t grain, const RangeFn& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain) {
        fn(0, n, 0);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        job_n_ = n;
        job_grain_ = grain;
        error_ = nullptr;
        pending_.store(n_threads_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_range(0);
    std::exception_ptr error;
    const auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(finished)) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, finished);
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = nullptr;
        error = error_;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace scout
