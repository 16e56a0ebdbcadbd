// The continuous-batching scheduler on the tiny fixture model (chunk size 4, so prefix reuse
// crosses chunk edges): batched greedy output equals a lone Session's, prefix reuse recomputes at
// most one chunk and changes nothing, cancellation frees the KV memory, limits are enforced.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "backend/factory.hpp"
#include "engine/generate.hpp"
#include "engine/model.hpp"
#include "engine/scheduler.hpp"
#include "engine/session.hpp"
#include "test_util.hpp"

namespace scout::engine {
namespace {

using namespace std::chrono_literals;

struct Tiny {
    std::unique_ptr<Model> model = load_model(test::data_dir() / "models" / "tiny_text_f32");
    std::unique_ptr<backend::Forward> forward_ptr = backend::make_forward(
        model->config.text, model->plan, model->weights,
        backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
    backend::Forward& forward = *forward_ptr;
};

SamplingParams greedy() {
    SamplingParams p;
    p.temperature = 0;
    p.penalty_last_n = 0;
    return p;
}

std::vector<int32_t> make_prompt(int n, int salt) {
    std::vector<int32_t> p;
    for (int i = 0; i < n; ++i) p.push_back((i * 37 + salt * 11 + 3) % 256);
    return p;
}

// What a single Session produces for the prompt (the reference).
std::vector<int32_t> alone(Tiny& t, const std::vector<int32_t>& prompt, int64_t n, SamplingParams sp = greedy()) {
    Session s(t.forward, {.context_length = 256});
    Sampler sampler(sp);
    GenerateOptions o;
    o.max_new_tokens = n;
    return generate(s, sampler, nullptr, prompt, o).tokens;
}

struct Collected {
    std::vector<int32_t> tokens;
    StreamEvent end;
};

Collected collect(RequestStream& s) {
    Collected c;
    for (int i = 0; i < 600; ++i) {
        std::vector<StreamEvent> ev;
        s.next(ev, 100ms);
        for (auto& e : ev) {
            if (e.done) {
                c.end = e;
                return c;
            }
            c.tokens.push_back(e.token);
        }
    }
    ADD_FAILURE() << "request did not finish";
    return c;
}

GenRequest request(std::vector<int32_t> prompt, int64_t n, SamplingParams sp = greedy()) {
    GenRequest r;
    r.prompt = std::move(prompt);
    r.sampling = sp;
    r.max_tokens = n;
    return r;
}

TEST(Scheduler, OneRequestEqualsSession) {
    Tiny t;
    const auto prompt = make_prompt(13, 1);
    const auto want = alone(t, prompt, 12);
    Scheduler s(t.forward, nullptr, {.n_slots = 2, .context_length = 256, .prefill_chunk = 5});
    auto c = collect(*s.submit(request(prompt, 12)));
    EXPECT_EQ(c.tokens, want);
    EXPECT_EQ(c.end.finish, StopReason::max_tokens);
    EXPECT_EQ(c.end.n_generated, 12);
    EXPECT_EQ(c.end.n_prompt, 13);
}

TEST(Scheduler, ConcurrentRequestsEachEqualAlone) {
    Tiny t;
    std::vector<std::vector<int32_t>> prompts, want;
    for (int i = 0; i < 7; ++i) {
        prompts.push_back(make_prompt(3 + i * 5, i + 2));
        want.push_back(alone(t, prompts.back(), 10 + i));
    }
    // Fewer slots than requests: some wait in the queue; prompt pieces interleave with decodes.
    Scheduler s(t.forward, nullptr, {.n_slots = 3, .context_length = 256, .prefill_chunk = 6});
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 7; ++i) streams.push_back(s.submit(request(prompts[i], 10 + i)));
    for (int i = 0; i < 7; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(collect(*streams[i]).tokens, want[i]);
    }
    // A stream's end is delivered before the scheduler thread updates its counters: wait briefly.
    for (int i = 0; i < 200 && s.stats().n_requests_done < 7; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(s.stats().n_requests_done, 7);
}

TEST(Scheduler, SeededSamplingIsReproducible) {
    Tiny t;
    SamplingParams sp;
    sp.temperature = 0.9f;
    sp.seed = 1234;
    const auto prompt = make_prompt(9, 5);
    const auto want = alone(t, prompt, 16, sp);
    Scheduler s(t.forward, nullptr, {.n_slots = 2, .context_length = 256});
    auto a = s.submit(request(prompt, 16, sp));
    auto b = s.submit(request(prompt, 16, sp));
    EXPECT_EQ(collect(*a).tokens, want);
    EXPECT_EQ(collect(*b).tokens, want);
}

TEST(Scheduler, PrefixReuseRecomputesAtMostOneChunk) {
    Tiny t;
    const int64_t chunk = t.model->plan.chunk_size;
    ASSERT_GT(chunk, 0);
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256});
    const auto p1 = make_prompt(21, 3);
    auto first = collect(*s.submit(request(p1, 8)));
    // The next turn: the whole first exchange plus new tokens, as a chat client resends it.
    std::vector<int32_t> p2 = p1;
    p2.insert(p2.end(), first.tokens.begin(), first.tokens.end());
    const auto extra = make_prompt(6, 9);
    p2.insert(p2.end(), extra.begin(), extra.end());
    const auto before = s.stats();
    auto second = collect(*s.submit(request(p2, 8)));
    const auto after = s.stats();
    const int64_t computed = after.n_prompt_tokens_computed - before.n_prompt_tokens_computed;
    const int64_t reused = after.n_prompt_tokens_reused - before.n_prompt_tokens_reused;
    // The first reply's last token was never fed, so it counts as new.
    const int64_t n_new = static_cast<int64_t>(p2.size()) - (static_cast<int64_t>(p1.size() + first.tokens.size()) - 1);
    EXPECT_EQ(computed + reused, static_cast<int64_t>(p2.size()));
    EXPECT_LE(computed, n_new + chunk);
    EXPECT_GT(reused, 0);
    EXPECT_EQ(second.end.n_prompt_reused, reused);
    EXPECT_EQ(second.tokens, alone(t, p2, 8));  // equal to a cold run
}

TEST(Scheduler, PrefixReuseAtEveryDivergencePoint) {
    Tiny t;
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256});
    const auto base = make_prompt(19, 4);
    collect(*s.submit(request(base, 3)));
    for (int cut = 1; cut < 19; cut += 2) {
        SCOPED_TRACE(cut);
        std::vector<int32_t> p(base.begin(), base.begin() + cut);
        p.push_back(200 - cut);
        p.push_back(7);
        EXPECT_EQ(collect(*s.submit(request(p, 4))).tokens, alone(t, p, 4));
        collect(*s.submit(request(base, 3)));  // restore the slot's contents
    }
}

