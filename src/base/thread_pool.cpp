#include "base/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#include "base/cpu_topology.hpp"

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

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : ThreadPool(ThreadPoolOptions{n_threads, false}) {}

ThreadPool::ThreadPool(const ThreadPoolOptions& options) { start_workers(options); }

void ThreadPool::start_workers(const ThreadPoolOptions& options) {
    std::vector<int> cpus;
    if (options.threads <= 0 || options.pin) cpus = read_cpu_topology().core_cpus;
    n_threads_ = options.threads > 0 ? options.threads : std::max(1, static_cast<int>(cpus.size()));
    busy_.resize(static_cast<std::size_t>(n_threads_));
    // Worker i goes to core i (wrapping when there are more threads than cores); each worker
    // binds itself before it takes any work, so its stack and first buffers land on that core.
    pinned_ = options.pin && !cpus.empty();
    std::atomic<int> refused{0};
    workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) {
        const int cpu = pinned_ ? cpus[static_cast<std::size_t>(i) % cpus.size()] : -1;
        workers_.emplace_back([this, i, cpu, &refused] {
            if (cpu >= 0 && !pin_current_thread(cpu)) refused.fetch_add(1);
            worker_loop(i);
        });
    }
    // Wait until every worker has tried to bind itself (`refused` lives on this stack): an
    // empty region is a barrier all workers pass only after their start.
    if (pinned_) {
        parallel_for(n_threads_, [](int64_t, int64_t, int) {});
        regions_ = 0;
        pinned_ = refused.load() == 0;
    }
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
    const auto t0 = metering_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    try {
        (*job_)(begin, end, index);
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
    }
    if (metering_) busy_[static_cast<std::size_t>(index)].seconds += seconds_since(t0);
}

PoolWork ThreadPool::work() const {
    PoolWork w;
    for (const Busy& b : busy_) w.busy_seconds.push_back(b.seconds);
    w.caller_wait_seconds = caller_wait_;
    w.regions = regions_;
    return w;
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
        const auto t0 = metering_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        fn(0, n, 0);
        if (metering_) busy_[0].seconds += seconds_since(t0);
        return;
    }
    ++regions_;
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
    const auto wait0 = metering_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    if (!spin_until(finished)) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, finished);
    }
    if (metering_) caller_wait_ += seconds_since(wait0);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = nullptr;
        error = error_;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace scout
