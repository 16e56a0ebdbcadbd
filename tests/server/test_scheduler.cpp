// The continuous-batching scheduler on the tiny fixture model (chunk size 4, so prefix reuse
// crosses chunk edges): batched greedy output equals a lone Session's, prefix reuse recomputes at
// most one chunk and changes nothing, cancellation frees the KV memory, limits are enforced.
// Races (cancel or shutdown against a request finishing on its own) are decided by holding the
// scheduler inside a chosen forward call (HookedForward) until the event has happened, never by
// sleeping: each such test has exactly one right outcome.
#include <atomic>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "backend/factory.hpp"
#include "engine/generate.hpp"
#include "engine/model.hpp"
#include "engine/scheduler.hpp"
#include "engine/session.hpp"
#include "grammar/json_schema.hpp"
#include "kv/kv_size.hpp"
#include "grammar/token_mask.hpp"
#include "text/tokenizer.hpp"
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

// The tiny model's forward pass with a hook run on the scheduler thread before each call
// (call = 0, 1, ...): a test holds the scheduler at a chosen step there.
class HookedForward : public backend::Forward {
public:
    HookedForward(backend::Forward& inner, std::function<void(int64_t call)> hook) : inner_(inner), hook_(std::move(hook)) {}
    using backend::Forward::forward;
    void forward(backend::Batch batch, std::vector<float>& logits) override {
        hook_(n_calls_++);
        inner_.forward(batch, logits);
    }
    std::unique_ptr<kv::KvMemory> make_kv() override { return inner_.make_kv(); }
    backend::Capabilities capabilities() const override { return inner_.capabilities(); }
    backend::MemoryUse memory() const override { return inner_.memory(); }
    const model::TextConfig& config() const override { return inner_.config(); }
    const model::LayerPlan& plan() const override { return inner_.plan(); }
    kv::KvType kv_type() const override { return inner_.kv_type(); }
    void set_profile(backend::StageProfile* profile) override { inner_.set_profile(profile); }
    void set_observer(backend::ActivationObserver* observer) override { inner_.set_observer(observer); }

private:
    backend::Forward& inner_;
    std::function<void(int64_t)> hook_;
    int64_t n_calls_ = 0;  // scheduler thread only
};

// A one-way gate: wait() returns once open() was called. A minute without it fails the test
// instead of hanging it (a broken scheduler), and lets the scheduler go on.
class Gate {
public:
    void open() {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return open_; })) ADD_FAILURE() << "the gate was never opened";
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
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
    // A request is counted before its final event is delivered: no waiting for the stats.
    const auto st = s.stats();
    EXPECT_EQ(st.n_requests_done, 7);
    EXPECT_EQ(st.n_running, 0);
    EXPECT_EQ(st.kv_bytes_in_use, 0);
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

// A backend that says it selects the top logits on the device (as the CUDA backend does): the
// scheduler then asks for top logits whenever every sampler of a step can use them. Here the
// selection is the host twin (Forward::forward_top's default), so the tokens must equal a lone
// Session's on full rows.
class TopForward : public HookedForward {
public:
    explicit TopForward(backend::Forward& inner) : HookedForward(inner, [](int64_t) {}) {}
    backend::Capabilities capabilities() const override {
        backend::Capabilities c = HookedForward::capabilities();
        c.device_top_k = 64;
        return c;
    }
    void forward_top(backend::Batch batch, int k, backend::TopLogits& out) override {
        ++top_calls;
        EXPECT_EQ(k, 64);
        backend::Forward::forward_top(batch, k, out);
    }
    std::atomic<int64_t> top_calls{0};
};

