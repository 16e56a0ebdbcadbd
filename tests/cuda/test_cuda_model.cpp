// The CUDA forward pass on the reference fixtures: logits against transformers with the same
// tolerance as the CPU path (tests/model/test_reference_logits.cpp), cached decode, pass
// splitting, batching and rewind against the full forward, the GPU against the CPU for every KV
// type, a GGUF fixture, and a synthetic model. Skips when no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "backend/cpu/forward_cpu.hpp"
#include "backend/cuda/forward_cuda.hpp"
#include "backend/factory.hpp"
#include "backend/cuda/ops.hpp"
#include "base/error.hpp"
#include "cuda_test_util.hpp"
#include "engine/model.hpp"
#include "engine/scheduler.hpp"
#include "sample/sampling_params.hpp"
#include "fixture.hpp"
#include "io/hf_checkpoint.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {

// The GPU's summation order depends on the batch shape (mat-vec for up to 8 rows, tiles beyond),
// so unlike the CPU path a row's logits are not bit-identical across splits and batches: splits
// are held to the reference tolerance (1e-4 of the logit scale) instead of the CPU's 1e-5.
constexpr double kSplitTolerance = 1e-4;

using test::max_abs;
using test::max_abs_diff;

backend::BackendOptions options(kv::KvType t = kv::KvType::F32, int64_t rows = 512, const char* device = "cuda") {
    backend::BackendOptions o;
    o.device = device;
    o.kv_type = t;
    o.max_batch_rows = rows;
    o.threads = 2;
    return o;
}

std::unique_ptr<backend::Forward> gpu(const engine::Model& m, kv::KvType t = kv::KvType::F32, int64_t rows = 512) {
    return cuda::make_cuda_forward(m.config.text, m.plan, m.weights, options(t, rows));
}

// Runs `tokens` with the first K in one call and the rest in pieces of N; every row's logits.
std::vector<float> run_split(backend::Forward& f, const std::vector<int32_t>& tokens, int64_t K, int64_t N) {
    auto kv = f.make_kv();
    std::vector<float> all, part;
    std::size_t done = 0;
    while (done < tokens.size()) {
        const std::size_t len = std::min<std::size_t>(done == 0 ? K : N, tokens.size() - done);
        f.forward(*kv, std::span<const int32_t>(tokens).subspan(done, len), true, part);
        all.insert(all.end(), part.begin(), part.end());
        done += len;
    }
    return all;
}

const test::LogitsCase* longest_case(const test::Fixture& fx) {
    const test::LogitsCase* longest = nullptr;
    for (const auto& c : fx.logits)
        if (!c.has_pixels && (!longest || c.tokens.size() > longest->tokens.size())) longest = &c;
    return longest;
}

class CudaFixtures : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaFixtures, MatchesTransformers) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    auto fwd = gpu(*model);
    int checked = 0;
    for (const auto& c : fx.logits) {
        if (c.has_pixels) continue;
        SCOPED_TRACE(c.file + " (" + std::to_string(c.tokens.size()) + " tokens, reference " + c.compute_dtype + ")");
        const std::vector<float> ours = run_split(*fwd, c.tokens, static_cast<int64_t>(c.tokens.size()), 1);
        const NpyArray ref = fx.load_logits(c);
        const double scale = std::max(1.0, max_abs(ref.data));
        const double err = max_abs_diff(ours, ref.data);
        if (c.compute_dtype == "float32") {
            EXPECT_LE(err, 1e-4 * scale) << "relative error " << err / scale;
        } else {
            const auto twin = std::find_if(fx.logits.begin(), fx.logits.end(), [&](const test::LogitsCase& o) {
                return o.tokens == c.tokens && o.compute_dtype == "float32";
            });
            ASSERT_NE(twin, fx.logits.end()) << "bf16 case without a float32 twin";
            const double ref_gap = max_abs_diff(fx.load_logits(*twin).data, ref.data);
            EXPECT_LE(err, ref_gap + 1e-4 * scale) << "reference f32-vs-bf16 gap " << ref_gap;
        }
        RecordProperty("relative_error_" + c.file, std::to_string(err / scale));
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST_P(CudaFixtures, CachedDecodeAndShortPassesEqualFullForward) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    const auto& tokens = longest_case(fx)->tokens;
    const auto n = static_cast<int64_t>(tokens.size());
    ASSERT_GE(n, 3 * model->plan.chunk_size);
    auto fwd = gpu(*model);
    const std::vector<float> full = run_split(*fwd, tokens, n, 1);
    const double scale = std::max(1.0, max_abs(full));
    for (auto [K, N] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {3, 2}, {4, 4}, {5, 7}, {n - 1, 1}, {7, 5}})
        EXPECT_LE(max_abs_diff(run_split(*fwd, tokens, K, N), full), kSplitTolerance * scale)
            << "prefill " << K << " step " << N;
    // A workspace of 3 rows: every call runs as several passes.
    auto small = gpu(*model, kv::KvType::F32, 3);
    EXPECT_LE(max_abs_diff(run_split(*small, tokens, n, 1), full), kSplitTolerance * scale) << "passes of 3 rows";
}

