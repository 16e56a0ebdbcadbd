#include "engine/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <future>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "engine/stop_strings.hpp"
#include "grammar/token_mask.hpp"
#include "sample/sampler.hpp"
#include "text/stream_decoder.hpp"
#include "text/tokenizer.hpp"

namespace scout::engine {

bool RequestStream::next(std::vector<StreamEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (events_.empty()) cv_.wait_for(lock, timeout, [&] { return !events_.empty(); });
    if (events_.empty()) return false;
    for (auto& e : events_) out.push_back(std::move(e));
    events_.clear();
    return true;
}

void RequestStream::push(StreamEvent e) {
    {
        std::lock_guard lock(mu_);
        events_.push_back(std::move(e));
    }
    cv_.notify_all();
}

namespace {

std::size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    std::size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

constexpr std::size_t kNoImage = static_cast<std::size_t>(-1);

// The first prompt position whose row comes from an image, or kNoImage.
std::size_t first_image_row(const GenRequest& r) {
    if (r.image_rows.empty()) return kNoImage;
    const auto it = std::find(r.prompt.begin(), r.prompt.end(), r.image_token);
    return it == r.prompt.end() ? kNoImage : static_cast<std::size_t>(it - r.prompt.begin());
}

}  // namespace

struct Scheduler::Slot {
    std::unique_ptr<kv::KvMemory> kv;
    std::vector<int32_t> tokens;  // the tokens whose KV `kv` holds (size == kv.n_past())
    // KV from this position on was computed from image features: the same token ids with another
    // picture would read it wrongly, so no later request reuses it.
    std::size_t shareable = kNoImage;
    bool busy = false;
    uint64_t last_used = 0;
};

struct Scheduler::Active {
    GenRequest req;
    std::shared_ptr<RequestStream> stream;
    Slot* slot = nullptr;
    std::size_t feed_pos = 0;      // next prompt index to feed (prefill phase while < prompt.size())
    int64_t n_reused = 0;
    std::optional<Sampler> sampler;
    std::optional<grammar::TokenConstraint> constraint;  // structured output
    std::optional<text::StreamDecoder> decoder;
    std::optional<StopStringFilter> stop_strings;
    std::vector<int32_t> history;  // prompt + generated (penalties)
    int64_t n_generated = 0;
    int32_t pending = -1;          // sampled, not yet fed
    bool done = false;
    int64_t fed_this_step = 0;     // tokens of the current batch
    int64_t kv_reserved = 0;       // KV bytes its prompt + max_tokens may reach (with a budget)
};

namespace {
// The KV a request may reach: its prompt plus max_tokens, within the context.
int64_t kv_need(const SchedulerOptions& o, const GenRequest& r) {
    return o.kv_bytes_for(std::min(o.context_length, static_cast<int64_t>(r.prompt.size()) + r.max_tokens));
}
}  // namespace

Scheduler::Scheduler(backend::Forward& forward, const text::Tokenizer* tokenizer, SchedulerOptions options)
    : forward_(forward), sample_pool_(std::make_unique<ThreadPool>(options.sample_threads)), tokenizer_(tokenizer),
      options_(options) {
    check(options_.n_slots >= 1, "the number of parallel sequences must be at least 1");
    check(options_.context_length >= 2, "the context must hold at least 2 tokens");
    check(options_.prefill_chunk >= 1, "the prefill piece must be at least 1 token");
    check(options_.max_queue >= 0, "the queue limit must not be negative");
    check(options_.kv_budget_bytes >= 0, "the KV budget must not be negative");
    check(options_.kv_budget_bytes == 0 || options_.kv_bytes_for, "a KV budget needs kv_bytes_for");
    for (int i = 0; i < options_.n_slots; ++i) slots_.push_back(std::make_unique<Slot>(Slot{forward_.make_kv(), {}, false, 0}));
    device_top_k_ = forward_.capabilities().device_top_k;
    thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
    StreamEvent e;
    e.done = true;
    e.finish = StopReason::cancelled;
    {
        std::lock_guard lock(mu_);
        if (stop_) return;
        stop_ = true;
        // Waiting requests never get a slot now: they end at once, not after the current step.
        for (auto& [req, stream] : queue_) stream->push(e);
        queue_.clear();
        stats_.queue_depth = 0;
    }
    cv_.notify_all();
    thread_.join();
    for (auto& a : active_)
        if (!a->done) a->stream->push(e);
}

std::shared_ptr<RequestStream> Scheduler::submit(GenRequest request) {
    check(!request.prompt.empty(), "the prompt is empty");
    check(static_cast<int64_t>(request.prompt.size()) < options_.context_length,
          cat("the prompt has ", request.prompt.size(), " tokens; the context holds ", options_.context_length));
    check(request.max_tokens >= 1, "max_tokens must be at least 1");
    check(!request.grammar || (tokenizer_ && request.trie), "structured output needs a tokenizer and its token trie");
    if (!request.image_rows.empty()) {
        const auto marked = static_cast<std::size_t>(std::count(request.prompt.begin(), request.prompt.end(), request.image_token));
        check(marked * static_cast<std::size_t>(forward_.config().hidden_size) == request.image_rows.size(),
              cat("the prompt holds ", marked, " image tokens but ", request.image_rows.size(), " image values were given"));
        check(forward_.capabilities().embedding_rows, "this backend cannot take image features");
    }
    if (options_.kv_budget_bytes > 0) {
        const int64_t need = kv_need(options_, request);
        if (need > options_.kv_budget_bytes)
            throw KvBudgetExceeded(cat("the prompt (", request.prompt.size(), " tokens) plus max_tokens (", request.max_tokens,
                                       ") need up to ", need, " bytes of KV memory, more than the server's KV budget of ",
                                       options_.kv_budget_bytes, " bytes: ask for fewer tokens"));
    }
    auto stream = std::make_shared<RequestStream>();
    {
        std::lock_guard lock(mu_);
        if (stop_) throw ShuttingDown("the server is shutting down");
        if (static_cast<int64_t>(queue_.size()) >= options_.max_queue)
            throw QueueFull(cat("the server is busy: ", queue_.size(), " requests are already waiting"));
        queue_.emplace_back(std::move(request), stream);
        stats_.queue_depth = static_cast<int64_t>(queue_.size());
    }
    cv_.notify_all();
    return stream;
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

void Scheduler::run() {
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty() || !active_.empty(); });
            if (stop_) return;
            admit_locked();
        }
        if (active_.empty()) continue;
        // An exception escaping a step (a bad_alloc, a bug) must not end the process through
        // std::terminate on this thread: the sequences of that step end with the error and the
        // scheduler goes on with the next requests.
        std::string error;
        try {
            step();
            continue;
        } catch (const std::exception& e) {
            error = e.what();
        } catch (...) {
            error = "unknown exception";
        }
        std::fprintf(stderr, "scout: scheduler step failed: %s\n", error.c_str());
        for (auto& a : active_)
            if (!a->done) {
                try {
                    finish(*a, StopReason::error, "internal error: " + error);
                } catch (...) {
                    a->done = true;  // finish itself failed: at least free the slot
                    a->slot->busy = false;
                }
            }
        std::erase_if(active_, [](const auto& a) { return a->done; });
    }
}