TEST(Scheduler, TopLogitsStepsDrawTheSameTokens) {
    Tiny t;
    SamplingParams top_k = greedy();
    top_k.temperature = 0.8f;
    top_k.top_k = 20;
    top_k.top_p = 0.9f;
    top_k.seed = 77;
    SamplingParams nucleus = top_k;  // top_p without top_k needs whole rows
    nucleus.top_k = 0;
    const std::vector<SamplingParams> params = {greedy(), top_k, nucleus};
    std::vector<std::vector<int32_t>> prompts, want;
    for (int i = 0; i < 3; ++i) {
        prompts.push_back(make_prompt(5 + 4 * i, 20 + i));
        want.push_back(alone(t, prompts.back(), 14, params[static_cast<std::size_t>(i)]));
    }
    TopForward top(t.forward);
    {  // greedy and top-k alone: every step on top logits
        Scheduler s(top, nullptr, {.n_slots = 2, .context_length = 256});
        auto a = s.submit(request(prompts[0], 14, params[0]));
        auto b = s.submit(request(prompts[1], 14, params[1]));
        EXPECT_EQ(collect(*a).tokens, want[0]);
        EXPECT_EQ(collect(*b).tokens, want[1]);
    }
    EXPECT_GE(top.top_calls.load(), 14);
    {  // with a nucleus request beside them: its steps take whole rows, the tokens are the same
        Scheduler s(top, nullptr, {.n_slots = 3, .context_length = 256});
        std::vector<std::shared_ptr<RequestStream>> streams;
        for (int i = 0; i < 3; ++i) streams.push_back(s.submit(request(prompts[i], 14, params[static_cast<std::size_t>(i)])));
        for (int i = 0; i < 3; ++i) EXPECT_EQ(collect(*streams[static_cast<std::size_t>(i)]).tokens, want[static_cast<std::size_t>(i)]) << i;
    }
}

// --device auto (the default): the CPU when there is no GPU (CI); explicit devices are kept; and
// make_forward refuses an unresolved "auto" instead of guessing.
TEST(Backend, AutoDeviceResolvesBeforeMakeForward) {
    Tiny t;
    backend::BackendOptions o;
    o.device = "auto";
    std::string why;
    const bool gpu = !backend::list_gpus(&why).empty();
    const backend::DeviceChoice c = backend::choose_device(o, backend::gpu_weight_bytes(t.model->weights));
    EXPECT_EQ(c.gpu_present, gpu);
    if (!gpu) {
        EXPECT_EQ(c.device, "cpu");
        EXPECT_FALSE(why.empty());
        EXPECT_NE(c.reason.find(why), std::string::npos) << c.reason;
    } else {
        EXPECT_EQ(c.device, "cuda:0") << c.reason;  // the tiny model fits any GPU
        o.kv_ram_bytes = 1 << 20;                    // a CPU-only option keeps it on the CPU
        EXPECT_EQ(backend::choose_device(o, backend::gpu_weight_bytes(t.model->weights)).device, "cpu");
        o.kv_ram_bytes = 0;
        EXPECT_EQ(backend::choose_device(o, uint64_t{1} << 62).device, "cpu");  // does not fit
    }
    o.device = "cpu";
    EXPECT_EQ(backend::choose_device(o, backend::gpu_weight_bytes(t.model->weights)).device, "cpu");
    o.device = "auto";
    EXPECT_THROW(backend::make_forward(t.model->config.text, t.model->plan, t.model->weights, o), Error);
}

// Structured output in the scheduler: masks computed on the sample threads while the forward pass
// runs (overlap_masks) change nothing: seeded constrained requests give the same tokens with and
// without the overlap, and the first equals engine::generate's. The tiny model's 256 tokens are
// the real tokenizer's single-byte tokens; a long minimum length keeps the structure open.
TEST(Scheduler, OverlappedMasksChangeNothing) {
    const auto path = test::tokenizer_file();
    if (path.empty()) SCOUT_SKIP_WITHOUT_DATA("the real tokenizer.model is absent");
    Tiny t;
    const text::Tokenizer tok = text::Tokenizer::load(path);
    // A trie of only the ids the tiny model can sample: the same masks over those ids as the whole
    // vocabulary's trie, without walking 202,048 tokens per step (minutes under TSan).
    std::vector<std::string> model_tokens(static_cast<std::size_t>(tok.n_vocab()));
    for (int32_t id = 0; id < t.model->config.text.vocab_size; ++id) model_tokens[static_cast<std::size_t>(id)] = tok.token_bytes(id);
    auto trie = std::make_shared<const grammar::TokenTrie>(model_tokens);
    auto g = grammar::json_schema_to_grammar(nlohmann::ordered_json::parse(R"({"type":"string","minLength":60})"));
    SamplingParams sp;
    sp.temperature = 1.0f;
    sp.penalty_last_n = 0;
    const auto prompt = make_prompt(9, 3);
    const int64_t n = 20;
    std::vector<int32_t> want;
    {
        Session session(t.forward, {.context_length = 256});
        SamplingParams s7 = sp;
        s7.seed = 7;
        Sampler sampler(s7);
        GenerateOptions o;
        o.max_new_tokens = n;
        o.grammar = g;
        o.trie = trie;
        want = generate(session, sampler, &tok, prompt, o).tokens;
    }
    ASSERT_EQ(want.size(), static_cast<size_t>(n));
    EXPECT_EQ(tok.token_bytes(want[0]), "\"");
    std::vector<std::vector<int32_t>> got[2];
    for (int overlap = 0; overlap < 2; ++overlap) {
        Scheduler s(t.forward, &tok, {.n_slots = 3, .context_length = 256, .prefill_chunk = 4, .overlap_masks = overlap == 1});
        std::vector<std::shared_ptr<RequestStream>> streams;
        for (uint64_t seed : {7, 8, 9}) {
            GenRequest r = request(prompt, n, sp);
            r.sampling.seed = seed;
            r.grammar = g;
            r.trie = trie;
            r.stop_tokens = tok.stop_tokens();
            streams.push_back(s.submit(std::move(r)));
        }
        for (auto& st : streams) {
            const Collected c = collect(*st);
            EXPECT_EQ(c.end.finish, StopReason::max_tokens) << c.end.error;
            got[overlap].push_back(c.tokens);
        }
    }
    EXPECT_EQ(got[1][0], want);
    EXPECT_EQ(got[0], got[1]);
    EXPECT_NE(got[1][0], got[1][1]);  // the seeds matter: the comparison is not between constants
}