TEST(Scheduler, CancelFreesKvMemory) {
    Tiny t;
    Scheduler s(t.forward, nullptr, {.n_slots = 2, .context_length = 256});
    auto long_req = s.submit(request(make_prompt(20, 1), 230));
    std::vector<StreamEvent> ev;
    while (ev.empty()) long_req->next(ev, 100ms);  // it is running
    long_req->cancel();
    auto c = collect(*long_req);
    EXPECT_EQ(c.end.finish, StopReason::cancelled);
    for (int i = 0; i < 100 && s.stats().kv_bytes_in_use != 0; ++i) std::this_thread::sleep_for(10ms);
    const auto st = s.stats();
    EXPECT_EQ(st.kv_bytes_in_use, 0);
    EXPECT_EQ(st.kv_bytes_cached, 0);  // a cancelled sequence's KV is not kept for reuse
    EXPECT_EQ(st.n_running, 0);
    EXPECT_EQ(st.n_requests_cancelled, 1);
    // The scheduler still serves.
    const auto p = make_prompt(5, 2);
    EXPECT_EQ(collect(*s.submit(request(p, 4))).tokens, alone(t, p, 4));
}

TEST(Scheduler, StopTokensAndContextLimit) {
    Tiny t;
    const auto prompt = make_prompt(10, 6);
    const auto free_run = alone(t, prompt, 8);
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 14});
    GenRequest r = request(prompt, 8);
    r.stop_tokens = {free_run[2]};
    auto c = collect(*s.submit(r));
    EXPECT_EQ(c.end.finish, StopReason::stop_token);
    EXPECT_EQ(c.tokens.back(), free_run[2]);
    EXPECT_LE(c.tokens.size(), 3u);
    // 10 prompt positions in a 14-position context: at most 5 tokens (the last is never fed).
    auto d = collect(*s.submit(request(prompt, 8)));
    EXPECT_EQ(d.end.finish, StopReason::context_full);
    EXPECT_EQ(d.tokens.size(), 5u);
    EXPECT_THROW(s.submit(request(make_prompt(14, 1), 2)), Error);
}

TEST(Scheduler, QueueLimit) {
    Tiny t;
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256, .max_queue = 0});
    EXPECT_THROW(s.submit(request(make_prompt(5, 1), 2)), QueueFull);
}

TEST(Scheduler, ShutdownEndsOpenRequests) {
    Tiny t;
    std::shared_ptr<RequestStream> a, b;
    {
        Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256});
        a = s.submit(request(make_prompt(20, 1), 200));
        b = s.submit(request(make_prompt(20, 2), 200));
    }
    // Both end (the tiny model may finish the first before the scheduler stops; never a hang).
    const auto fa = collect(*a).end.finish, fb = collect(*b).end.finish;
    EXPECT_TRUE(fa == StopReason::cancelled || fa == StopReason::max_tokens);
    EXPECT_EQ(fb, StopReason::cancelled);
}

TEST(Scheduler, StopThenSubmitThrows) {
    Tiny t;
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256});
    auto a = s.submit(request(make_prompt(20, 1), 230));
    s.stop();
    const auto f = collect(*a).end.finish;
    EXPECT_TRUE(f == StopReason::cancelled || f == StopReason::max_tokens);
    EXPECT_THROW(s.submit(request(make_prompt(5, 1), 2)), ShuttingDown);
    s.stop();  // idempotent
}

}  // namespace
}  // namespace scout::engine