TEST_P(CudaFixtures, BatchedSequencesEqualSeparateRuns) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    std::vector<const test::LogitsCase*> cases;
    for (const auto& c : fx.logits)
        if (!c.has_pixels && c.compute_dtype == "float32") cases.push_back(&c);
    ASSERT_GE(cases.size(), 2u);
    for (int64_t rows : {512, 4}) {
        auto fwd = gpu(*model, kv::KvType::F32, rows);
        std::vector<std::unique_ptr<kv::KvMemory>> kvs;
        std::vector<backend::SequenceStep> steps;
        std::vector<std::size_t> prefix;
        std::vector<float> scratch;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const auto& toks = cases[i]->tokens;
            kvs.push_back(fwd->make_kv());
            const std::size_t p = std::min(toks.size() - 1, 2 * i);
            if (p > 0) fwd->forward(*kvs.back(), std::span<const int32_t>(toks).first(p), false, scratch);
            prefix.push_back(p);
            steps.push_back({kvs.back().get(), std::span<const int32_t>(toks).subspan(p), {}, {}, i % 2 == 0});
        }
        std::vector<float> batched;
        fwd->forward(backend::Batch(steps), batched);
        const auto V = static_cast<std::size_t>(model->config.text.vocab_size);
        std::size_t row = 0;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const std::vector<float> alone = run_split(*fwd, cases[i]->tokens, static_cast<int64_t>(cases[i]->tokens.size()), 1);
            const std::size_t n = cases[i]->tokens.size();
            const std::size_t first = steps[i].all_logits ? prefix[i] : n - 1;
            for (std::size_t t = first; t < n; ++t, ++row)
                for (std::size_t v = 0; v < V; ++v)
                    ASSERT_NEAR(batched[row * V + v], alone[t * V + v], kSplitTolerance * std::max(1.0, max_abs(alone)))
                        << "rows " << rows << " sequence " << i << " position " << t;
        }
        EXPECT_EQ(row * V, batched.size());
    }
}