// Called with mu_ held: moves waiting requests into free slots, oldest first.
void Scheduler::admit_locked() {
    // Requests cancelled while waiting leave the queue without touching a slot.
    for (auto it = queue_.begin(); it != queue_.end();) {
        if (it->second->cancelled()) {
            StreamEvent e;
            e.done = true;
            e.finish = StopReason::cancelled;
            it->second->push(std::move(e));
            ++stats_.n_requests_cancelled;
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
    while (!queue_.empty()) {
        // The free slot sharing the longest prefix with the prompt; least recently used on ties.
        Slot* best = nullptr;
        std::size_t best_lcp = 0;
        auto& [req, stream] = queue_.front();
        for (auto& s : slots_) {
            if (s->busy) continue;
            const std::size_t lcp = std::min({common_prefix(s->tokens, req.prompt), s->shareable, first_image_row(req)});
            if (!best || lcp > best_lcp || (lcp == best_lcp && s->last_used < best->last_used)) {
                best = s.get();
                best_lcp = lcp;
            }
        }
        if (!best) break;
        int64_t need = 0;
        if (options_.kv_budget_bytes > 0) {
            // FIFO under the budget: the oldest request waits until the running ones leave room.
            need = kv_need(options_, req);
            const int64_t reserved = kv_reserved_locked();
            if (reserved + need > options_.kv_budget_bytes) break;
            // Idle slots' cached prefixes count too: drop them, least recently used first.
            std::vector<Slot*> idle;
            int64_t cached = 0;
            for (auto& s : slots_)
                if (!s->busy && s.get() != best && s->kv->bytes_allocated() > 0) {
                    idle.push_back(s.get());
                    cached += static_cast<int64_t>(s->kv->bytes_allocated());
                }
            std::sort(idle.begin(), idle.end(), [](const Slot* x, const Slot* y) { return x->last_used < y->last_used; });
            for (Slot* s : idle) {
                if (reserved + need + cached <= options_.kv_budget_bytes) break;
                cached -= static_cast<int64_t>(s->kv->bytes_allocated());
                s->kv->clear();
                s->tokens.clear();
            }
        }
        auto a = std::make_unique<Active>();
        a->kv_reserved = need;
        a->req = std::move(req);
        a->stream = std::move(stream);
        queue_.pop_front();
        a->slot = best;
        best->busy = true;
        best->last_used = ++use_clock_;
        // At least the last prompt token is fed again: its logits start the generation.
        const auto keep = static_cast<int64_t>(std::min(best_lcp, a->req.prompt.size() - 1));
        int64_t resume = 0;
        if (keep == 0) best->kv->clear();
        else resume = best->kv->rewind(keep);
        best->tokens.resize(static_cast<std::size_t>(resume));
        best->shareable = first_image_row(a->req);
        a->feed_pos = static_cast<std::size_t>(resume);
        a->n_reused = resume;
        a->sampler.emplace(a->req.sampling);
        if (a->req.grammar) a->constraint.emplace(a->req.grammar, a->req.trie, a->req.stop_tokens);
        if (tokenizer_) a->decoder.emplace(*tokenizer_);
        a->stop_strings.emplace(tokenizer_ ? a->req.stop_strings : std::vector<std::string>{});
        a->history = a->req.prompt;
        stats_.n_prompt_tokens += static_cast<int64_t>(a->req.prompt.size());
        stats_.n_prompt_tokens_reused += resume;
        stats_.n_prompt_tokens_computed += static_cast<int64_t>(a->req.prompt.size()) - resume;
        active_.push_back(std::move(a));
    }
    stats_.queue_depth = static_cast<int64_t>(queue_.size());
    // Exact at once (not only after the next step), so "idle" in the stats means idle.
    update_running_stats_locked();
}

void Scheduler::finish(Active& a, StopReason reason, const std::string& error) {
    StreamEvent e;
    if (ended_normally(reason)) {
        // What the stop-string filter held back (nothing after a stop string).
        if (a.decoder) e.text = a.stop_strings->add(a.decoder->flush());
        e.text += a.stop_strings->finish();
    }
    e.done = true;
    e.finish = reason;
    e.error = error;
    e.n_prompt = static_cast<int64_t>(a.req.prompt.size());
    e.n_generated = a.n_generated;
    e.n_prompt_reused = a.n_reused;
    a.done = true;
    a.slot->busy = false;
    if (!ended_normally(reason)) {
        // Nobody will continue this conversation soon: give its memory back now.
        a.slot->kv->clear();
        a.slot->tokens.clear();
    }
    {
        // In the stats before the client can see the final event, so stats never lag behind it.
        std::lock_guard lock(mu_);
        ++(reason == StopReason::cancelled ? stats_.n_requests_cancelled : stats_.n_requests_done);
        update_running_stats_locked();
    }
    a.stream->push(std::move(e));
}

// The KV the running requests may grow to (their reservations under --kv-budget; 0 without).
int64_t Scheduler::kv_reserved_locked() const {
    int64_t reserved = 0;
    for (const auto& a : active_)
        if (!a->done) reserved += a->kv_reserved;
    return reserved;
}

// Called with mu_ held, on the scheduler thread (or after it ended): running sequences and the
// KV memory of busy and idle slots.
void Scheduler::update_running_stats_locked() {
    stats_.n_running = static_cast<int64_t>(std::count_if(active_.begin(), active_.end(), [](const auto& a) { return !a->done; }));
    int64_t in_use = 0, cached = 0, in_file = 0;
    for (const auto& s : slots_) {
        (s->busy ? in_use : cached) += static_cast<int64_t>(s->kv->bytes_allocated());
        in_file += static_cast<int64_t>(s->kv->bytes_in_file());
    }
    stats_.kv_bytes_in_use = in_use;
    stats_.kv_bytes_cached = cached;
    stats_.kv_bytes_in_file = in_file;
    stats_.kv_bytes_reserved = kv_reserved_locked();
}

void Scheduler::step() {
    // Drop cancelled sequences first: their slot and KV are free for the next admission.
    for (auto& a : active_)
        if (a->stream->cancelled()) finish(*a, StopReason::cancelled);
    std::erase_if(active_, [](const auto& a) { return a->done; });

    std::vector<backend::SequenceStep> steps;
    std::vector<Active*> owners;
    // Decode tokens of every running sequence first, then prompt pieces within the budget.
    for (auto& a : active_)
        if (a->pending >= 0) {
            a->fed_this_step = 1;
            steps.push_back({a->slot->kv.get(), std::span<const int32_t>(&a->pending, 1), {}, {}, false});
            owners.push_back(a.get());
        }
    int64_t budget = options_.prefill_chunk;
    const auto D = static_cast<std::size_t>(forward_.config().hidden_size);
    std::vector<std::vector<int64_t>> image_rows_at(active_.size());  // per prompt piece; outlives `steps`
    for (std::size_t k = 0; k < active_.size(); ++k) {
        Active* a = active_[k].get();
        if (a->pending >= 0 || budget == 0) continue;
        const auto left = static_cast<int64_t>(a->req.prompt.size() - a->feed_pos);
        const int64_t n = std::min(left, budget);
        budget -= n;
        a->fed_this_step = n;
        backend::SequenceStep step{a->slot->kv.get(), std::span<const int32_t>(a->req.prompt).subspan(a->feed_pos, static_cast<std::size_t>(n)), {}, {}, false};
        if (!a->req.image_rows.empty()) {
            const auto first = a->req.prompt.begin() + static_cast<std::ptrdiff_t>(a->feed_pos);
            const auto before = static_cast<std::size_t>(std::count(a->req.prompt.begin(), first, a->req.image_token));
            for (int64_t i = 0; i < n; ++i)
                if (first[i] == a->req.image_token) image_rows_at[k].push_back(i);
            step.embedding_rows = image_rows_at[k];
            step.embeddings = std::span<const float>(a->req.image_rows).subspan(before * D, image_rows_at[k].size() * D);
        }
        steps.push_back(step);
        owners.push_back(a);
    }

    const auto vocab = static_cast<std::size_t>(forward_.config().vocab_size);
    // Which sequences get a token this step: those decoding, and those whose prompt ends here.
    std::vector<char> wanted(owners.size());
    for (std::size_t i = 0; i < owners.size(); ++i) {
        const Active& a = *owners[i];
        wanted[i] = a.pending >= 0 || a.feed_pos + static_cast<std::size_t>(a.fed_this_step) >= a.req.prompt.size();
    }
    // Structured output: the masks for this step depend only on the tokens already accepted, so
    // the sample threads compute them while the forward pass runs; sampling below then finds
    // each in its constraint's cache (same state, same mask: grammar/token_mask.hpp).
    std::future<void> masks;
    if (options_.overlap_masks) {
        std::vector<Active*> constrained;
        for (std::size_t i = 0; i < owners.size(); ++i)
            if (wanted[i] && owners[i]->constraint) constrained.push_back(owners[i]);
        if (!constrained.empty())
            masks = std::async(std::launch::async, [this, vocab, constrained = std::move(constrained)] {
                sample_pool_->parallel_for(static_cast<int64_t>(constrained.size()), [&](int64_t i0, int64_t i1, int) {
                    for (auto i = i0; i < i1; ++i) {
                        try {
                            constrained[static_cast<std::size_t>(i)]->constraint->mask(vocab);
                        } catch (const std::exception&) {
                            // Sampling computes it again and reports the error there.
                        }
                    }
                });
            });
    }

    // When the backend finds the top logits on the device and every sampler of this step needs
    // no more (greedy or top-k, no penalty, no grammar, no logprobs), only those cross to the
    // host; the draws are the same (Sampler::samples_from_top).
    // (A vocabulary smaller than the backend's k gives rows of all of it: top_k must stay below that.)
    const int top_k = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(device_top_k_), vocab));
    bool use_top = top_k > 0;
    for (std::size_t i = 0; i < owners.size() && use_top; ++i) {
        const Active& a = *owners[i];
        use_top = !wanted[i] || (!a.constraint && a.req.top_logprobs < 0 &&
                                 Sampler::samples_from_top(a.sampler->params(), top_k));
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::string error;
    if (!steps.empty()) {
        try {
            if (use_top) forward_.forward_top(steps, device_top_k_, top_);
            else forward_.forward(steps, logits_);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (masks.valid()) masks.wait();
    // Sample every sequence that gets a token this step, in parallel on the scheduler's own
    // threads (the forward pass is idle meanwhile): each sequence has its own sampler and history, so the results are the
    // same as in order, and the logit check + greedy argmax over a 202k vocabulary, one sequence
    // after another, were ~10 % of an 8-stream decode step on the demo model.
    struct Sampled {
        bool wanted = false;
        int32_t id = 0;
        std::optional<TokenLogprob> logprob;
        std::string error;
    };
    std::vector<Sampled> sampled(owners.size());
    if (error.empty()) {
        for (std::size_t i = 0; i < owners.size(); ++i) sampled[i].wanted = wanted[i] != 0;
        sample_pool_->parallel_for(static_cast<int64_t>(owners.size()), [&](int64_t i0, int64_t i1, int) {
            for (auto i = static_cast<std::size_t>(i0); i < static_cast<std::size_t>(i1); ++i) {
                if (!sampled[i].wanted) continue;
                Active& a = *owners[i];
                try {
                    if (use_top) {
                        const auto k = static_cast<std::size_t>(top_.k);
                        sampled[i].id = a.sampler->sample_from_top(std::span<const int32_t>(top_.ids).subspan(i * k, k),
                                                                   std::span<const float>(top_.values).subspan(i * k, k),
                                                                   top_.usable[i] != 0);
                        continue;
                    }
                    const std::span<const float> logits(logits_.data() + i * vocab, vocab);
                    const std::span<const uint64_t> allowed =
                        a.constraint ? a.constraint->mask(vocab) : std::span<const uint64_t>();
                    if (a.req.top_logprobs >= 0) {
                        SampleResult r = a.sampler->sample_with_logprobs(logits, a.history, a.req.top_logprobs, allowed);
                        sampled[i].id = r.id;
                        sampled[i].logprob = TokenLogprob{r.id, r.logprob, std::move(r.top_logprobs)};
                    } else {
                        sampled[i].id = a.sampler->sample(logits, a.history, allowed);
                    }
                    const int32_t id = sampled[i].id;
                    if (a.constraint && !tokenizer_->is_special(id) && !a.constraint->accept(tokenizer_->token_bytes(id)))
                        throw Error("structured output: the grammar refused a token its mask allowed");
                } catch (const std::exception& ex) {
                    sampled[i].error = ex.what();
                }
            }
        });
    }

    int64_t n_new_tokens = 0;
    for (std::size_t i = 0; i < owners.size(); ++i) {
        Active& a = *owners[i];
        if (!error.empty()) {
            finish(a, StopReason::error, error);
            continue;
        }
        Slot& s = *a.slot;
        if (a.pending >= 0) {
            s.tokens.push_back(a.pending);
            a.pending = -1;
        } else {
            s.tokens.insert(s.tokens.end(), a.req.prompt.begin() + static_cast<std::ptrdiff_t>(a.feed_pos),
                            a.req.prompt.begin() + static_cast<std::ptrdiff_t>(a.feed_pos) + a.fed_this_step);
            a.feed_pos += static_cast<std::size_t>(a.fed_this_step);
            if (a.feed_pos < a.req.prompt.size()) continue;  // more prompt pieces to come
        }
        if (!sampled[i].error.empty()) {
            finish(a, StopReason::error, sampled[i].error);
            continue;
        }
        StreamEvent e;
        const int32_t id = sampled[i].id;
        e.logprob = std::move(sampled[i].logprob);
        e.token = id;
        ++a.n_generated;
        ++n_new_tokens;
        a.history.push_back(id);
        StopReason reason = StopReason::none;
        if (std::find(a.req.stop_tokens.begin(), a.req.stop_tokens.end(), id) != a.req.stop_tokens.end()) {
            reason = StopReason::stop_token;
        } else if (a.decoder) {
            e.text = a.stop_strings->add(a.decoder->push(id));
            if (a.stop_strings->stopped()) reason = StopReason::stop_string;
        }
        if (reason == StopReason::none && a.n_generated >= a.req.max_tokens) reason = StopReason::max_tokens;
        if (reason == StopReason::none && s.kv->n_past() + 1 > options_.context_length) reason = StopReason::context_full;
        a.pending = id;
        a.stream->push(std::move(e));  // one event per token, so clients can count them
        if (reason != StopReason::none) {
            // The last token is not fed: a following turn feeds it with its own tokens.
            finish(a, reason);
        }
    }
    std::erase_if(active_, [](const auto& a) { return a->done; });

    std::lock_guard lock(mu_);
    stats_.n_steps += steps.empty() ? 0 : 1;
    stats_.busy_seconds += seconds;
    stats_.n_generated_tokens += n_new_tokens;
    update_running_stats_locked();
}

}  // namespace scout::engine
