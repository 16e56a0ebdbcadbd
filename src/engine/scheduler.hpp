// Continuous batching: many generation requests share forward passes.
//
// One scheduler thread owns the model's forward pass and `n_slots` sequence slots (each a
// SequenceKv plus the tokens it holds). Every step it builds one batch: one decode token for
// every running sequence, plus a bounded piece (prefill_chunk tokens) of prompts still being
// prefilled, so a long prompt never stalls running decodes for more than one piece.
// Admission is first come, first served (a FIFO queue), bounded by max_queue.
//
// Prefix reuse: a finished sequence keeps its KV in its slot. A new request takes the free slot
// whose tokens share the longest prefix with its prompt and rewinds it (SequenceKv::rewind):
// at most one attention chunk is recomputed, plus the new tokens. Counts go to stats().
//
// Clients talk to their request through a RequestStream (thread-safe): they read events and
// may cancel; a cancelled sequence leaves the batch at the next step and its KV is freed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backend/forward.hpp"
#include "engine/stop_reason.hpp"
#include "sample/sampling_params.hpp"

namespace scout {
class ThreadPool;
namespace grammar {
class Grammar;
class TokenTrie;
}  // namespace grammar
namespace text {
class Tokenizer;
}
}  // namespace scout

namespace scout::engine {

struct SchedulerOptions {
    int n_slots = 4;                // sequences decoded together (--parallel)
    int64_t context_length = 8192;  // positions per sequence (prompt + generated)
    int64_t prefill_chunk = 128;    // prompt tokens per step, shared by all prefilling sequences
    int64_t max_queue = 64;         // waiting requests beyond this are refused (QueueFull)
    int sample_threads = 0;         // threads the scheduler samples its sequences on; <= 0: all cores
    // Structured output: compute the next token masks on the sample threads while the forward pass
    // runs (results are identical either way; off leaves the cores to the forward pass alone).
    bool overlap_masks = true;
    // KV budget (scout serve --kv-budget): a request is admitted only while the KV that its prompt
    // plus max_tokens can reach, summed over the running requests, fits in kv_budget_bytes; idle
    // slots' cached prefixes are dropped (least recently used first) to make room. A request that
    // could not fit even alone is refused at submit (KvBudgetExceeded). 0: no budget, the slots
    // alone bound the batch. kv_bytes_for(n): the KV bytes one sequence allocates at n positions
    // (kv::KvSize::bytes_allocated_for); required with a budget.
    int64_t kv_budget_bytes = 0;
    std::function<int64_t(int64_t)> kv_bytes_for = {};
};

struct GenRequest {
    std::vector<int32_t> prompt;            // non-empty, shorter than the context
    SamplingParams sampling;                // validated by the caller
    int64_t max_tokens = 256;               // >= 1
    std::vector<int32_t> stop_tokens;       // end it with StopReason::stop_token, never shown as text
    std::vector<std::string> stop_strings;  // the text is cut before them
    int top_logprobs = -1;                  // < 0: no logprobs; else logprobs with this many alternatives
    // Structured output (docs/structured-output.md): when set, every sampled token keeps the text
    // inside this grammar and only stop_tokens may follow a complete structure. Needs the
    // scheduler's tokenizer and `trie` (built once from it).
    std::shared_ptr<const grammar::Grammar> grammar;
    std::shared_ptr<const grammar::TokenTrie> trie;
    // Vision features (docs/images.md): every `image_token` in the prompt takes the next row of
    // image_rows [count, hidden] instead of its embedding. KV computed from them is never shared
    // with another request (prefix reuse stops at the first image token).
    int32_t image_token = -1;
    std::vector<float> image_rows;
};

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0;
    std::vector<std::pair<int32_t, float>> top;
};