TEST_P(CudaFixtures, MatchesCpuForEveryKvType) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    const auto& tokens = longest_case(fx)->tokens;
    const auto n = static_cast<int64_t>(tokens.size());
    for (kv::KvType t : kv::all_kv_types()) {
        if (model->config.text.head_dim % kv::kv_block_elems(t) != 0) continue;
        SCOPED_TRACE(std::string("kv ") + std::string(kv::kv_type_name(t)));
        if (!cuda::cuda_kv_type_supported(t)) {  // refused at start with a message naming the type
            EXPECT_THROW(gpu(*model, t), Error);
            continue;
        }
        cpu::CpuForward cpu_fwd(model->config.text, model->plan, model->weights, options(t, 512, "cpu"));
        auto gpu_fwd = gpu(*model, t);
        const std::vector<float> want = run_split(cpu_fwd, tokens, n / 2, 1);
        const std::vector<float> got = run_split(*gpu_fwd, tokens, n / 2, 1);
        const double scale = std::max(1.0, max_abs(want));
        EXPECT_LE(max_abs_diff(got, want), (t == kv::KvType::F32 ? 1e-4 : 5e-4) * scale);
    }
    // --kv-type-global: one type for all layers on the GPU; the same type is accepted, another is
    // refused at start naming the flag.
    backend::BackendOptions same = options(kv::KvType::F16);
    same.kv_type_global = kv::KvType::F16;
    EXPECT_EQ(cuda::make_cuda_forward(model->config.text, model->plan, model->weights, same)->kv_type_global(),
              kv::KvType::F16);
    backend::BackendOptions mixed = options(kv::KvType::F16);
    mixed.kv_type_global = kv::KvType::BF16;
    try {
        cuda::make_cuda_forward(model->config.text, model->plan, model->weights, mixed);
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--kv-type-global bf16 differs from --kv-type f16"), std::string::npos)
            << e.what();
    }
}

TEST_P(CudaFixtures, RewindEqualsFullForward) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    const auto& toks = longest_case(fx)->tokens;
    const auto n = static_cast<int64_t>(toks.size());
    auto fwd = gpu(*model);
    const std::vector<float> full = run_split(*fwd, toks, n, 1);
    const auto V = model->config.text.vocab_size;
    std::vector<float> out;
    for (int64_t keep : {int64_t{1}, n / 2, n - 2}) {
        auto kv = fwd->make_kv();
        fwd->forward(*kv, toks, false, out);
        const int64_t resume = kv->rewind(keep);
        fwd->forward(*kv, std::span<const int32_t>(toks).subspan(static_cast<std::size_t>(resume)), true, out);
        for (int64_t t = resume; t < n; ++t)
            for (int64_t v = 0; v < V; ++v)
                ASSERT_NEAR(out[(t - resume) * V + v], full[t * V + v], kSplitTolerance * std::max(1.0, max_abs(full)))
                    << "keep " << keep << " position " << t;
    }
}

// --gpu-math fast: products of more than 16 rows on bf16 tensor cores. One pass over the longest
// prompt (every product on tensor cores) against transformers' float32 logits: within 3e-2 of the
// logit scale (bf16 keeps 8 bits of mantissa; the exact mode is held to 1e-4), and measurably
// different from the exact mode (the tensor cores really ran).
TEST_P(CudaFixtures, FastMathStaysNearTransformers) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    const test::LogitsCase* c = nullptr;
    for (const auto& o : fx.logits)
        if (!o.has_pixels && o.compute_dtype == "float32" && (!c || o.tokens.size() > c->tokens.size())) c = &o;
    ASSERT_NE(c, nullptr);
    const auto n = static_cast<int64_t>(c->tokens.size());
    backend::BackendOptions fast = options();
    fast.gpu_math = backend::GpuMath::Fast;
    auto fast_fwd = cuda::make_cuda_forward(model->config.text, model->plan, model->weights, fast);
    EXPECT_NE(fast_fwd->capabilities().description.find("tensor cores"), std::string::npos);
    const std::vector<float> got = run_split(*fast_fwd, c->tokens, n, 1);
    const std::vector<float> exact = run_split(*gpu(*model), c->tokens, n, 1);
    const NpyArray ref = fx.load_logits(*c);
    const double scale = std::max(1.0, max_abs(ref.data));
    const double err = max_abs_diff(got, ref.data), err_exact = max_abs_diff(exact, ref.data);
    EXPECT_LE(err, 3e-2 * scale) << "fast mode, " << n << " tokens";
    if (n > 16) {
        EXPECT_GT(max_abs_diff(got, exact), 1e-6 * scale) << "the fast mode computed exactly what the exact mode did";
    }
    const int64_t V = model->config.text.vocab_size;
    int64_t agree = 0;
    for (int64_t r = 0; r < n; ++r) {
        const auto row = [&](const float* p) { return std::max_element(p + r * V, p + (r + 1) * V) - (p + r * V); };
        agree += row(got.data()) == row(ref.data.data());
    }
    RecordProperty("fast_relative_error", std::to_string(err / scale));
    RecordProperty("exact_relative_error", std::to_string(err_exact / scale));
    RecordProperty("fast_top1_agreement", std::to_string(static_cast<double>(agree) / n));
    std::printf("%s: fast %.3g, exact %.3g of the logit scale; top-1 %lld/%lld rows\n", GetParam().c_str(), err / scale,
                err_exact / scale, static_cast<long long>(agree), static_cast<long long>(n));
}