// Admission by KV budget: with room for two requests' prompt + max_tokens, three slots never run
// three sequences at once, every output equals the lone run, a request that could never fit is
// refused at submit, and idle slots' cached prefixes are dropped to make room.
TEST(Scheduler, KvBudgetBoundsTheBatch) {
    Tiny t;
    const kv::KvSize size = kv::kv_size(t.model->config.text, t.model->plan, kv::KvType::F32);
    const int64_t chunk = t.model->plan.chunk_size;
    // Pages of 4 positions, so that the requests' sizes differ in whole pages.
    const int64_t page = 4;
    const auto paged = backend::make_forward(t.model->config.text, t.model->plan, t.model->weights,
                                             backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32,
                                                                     .kv_page_size = page});
    const auto bytes_for = [size, chunk, page](int64_t n) { return size.bytes_allocated_for(n, chunk, page); };
    const int64_t n_prompt = 11, n_gen = 9;
    const int64_t one = bytes_for(n_prompt + n_gen);
    std::vector<std::vector<int32_t>> prompts, want;
    for (int i = 0; i < 3; ++i) {
        prompts.push_back(make_prompt(static_cast<int>(n_prompt), 20 + i));
        want.push_back(alone(t, prompts.back(), n_gen));
    }
    int64_t widest = 0;  // most sequences in one forward call (scheduler thread; read after the requests end)
    struct Counting : HookedForward {
        using HookedForward::HookedForward;
        int64_t* widest = nullptr;
        void forward(backend::Batch batch, std::vector<float>& logits) override {
            *widest = std::max(*widest, static_cast<int64_t>(batch.size()));
            HookedForward::forward(batch, logits);
        }
    };
    // The first forward call waits until all three requests are queued, so the budget, not the
    // timing, decides how many run together.
    Gate queued;
    Counting counting(*paged, [&](int64_t call) {
        if (call == 0) queued.wait();
    });
    counting.widest = &widest;
    SchedulerOptions o{.n_slots = 3, .context_length = 256, .prefill_chunk = 64};
    o.kv_budget_bytes = 2 * one + one / 2;
    o.kv_bytes_for = bytes_for;
    Scheduler s(counting, nullptr, o);
    EXPECT_THROW(s.submit(request(make_prompt(40, 1), 200)), KvBudgetExceeded);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 3; ++i) streams.push_back(s.submit(request(prompts[i], n_gen)));
    queued.open();
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(collect(*streams[i]).tokens, want[i]);
    }
    EXPECT_EQ(widest, 2);
    EXPECT_EQ(s.stats().kv_bytes_reserved, 0);
    EXPECT_GT(s.stats().kv_bytes_cached, 0);  // the three finished sequences keep their prefixes
    // A request needing (almost) the whole budget: the cached prefixes make room, so the first
    // prompt's prefix is gone when it comes back.
    const int64_t big_gen = 3 * n_gen;
    ASSERT_LE(bytes_for(n_prompt + big_gen), o.kv_budget_bytes);
    ASSERT_GT(bytes_for(n_prompt + big_gen) + one, o.kv_budget_bytes);
    collect(*s.submit(request(make_prompt(static_cast<int>(n_prompt), 40), big_gen)));
    EXPECT_LE(s.stats().kv_bytes_cached + s.stats().kv_bytes_in_use, o.kv_budget_bytes);
    const auto again = collect(*s.submit(request(prompts[0], n_gen)));
    EXPECT_EQ(again.tokens, want[0]);
    EXPECT_EQ(again.end.n_prompt_reused, 0);
}

