#include "base/thread_pool.hpp"

#include <algorithm>

namespace scout {

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n_threads_ = n_threads;
    workers_.reserve(n_threads_ - 1);
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
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
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        run_range(index);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0) done_.notify_one();
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
        pending_ = n_threads_ - 1;
        ++generation_;
    }
    wake_.notify_all();
    run_range(0);
    std::exception_ptr error;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        job_ = nullptr;
        error = error_;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace scout