// What `scout serve --device cuda` runs: the continuous-batching scheduler on the CUDA backend,
// five greedy requests over three slots (prompt pieces interleaved with batched decode steps, the
// top logit selected on the device), each against the CPU generating alone. The tokens must be
// equal; the only divergence allowed is at a near-tie, where the CPU's logits for the two tokens
// are within the GPU-vs-CPU tolerance (1e-4 of the logit scale; summation orders differ).
TEST_P(CudaFixtures, ServeSchedulerGreedyEqualsCpu) {
    SCOUT_REQUIRE_GPU();
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto model = engine::load_model(fx.dir);
    if (model->config.text.vocab_size < 8) GTEST_SKIP() << "vocabulary too small";
    cpu::CpuForward cpu_fwd(model->config.text, model->plan, model->weights, options(kv::KvType::F32, 512, "cpu"));
    auto gpu_fwd = gpu(*model);
    const auto V = static_cast<int32_t>(model->config.text.vocab_size);
    SamplingParams greedy;
    greedy.temperature = 0;
    greedy.penalty_last_n = 0;
    const int64_t n_new = 12;
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < 5; ++i) {
        std::vector<int32_t> p;
        for (int j = 0; j < 3 + 4 * i; ++j) p.push_back((j * 37 + i * 11 + 3) % V);
        prompts.push_back(p);
    }
    engine::Scheduler sched(*gpu_fwd, nullptr, {.n_slots = 3, .context_length = 128, .prefill_chunk = 5});
    std::vector<std::shared_ptr<engine::RequestStream>> streams;
    for (const auto& p : prompts) {
        engine::GenRequest r;
        r.prompt = p;
        r.sampling = greedy;
        r.max_tokens = n_new;
        streams.push_back(sched.submit(std::move(r)));
    }
    int exact = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        std::vector<int32_t> got;
        bool done = false;
        for (int spin = 0; spin < 600 && !done; ++spin) {
            std::vector<engine::StreamEvent> ev;
            streams[i]->next(ev, std::chrono::milliseconds(100));
            for (const auto& e : ev) {
                if (e.done) {
                    EXPECT_EQ(e.finish, engine::StopReason::max_tokens) << e.error;
                    done = true;
                } else {
                    got.push_back(e.token);
                }
            }
        }
        ASSERT_TRUE(done) << "request " << i << " did not finish";
        // The CPU alone, greedy, one token at a time.
        auto kv = cpu_fwd.make_kv();
        std::vector<float> logits;
        std::vector<int32_t> want;
        cpu_fwd.forward(*kv, prompts[i], false, logits);
        std::size_t diverged = got.size();
        for (int64_t t = 0; t < n_new; ++t) {
            const auto best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            if (static_cast<std::size_t>(t) < got.size() && got[static_cast<std::size_t>(t)] != best) {
                const double gap = logits[static_cast<std::size_t>(best)] - logits[static_cast<std::size_t>(got[static_cast<std::size_t>(t)])];
                EXPECT_LE(gap, kSplitTolerance * std::max(1.0, max_abs(logits)))
                    << "request " << i << " token " << t << ": GPU chose " << got[static_cast<std::size_t>(t)] << ", CPU " << best;
                diverged = static_cast<std::size_t>(t);
                break;
            }
            want.push_back(best);
            cpu_fwd.forward(*kv, std::span<const int32_t>(&want.back(), 1), false, logits);
        }
        ASSERT_EQ(got.size(), static_cast<std::size_t>(n_new)) << "request " << i;
        exact += diverged == got.size();
    }
    RecordProperty("requests_equal_to_cpu", exact);
    std::printf("%s: %d of %zu requests equal to the CPU token for token\n", GetParam().c_str(), exact, prompts.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaFixtures, ::testing::ValuesIn(test::fixture_names()),
                         [](const auto& info) { return info.param; });