// Image rows (vision features at the image token) placed across prefill pieces equal a lone
// Session fed the same rows; KV computed from one picture is never reused for another picture
// or for the same ids without pictures, while the text before the first image is.
TEST(Scheduler, ImageRowsEqualASessionAndAreNeverShared) {
    Tiny t;
    const int32_t image_token = 7;
    std::vector<int32_t> prompt = make_prompt(6, 4);
    for (int i = 0; i < 9; ++i) prompt.push_back(image_token);  // straddles pieces of 5
    const auto tail = make_prompt(4, 5);
    prompt.insert(prompt.end(), tail.begin(), tail.end());
    const auto D = static_cast<std::size_t>(t.model->config.text.hidden_size);
    std::mt19937_64 rng(test::test_seed());
    const std::vector<float> pic_a = test::random_floats(rng, 9 * D);
    std::vector<float> pic_b = test::random_floats(rng, 9 * D);
    auto with_rows = [&](const std::vector<float>* rows) {
        GenRequest r = request(prompt, 6);
        if (rows) {
            r.image_token = image_token;
            r.image_rows = *rows;
        }
        return r;
    };
    auto session_reply = [&](const std::vector<float>* rows) {
        Session s(t.forward, {.context_length = 256});
        Sampler sampler(greedy());
        GenerateOptions o;
        o.max_new_tokens = 6;
        if (rows) o.images = {image_token, *rows};
        return generate(s, sampler, nullptr, prompt, o).tokens;
    };
    const auto want_a = session_reply(&pic_a), want_none = session_reply(nullptr);
    // The rows must matter (else the test could not fail): six greedy tokens of the tiny model
    // can agree for two random pictures, so draw the second until they differ.
    auto want_b = session_reply(&pic_b);
    for (int tries = 0; tries < 20 && want_b == want_a; ++tries) {
        pic_b = test::random_floats(rng, 9 * D);
        want_b = session_reply(&pic_b);
    }
    ASSERT_NE(want_a, want_b);
    Scheduler s(t.forward, nullptr, {.n_slots = 1, .context_length = 256, .prefill_chunk = 5});
    EXPECT_EQ(collect(*s.submit(with_rows(&pic_a))).tokens, want_a);
    const Collected b = collect(*s.submit(with_rows(&pic_b)));
    EXPECT_EQ(b.tokens, want_b);
    // The text before the image is reused (rewound to a chunk edge), nothing after it.
    EXPECT_GT(b.end.n_prompt_reused, 0);
    EXPECT_LE(b.end.n_prompt_reused, 6);
    EXPECT_EQ(collect(*s.submit(with_rows(nullptr))).tokens, want_none);
    EXPECT_EQ(collect(*s.submit(with_rows(&pic_a))).tokens, want_a);
    // Rows that do not match the image tokens are refused at submit.
    GenRequest bad = with_rows(&pic_a);
    bad.image_rows.resize(8 * D);
    EXPECT_THROW(s.submit(std::move(bad)), Error);
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
    // Call 0 prefills the prompt and samples token 1; call 1 (the first decode) waits until the
    // request is cancelled, so it cannot reach its 230 tokens first.
    Gate held, cancelled;
    HookedForward f(t.forward, [&](int64_t call) {
        if (call != 1) return;
        held.open();
        cancelled.wait();
    });
    Scheduler s(f, nullptr, {.n_slots = 2, .context_length = 256});
    auto long_req = s.submit(request(make_prompt(20, 1), 230));
    held.wait();  // it is running, inside its first decode step
    long_req->cancel();
    cancelled.open();
    auto c = collect(*long_req);
    EXPECT_EQ(c.end.finish, StopReason::cancelled);
    EXPECT_EQ(c.tokens.size(), 2u);  // token 1, token 2 from the held step, then the cancel
    // The stats show the cancellation as soon as its event arrives.
    const auto st = s.stats();
    EXPECT_EQ(st.kv_bytes_in_use, 0);
    EXPECT_EQ(st.kv_bytes_cached, 0);  // a cancelled sequence's KV is not kept for reuse
    EXPECT_EQ(st.n_running, 0);
    EXPECT_EQ(st.n_requests_cancelled, 1);
    // The scheduler still serves.
    const auto p = make_prompt(5, 2);
    EXPECT_EQ(collect(*s.submit(request(p, 4))).tokens, alone(t, p, 4));
}