// One generated token (text may be empty: an incomplete UTF-8 character, text held back while it
// could become a stop string, or a stop token), or the end of the request.
struct StreamEvent {
    int32_t token = -1;  // the generated id (-1 on the final event)
    std::string text;
    std::optional<TokenLogprob> logprob;  // when requested
    bool done = false;
    StopReason finish = StopReason::none;  // on the final event: why the request ended
    std::string error;  // finish == error
    int64_t n_prompt = 0, n_generated = 0, n_prompt_reused = 0;  // set on the final event
};

class RequestStream {
public:
    // Moves the pending events into `out` (appending); waits up to `timeout` when there are none.
    // Returns true when at least one event was moved.
    bool next(std::vector<StreamEvent>& out, std::chrono::milliseconds timeout);
    // Asks the scheduler to drop this request (client went away); idempotent.
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    // Scheduler side.
    void push(StreamEvent e);

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<StreamEvent> events_;
    std::atomic<bool> cancelled_{false};
};

// A request's end is in the stats (its count, n_running, the KV bytes) before its final event
// reaches the client, so a client that saw the end never reads stale numbers.
struct SchedulerStats {
    int64_t n_requests_done = 0, n_requests_cancelled = 0;
    int64_t n_prompt_tokens = 0;          // prompt tokens of admitted requests
    int64_t n_prompt_tokens_reused = 0;   // taken from a slot's KV (prefix reuse)
    int64_t n_prompt_tokens_computed = 0; // fed through the model (recomputed or new)
    int64_t n_generated_tokens = 0;
    int64_t n_steps = 0;
    double busy_seconds = 0;  // time spent in forward steps
    int64_t queue_depth = 0, n_running = 0;
    int64_t kv_bytes_in_use = 0;   // KV of running sequences
    int64_t kv_bytes_cached = 0;   // KV kept by idle slots for prefix reuse
    int64_t kv_bytes_in_file = 0;  // of both, bytes kept in the --kv-ram file instead of RAM
    int64_t kv_bytes_reserved = 0; // with a KV budget: what the running requests may grow to
};

struct KvBudgetExceeded : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct QueueFull : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct ShuttingDown : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Scheduler {
public:
    // forward and tokenizer must outlive the scheduler. Starts the scheduler thread, which owns
    // the forward pass while it runs, and a pool of sample_threads to sample on.
    // tokenizer may be null (tests on tiny models): events then carry ids only, no text, and
    // stop strings are not checked.
    Scheduler(backend::Forward& forward, const text::Tokenizer* tokenizer, SchedulerOptions options);
    ~Scheduler();  // stop()
    // Stops the scheduler thread; every unfinished request ends with StopReason::cancelled and
    // later submissions throw ShuttingDown. Requests still waiting in the queue are told at once;
    // running ones once the step in progress has finished. Idempotent.
    void stop();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a request. Throws QueueFull when max_queue requests are already waiting, ShuttingDown
    // after stop(), KvBudgetExceeded when its prompt + max_tokens need more KV than the budget.
    std::shared_ptr<RequestStream> submit(GenRequest request);
    SchedulerStats stats() const;
    const SchedulerOptions& options() const { return options_; }

    struct Slot;
    struct Active;

private:
    void run();
    void admit_locked();
    void step();
    void finish(Active& a, StopReason reason, const std::string& error = {});
    void update_running_stats_locked();
    int64_t kv_reserved_locked() const;

    backend::Forward& forward_;
    std::unique_ptr<ThreadPool> sample_pool_;
    const text::Tokenizer* tokenizer_;
    SchedulerOptions options_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<GenRequest, std::shared_ptr<RequestStream>>> queue_;
    bool stop_ = false;
    SchedulerStats stats_;  // guarded by mu_

    // Scheduler thread only.
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::unique_ptr<Active>> active_;
    std::vector<float> logits_;
    int device_top_k_ = 0;          // forward_top's limit on this backend (0: full logit rows)
    backend::TopLogits top_;        // a step's top logits when every sampler can use them
    uint64_t use_clock_ = 0;
    std::thread thread_;
};

}  // namespace scout::engine