TEST(CudaModel, GgufFixtureMatchesCpu) {
    SCOUT_REQUIRE_GPU();
    for (const char* file : {"llama4_tiny.gguf", "llama4_min.gguf"}) {
        SCOPED_TRACE(file);
        const auto model = engine::load_model(test::data_dir() / "gguf" / file);
        const int64_t V = model->config.text.vocab_size;
        std::vector<int32_t> tokens;
        for (int32_t i = 0; i < 19; ++i) tokens.push_back(static_cast<int32_t>((i * 7919 + 3) % V));
        cpu::CpuForward cpu_fwd(model->config.text, model->plan, model->weights, options(kv::KvType::F32, 512, "cpu"));
        auto gpu_fwd = gpu(*model);
        const std::vector<float> want = run_split(cpu_fwd, tokens, 11, 1);
        const std::vector<float> got = run_split(*gpu_fwd, tokens, 11, 1);
        // Not the 1e-4 summation-order tolerance: for Q8_0/K-quant weights the CPU rounds each
        // 32-value block of activations to int8 (step amax/127, so up to amax/254 per value, as
        // llama.cpp does: src/backend/cpu/kernels/q8_activations.cpp) while the GPU multiplies the
        // float activations. That rounding, not the GPU, dominates the difference (1.07e-4 measured
        // on llama4_tiny.gguf on an H200). Bound: half of one int8 step relative to the logit
        // scale, 0.5/254 ~ 2e-3 -- still far below what a wrong block, scale or layout produces
        // (O(1)).
        EXPECT_LE(max_abs_diff(got, want), (0.5 / 254.0) * std::max(1.0, max_abs(want)));
    }
}

TEST(CudaModel, EmbeddingRowsAndObserverMatchCpu) {
    SCOUT_REQUIRE_GPU();
    const auto model = engine::load_model(test::data_dir() / "models" / "tiny_text_f32");
    const auto& c = model->config.text;
    const std::vector<int32_t> tokens = {5, 9, 200, 7, 3};
    const std::vector<int64_t> rows = {1, 3};
    std::mt19937_64 rng(test::test_seed());
    const std::vector<float> emb = test::random_floats(rng, static_cast<std::size_t>(2 * c.hidden_size), 0.05f);
    const auto run = [&](backend::Forward& f) {
        auto kv = f.make_kv();
        const backend::SequenceStep st{kv.get(), tokens, rows, emb, true};
        std::vector<float> logits;
        f.forward(backend::Batch(&st, 1), logits);
        return logits;
    };
    cpu::CpuForward cpu_fwd(c, model->plan, model->weights, options(kv::KvType::F32, 512, "cpu"));
    auto gpu_fwd = gpu(*model);
    EXPECT_TRUE(gpu_fwd->capabilities().embedding_rows);
    const std::vector<float> want = run(cpu_fwd), got = run(*gpu_fwd);
    EXPECT_LE(max_abs_diff(got, want), 1e-4 * std::max(1.0, max_abs(want)));

    struct Names : backend::ActivationObserver {
        std::vector<std::string> names;
        void on_tensor(std::string_view name, std::span<const float>, std::span<const int64_t>) override {
            names.emplace_back(name);
        }
    } obs;
    gpu_fwd->set_observer(&obs);
    run(*gpu_fwd);
    gpu_fwd->set_observer(nullptr);
    EXPECT_NE(std::find(obs.names.begin(), obs.names.end(), "model.layers.0.self_attn.q_proj"), obs.names.end());
    backend::StageProfile prof;
    gpu_fwd->set_profile(&prof);
    run(*gpu_fwd);
    gpu_fwd->set_profile(nullptr);
    double total = 0;
    for (double s : prof.seconds) total += s;
    EXPECT_GT(total, 0.0);
}