// Fault injection: a forward pass that throws ends the sequences of that step with the error, and
// so does anything else escaping a step (here an int, which no std::exception handler catches: it
// reaches the scheduler loop's own guard, where it used to end the process through std::terminate).
// Either way the scheduler goes on serving.
TEST(Scheduler, AFailedStepEndsItsSequencesAndTheLoopGoesOn) {
    Tiny t;
    std::atomic<int64_t> fail_at{1}, fail_kind{0};
    HookedForward f(t.forward, [&](int64_t call) {
        if (call != fail_at.load()) return;
        if (fail_kind.load() == 0) throw Error("injected fault");
        throw 42;
    });
    Scheduler s(f, nullptr, {.n_slots = 2, .context_length = 256});
    auto a = collect(*s.submit(request(make_prompt(12, 1), 20)));
    EXPECT_EQ(a.end.finish, StopReason::error);
    EXPECT_NE(a.end.error.find("injected fault"), std::string::npos) << a.end.error;
    fail_kind.store(1);
    fail_at.store(3);  // call 2 prefills the next request, call 3 is its first decode
    auto b = collect(*s.submit(request(make_prompt(12, 2), 20)));
    EXPECT_EQ(b.end.finish, StopReason::error);
    EXPECT_NE(b.end.error.find("unknown exception"), std::string::npos) << b.end.error;
    EXPECT_EQ(s.stats().kv_bytes_in_use, 0);
    const auto p = make_prompt(7, 3);
    EXPECT_EQ(collect(*s.submit(request(p, 5))).tokens, alone(t, p, 5));
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

// Shutdown while `a` runs and `b` waits for the only slot. The scheduler is held inside its second
// forward call (a's first decode) until b has been told it is cancelled, which stop() does before
// it waits for the scheduler thread: so a, far from its token limit, is cancelled too, after
// exactly two tokens (from the prefill and from the held step).
struct ShutdownRace {
    Gate b_submitted, held;
    std::shared_ptr<RequestStream> a, b;
    std::vector<StreamEvent> b_events;  // what the held step saw of b
    std::function<void(int64_t)> hook() {
        return [this](int64_t call) {
            if (call != 1) return;
            held.open();
            b_submitted.wait();
            for (int i = 0; i < 600 && (b_events.empty() || !b_events.back().done); ++i) b->next(b_events, 100ms);
        };
    }
    // After submitting a and b: lets the hook watch b, and waits until the scheduler is held.
    void a_runs() {
        b_submitted.open();
        held.wait();
    }
    void check_both_cancelled() {
        ASSERT_EQ(b_events.size(), 1u);  // never admitted: no tokens, only the end
        EXPECT_TRUE(b_events.back().done);
        EXPECT_EQ(b_events.back().finish, StopReason::cancelled);
        const Collected c = collect(*a);
        EXPECT_EQ(c.end.finish, StopReason::cancelled);
        EXPECT_EQ(c.tokens.size(), 2u);
    }
};

TEST(Scheduler, ShutdownEndsOpenRequests) {
    Tiny t;
    ShutdownRace race;
    HookedForward f(t.forward, race.hook());
    {
        Scheduler s(f, nullptr, {.n_slots = 1, .context_length = 256});
        race.a = s.submit(request(make_prompt(20, 1), 200));
        race.b = s.submit(request(make_prompt(20, 2), 200));
        race.a_runs();
    }  // ~Scheduler: stop()
    race.check_both_cancelled();
}

TEST(Scheduler, StopThenSubmitThrows) {
    Tiny t;
    ShutdownRace race;
    HookedForward f(t.forward, race.hook());
    Scheduler s(f, nullptr, {.n_slots = 1, .context_length = 256});
    race.a = s.submit(request(make_prompt(20, 1), 230));
    race.b = s.submit(request(make_prompt(20, 2), 230));
    race.a_runs();
    s.stop();
    race.check_both_cancelled();
    EXPECT_THROW(s.submit(request(make_prompt(5, 1), 2)), ShuttingDown);
    s.stop();  // idempotent
}

}  // namespace
}  // namespace scout::engine