// Decode steps replay a captured CUDA graph; with a profile set they run kernel by kernel. Both
// launch the same kernels with the same arguments, so the logits are bit-identical.
TEST(CudaModel, GraphReplayEqualsEagerDecode) {
    SCOUT_REQUIRE_GPU();
    const auto model = engine::load_model(test::data_dir() / "models" / "tiny_text_noqk_sharded_f32");
    auto fwd = gpu(*model);
    const std::vector<int32_t> prompt = {1, 5, 9, 13, 2, 7};
    for (int64_t B : {1, 3}) {
        std::vector<std::unique_ptr<kv::KvMemory>> graph_kv, eager_kv;
        std::vector<float> scratch, a, b;
        for (int64_t i = 0; i < B; ++i) {
            graph_kv.push_back(fwd->make_kv());
            eager_kv.push_back(fwd->make_kv());
            fwd->forward(*graph_kv.back(), prompt, false, scratch);
            fwd->forward(*eager_kv.back(), prompt, false, scratch);
        }
        for (int step = 0; step < 6; ++step) {
            std::vector<int32_t> next(static_cast<std::size_t>(B));
            for (int64_t i = 0; i < B; ++i) next[static_cast<std::size_t>(i)] = static_cast<int32_t>(3 + 5 * i + step);
            std::vector<backend::SequenceStep> gs, es;
            for (int64_t i = 0; i < B; ++i) {
                const std::span<const int32_t> tok(&next[static_cast<std::size_t>(i)], 1);
                gs.push_back({graph_kv[static_cast<std::size_t>(i)].get(), tok, {}, {}, false});
                es.push_back({eager_kv[static_cast<std::size_t>(i)].get(), tok, {}, {}, false});
            }
            fwd->forward(backend::Batch(gs), a);
            backend::StageProfile prof;
            fwd->set_profile(&prof);
            fwd->forward(backend::Batch(es), b);
            fwd->set_profile(nullptr);
            ASSERT_EQ(a, b) << "batch " << B << " step " << step;
        }
    }
}

// forward_top: the device's top logits of a pass equal the host twin's selection from the same
// pass's whole rows (same kernels up to lm_head, so the same logits), for prompts (all logits),
// batched decode steps (the captured graph, keyed by k) and k = 1 / 64; the scheduler samples from them.
TEST(CudaModel, ForwardTopEqualsTopOfTheWholeRows) {
    SCOUT_REQUIRE_GPU();
    const auto model = engine::load_model(test::data_dir() / "models" / "tiny_text_f32");
    auto fwd = gpu(*model);
    EXPECT_EQ(fwd->capabilities().device_top_k, cuda::kMaxDeviceTopK);
    const int64_t V = model->config.text.vocab_size;
    std::vector<int32_t> prompt;
    for (int i = 0; i < 21; ++i) prompt.push_back((i * 37 + 5) % static_cast<int32_t>(V));
    for (int k : {1, 64}) {
        SCOPED_TRACE(cat("k ", k));
        auto a = fwd->make_kv(), b = fwd->make_kv();
        std::vector<float> logits;
        backend::TopLogits top, want;
        fwd->forward(*a, prompt, true, logits);
        const backend::SequenceStep step{b.get(), prompt, {}, {}, true};
        fwd->forward_top(backend::Batch(&step, 1), k, top);
        backend::top_logits_of(logits, static_cast<int64_t>(prompt.size()), V, k, want);
        EXPECT_EQ(top.k, want.k);
        EXPECT_EQ(top.ids, want.ids);
        EXPECT_EQ(top.values, want.values);
        EXPECT_EQ(top.usable, want.usable);
        // Decode steps of two sequences (graph replays): the same again, step after step.
        auto c = fwd->make_kv(), d = fwd->make_kv();
        fwd->forward(*c, prompt, false, logits);
        fwd->forward(*d, prompt, false, logits);
        for (int step_i = 0; step_i < 3; ++step_i) {
            const int32_t t1 = (step_i * 13 + 1) % static_cast<int32_t>(V), t2 = (step_i * 7 + 2) % static_cast<int32_t>(V);
            const backend::SequenceStep s1[2] = {{a.get(), std::span<const int32_t>(&t1, 1), {}, {}, false},
                                                 {c.get(), std::span<const int32_t>(&t2, 1), {}, {}, false}};
            const backend::SequenceStep s2[2] = {{b.get(), std::span<const int32_t>(&t1, 1), {}, {}, false},
                                                 {d.get(), std::span<const int32_t>(&t2, 1), {}, {}, false}};
            fwd->forward(backend::Batch(s1, 2), logits);
            fwd->forward_top(backend::Batch(s2, 2), k, top);
            backend::top_logits_of(logits, 2, V, k, want);
            EXPECT_EQ(top.ids, want.ids) << "step " << step_i;
            EXPECT_EQ(top.values, want.values) << "step " << step_i;
        }
    }
    backend::TopLogits top;
    auto e = fwd->make_kv();
    const backend::SequenceStep step{e.get(), prompt, {}, {}, false};
    EXPECT_THROW(fwd->forward_top(backend::Batch(&step, 1), 65, top), Error);
}

// The weights' upload reports its progress through BackendOptions::upload_progress (the CLI's
// progress bar), ending at the total; and --device auto picks the GPU for a model this small.
TEST(CudaModel, UploadReportsProgressAndAutoPicksTheGpu) {
    SCOUT_REQUIRE_GPU();
    const auto model = engine::load_model(test::data_dir() / "models" / "tiny_text_f32");
    backend::BackendOptions o = options();
    uint64_t last_done = 0, last_total = 0;
    int calls = 0;
    o.upload_progress = [&](uint64_t done, uint64_t total) {
        EXPECT_GE(done, last_done);
        last_done = done, last_total = total, ++calls;
    };
    auto fwd = backend::make_forward(model->config.text, model->plan, model->weights, o);
    EXPECT_GT(calls, 0);
    EXPECT_EQ(last_done, last_total);
    EXPECT_EQ(last_total, fwd->memory().weight_bytes);
    o.device = "auto";
    EXPECT_EQ(backend::choose_device(o, backend::gpu_weight_bytes(model->weights)).device, "cuda:0");
}

TEST(CudaModel, SyntheticModelRuns) {
    SCOUT_REQUIRE_GPU();
    auto cfg = model::parse_model_config(io::read_json_file(test::data_dir() / "models" / "tiny_scoutlike_bf16" / "config.json")).text;
    cfg.hidden_size = 256;  // rows of whole K-quant blocks
    cfg.intermediate_size = 256;
    cfg.intermediate_size_mlp = 512;
    for (const char* type : {"Q4_K_M", "Q4_0", "Q8_0", "BF16"}) {
        SCOPED_TRACE(type);
        auto fwd = cuda::make_synthetic_forward(cfg, {type, 7}, options(kv::KvType::F16));
        EXPECT_EQ(fwd->memory().weight_bytes, cuda::synthetic_weight_bytes(cfg, type));
        std::vector<int32_t> tokens(40);
        for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i * 3 % cfg.vocab_size);
        const std::vector<float> logits = run_split(*fwd, tokens, 30, 1);
        ASSERT_EQ(logits.size(), tokens.size() * static_cast<std::size_t>(cfg.vocab_size));
        for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    }
}

}  // namespace
