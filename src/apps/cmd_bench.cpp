// `scout bench`: prompt processing (pp) and generation (tg) speed, like llama-bench, with the
// achieved memory bandwidth of generation and an optional read-bandwidth probe to compare with.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "apps/backend_flags.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "backend/factory.hpp"
#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "apps/progress.hpp"
#include "engine/model.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/gguf_export.hpp"
#include "model/layer_plan.hpp"
#include "model/weight_traffic.hpp"

namespace scout::apps {

namespace {

struct BenchOptions {
    std::string model;
    int64_t n_prompt = 512;
    int64_t n_gen = 128;
    BackendFlags backend;
    int reps = 3;
    bool json = false;
    bool bandwidth = false;
    bool profile = false;
    std::string depth = "0";      // -d: context already in the KV before each measurement
    std::string fill = "prefill";  // how that context is made: prefill (real tokens) or random rows
    std::string synthetic;         // --synthetic CONFIG.json: random weights of that config instead of -m
    std::string type = "Q4_K_M";   // --type: their format
    uint64_t seed = 1;
};

// The model a benchmark runs: a checkpoint (-m), or random weights of a config's real dimensions
// (--synthetic): made in device memory on a GPU, written to a temporary GGUF file for the CPU.
struct BenchModel {
    std::unique_ptr<engine::Model> model;  // -m, or the CPU's temporary file
    std::unique_ptr<backend::Forward> forward;
    double bytes_per_token = 0;
    uint64_t file_bytes = 0;
    std::string name;
    std::filesystem::path temp_file;  // removed by the destructor
    BenchModel() = default;
    BenchModel(const BenchModel&) = delete;
    BenchModel& operator=(const BenchModel&) = delete;
    ~BenchModel() {
        forward.reset();
        model.reset();
        std::error_code ec;
        if (!temp_file.empty()) std::filesystem::remove(temp_file, ec);
    }
};

void load_checkpoint(BenchModel& b, const std::string& path, const BenchOptions& o, int64_t positions) {
    b.model = engine::load_model(path);
    b.model->prefault();
    const model::TextConfig& c = b.model->config.text;
    const backend::BackendOptions bo =
        resolve_backend(o.backend, c, b.model->plan, backend::gpu_weight_bytes(b.model->weights), positions, o.json);
    b.forward = backend::make_forward(c, b.model->plan, b.model->weights, bo);
    b.bytes_per_token = model::weight_bytes_per_token(b.model->weights, c, b.model->plan);
    b.file_bytes = b.model->file_bytes();
}

void open_bench_model(BenchModel& b, const BenchOptions& o, int64_t positions) {
    if (o.synthetic.empty()) {
        b.name = o.model;
        load_checkpoint(b, o.model, o, positions);
        return;
    }
    const model::ModelConfig mc = model::parse_model_config(io::read_json_file(o.synthetic));
    const model::LayerPlan plan = model::make_layer_plan(mc.text);
    b.name = cat("synthetic ", o.synthetic, " ", o.type);
    const backend::BackendOptions bo =
        resolve_backend(o.backend, mc.text, plan, backend::synthetic_gpu_bytes(mc.text, o.type), positions, o.json);
    if (bo.device != "cpu") {
        backend::SyntheticForward sf = backend::make_synthetic_forward(mc.text, o.type, o.seed, bo);
        b.forward = std::move(sf.forward);
        b.bytes_per_token = sf.bytes_per_token;
        return;
    }
    // The CPU reads weights from a mapped file: write one (as scout demo-model FILE.gguf --gguf TYPE).
    b.temp_file = std::filesystem::temp_directory_path() / cat("scout-synthetic-", ::getpid(), ".gguf");
    model::GgufExportOptions eo;
    eo.mix = model::parse_gguf_mix(o.type);
    eo.name = "random-weight Llama 4";
    LazyProgressBar progress("writing random " + o.type + " weights to " + b.temp_file.string());
    model::write_random_llama4_gguf(mc, plan, o.seed, b.temp_file, eo, o.json ? std::function<void(uint64_t, uint64_t)>{} : progress.callback());
    progress.finish();
    BenchOptions on_cpu = o;  // decided above: not asked again for the file's weights
    on_cpu.backend.device = "cpu";
    load_checkpoint(b, b.temp_file.string(), on_cpu, positions);
}

struct Stat {
    double median = 0, min = 0, max = 0;
};
Stat summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    Stat s;
    if (v.empty()) return s;
    s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    s.min = v.front();
    s.max = v.back();
    return s;
}

// Multi-threaded sequential read of a 1 GiB buffer: the machine's practical read bandwidth.
double probe_read_bandwidth(ThreadPool& pool) {
    const std::size_t n = (std::size_t{1} << 30) / sizeof(uint64_t);
    std::vector<uint64_t> buf(n);
    pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) buf[static_cast<std::size_t>(i)] = static_cast<uint64_t>(i);
    });
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        std::vector<uint64_t> sums(static_cast<std::size_t>(pool.n_threads()));
        const auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e, int t) {
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int64_t i = b;
            for (; i + 4 <= e; i += 4) {
                s0 += buf[static_cast<std::size_t>(i)];
                s1 += buf[static_cast<std::size_t>(i + 1)];
                s2 += buf[static_cast<std::size_t>(i + 2)];
                s3 += buf[static_cast<std::size_t>(i + 3)];
            }
            for (; i < e; ++i) s0 += buf[static_cast<std::size_t>(i)];
            sums[static_cast<std::size_t>(t)] = s0 + s1 + s2 + s3;
        });
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        uint64_t total = 0;
        for (uint64_t s : sums) total += s;
        check(total != 1, "bandwidth probe");  // keeps the reads alive
        best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / secs);
    }
    return best;
}

// Per-stage time per token for pp and tg, with each stage's share and how the threads shared it:
// "use" = the mean thread's working time / wall time (100 %: every thread worked throughout; 1/n:
// one thread did it all), "busiest" = the most loaded thread's time (where use is low but busiest
// is near the wall time, the stage is serial or unbalanced), and parallel regions per pass.
void print_profile(const backend::StageProfile& pp, int64_t pp_tokens, const backend::StageProfile& tg, int64_t tg_tokens) {
    const backend::StageProfile* profiles[2] = {&pp, &tg};
    const int64_t tokens[2] = {pp_tokens, tg_tokens};
    double total[2] = {0, 0};
    for (int k = 0; k < 2; ++k)
        for (double s : profiles[k]->seconds) total[k] += s;
    const bool metered = pp.threads > 0 || tg.threads > 0;
    std::printf("\nper-stage time, ms per token%s\n", metered ? cat(" (", std::max(pp.threads, tg.threads),
                                                                 " threads; use = mean thread's work / wall)").c_str()
                                                            : "");
    std::printf("  %-24s %9s %5s", "pp:", "ms", "share");
    if (metered) std::printf(" %9s %5s %7s", "busiest", "use", "regions");
    std::printf("   | tg: %9s %5s", "ms", "share");
    if (metered) std::printf(" %9s %5s %7s", "busiest", "use", "regions");
    std::printf("\n");
    uint64_t regions[2] = {0, 0};
    for (std::size_t s = 0; s < backend::StageProfile::kStages; ++s) {
        std::printf("  %-24s", std::string(backend::StageProfile::name(static_cast<backend::Stage>(s))).c_str());
        for (int k = 0; k < 2; ++k) {
            const backend::StageProfile& p = *profiles[k];
            const double per = tokens[k] > 0 ? 1e3 / static_cast<double>(tokens[k]) : 0.0;
            if (k == 1) std::printf("   |    ");
            std::printf(" %9.4f %4.0f%%", p.seconds[s] * per, total[k] > 0 ? 100.0 * p.seconds[s] / total[k] : 0.0);
            if (!metered) continue;
            const double passes = static_cast<double>(std::max<int64_t>(1, p.passes));
            std::printf(" %9.4f %4.0f%% %7.1f", p.busiest_seconds[s] * per,
                        p.seconds[s] > 0 ? 100.0 * p.mean_busy_seconds[s] / p.seconds[s] : 0.0,
                        static_cast<double>(p.regions[s]) / passes);
            regions[k] += p.regions[s];
        }
        std::printf("\n");
    }
    if (metered)
        std::printf("  parallel regions (barriers) per forward pass: pp %.1f, tg %.1f\n",
                    static_cast<double>(regions[0]) / static_cast<double>(std::max<int64_t>(1, pp.passes)),
                    static_cast<double>(regions[1]) / static_cast<double>(std::max<int64_t>(1, tg.passes)));
}

// Speeds at one depth: pp (n_prompt tokens in one batch) and tg (n_gen tokens one at a time),
// each measured after `depth` positions of context, reps + 1 times (the first warms up).
struct DepthResult {
    int64_t depth = 0;
    std::vector<double> pp, tg;
};

DepthResult measure_at_depth(backend::Forward& fwd, const BenchOptions& o, int64_t depth, bool random_fill,
                             std::mt19937& rng, std::uniform_int_distribution<int32_t>& tok,
                             backend::StageProfile& pp_profile, backend::StageProfile& tg_profile, std::size_t& kv_bytes,
                             std::size_t& kv_file_bytes) {
    DepthResult r;
    r.depth = depth;
    std::vector<float> logits;
    std::vector<int32_t> context(static_cast<std::size_t>(random_fill ? 0 : depth));
    for (auto& t : context) t = tok(rng);
    const auto kv = fwd.make_kv();
    // Brings kv to exactly `depth` positions: the first time by filling it, later by rewinding,
    // which keeps the global layers' rows; at most one chunk of context (the chunk rings') is
    // made again. Not timed.
    auto to_depth = [&] {
        const int64_t resume = kv->n_past() >= depth ? kv->rewind(depth) : kv->n_past();
        if (random_fill && resume < depth) {
            fwd.fill_kv_random(*kv, depth - resume, 0x5C0u + static_cast<uint64_t>(resume));
        } else if (resume < depth) {
            fwd.forward(*kv, std::span<const int32_t>(context).subspan(static_cast<std::size_t>(resume)), false, logits);
        }
    };
    for (int rep = 0; rep < o.reps + 1; ++rep) {  // the first repetition warms up and is not counted
        if (o.n_prompt > 0) {
            to_depth();
            std::vector<int32_t> ids(static_cast<std::size_t>(o.n_prompt));
            for (auto& t : ids) t = tok(rng);
            if (o.profile && rep > 0) fwd.set_profile(&pp_profile);
            const auto t0 = std::chrono::steady_clock::now();
            fwd.forward(*kv, ids, false, logits);
            fwd.set_profile(nullptr);
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (rep > 0) r.pp.push_back(static_cast<double>(o.n_prompt) / secs);
            kv_bytes = std::max(kv_bytes, kv->bytes_allocated());
            kv_file_bytes = std::max(kv_file_bytes, kv->bytes_in_file());
        }
        if (o.n_gen > 0) {
            to_depth();
            if (o.profile && rep > 0) fwd.set_profile(&tg_profile);
            const auto t0 = std::chrono::steady_clock::now();
            for (int64_t i = 0; i < o.n_gen; ++i) {
                const int32_t t = tok(rng);
                fwd.forward(*kv, std::span<const int32_t>(&t, 1), false, logits);
            }
            fwd.set_profile(nullptr);
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (rep > 0) r.tg.push_back(static_cast<double>(o.n_gen) / secs);
            kv_bytes = std::max(kv_bytes, kv->bytes_allocated());
            kv_file_bytes = std::max(kv_file_bytes, kv->bytes_in_file());
        }
    }
    return r;
}

void bench(const BenchOptions& o) {
    check(o.n_prompt >= 0 && o.n_gen >= 0 && o.reps >= 1, "-p and -n must be >= 0 and -r >= 1");
    check(o.fill == "prefill" || o.fill == "random", cat("--fill: \"", o.fill, "\" is not prefill or random"));
    const std::vector<int64_t> depths = parse_token_counts(o.depth, "-d/--depth");
    check(o.model.empty() != o.synthetic.empty(), "give -m MODEL or --synthetic CONFIG.json (one of them)");
    BenchModel bm;
    open_bench_model(bm, o, o.n_prompt + o.n_gen + *std::max_element(depths.begin(), depths.end()));
    const std::unique_ptr<backend::Forward>& fwd = bm.forward;
    const auto& c = fwd->config();
    for (int64_t d : depths)
        check(d == 0 || d + o.n_prompt + o.n_gen <= c.max_position_embeddings,
              cat("-d ", d, " + -p ", o.n_prompt, " + -n ", o.n_gen, " positions exceed this model's context of ",
                  c.max_position_embeddings));
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(std::min<int64_t>(c.vocab_size, 200000) - 1));
    backend::StageProfile pp_profile, tg_profile;
    std::size_t kv_bytes = 0, kv_file_bytes = 0;
    std::vector<DepthResult> results;
    for (int64_t d : depths)
        results.push_back(measure_at_depth(*fwd, o, d, o.fill == "random", rng, tok, pp_profile, tg_profile, kv_bytes,
                                           kv_file_bytes));
    const std::vector<double>& pp = results.front().pp;
    const std::vector<double>& tg = results.front().tg;
    const double wbytes = bm.bytes_per_token;
    const Stat spp = summarize(pp), stg = summarize(tg);
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    const double peak_rss = static_cast<double>(ru.ru_maxrss) * 1024.0;
    const backend::Capabilities caps = fwd->capabilities();
    double probe = 0.0;
    if (o.bandwidth) {
        ThreadPool pool(o.backend.threads);
        probe = probe_read_bandwidth(pool);
    }
    if (o.json) {
        nlohmann::json j = {{"model", bm.name},
                            {"device", caps.device},
                            {"backend", caps.description},
                            {"kv_type", std::string(kv::kv_type_name(fwd->kv_type()))},
                            {"reps", o.reps},
                            {"n_prompt", o.n_prompt},
                            {"n_gen", o.n_gen},
                            {"pp_tok_s", {{"median", spp.median}, {"min", spp.min}, {"max", spp.max}}},
                            {"tg_tok_s", {{"median", stg.median}, {"min", stg.min}, {"max", stg.max}}},
                            {"weight_bytes_per_token", wbytes},
                            {"tg_weight_gb_s", stg.median * wbytes / 1e9},
                            {"kv_bytes", kv_bytes},
                            {"kv_bytes_in_file", kv_file_bytes},
                            {"file_bytes", bm.file_bytes},
                            {"peak_rss_bytes", peak_rss},
                            {"depth", results.front().depth},
                            {"fill", o.fill}};
        nlohmann::json by = nlohmann::json::array();
        for (const DepthResult& r : results) {
            const Stat p = summarize(r.pp), t = summarize(r.tg);
            by.push_back({{"depth", r.depth},
                          {"pp_tok_s", {{"median", p.median}, {"min", p.min}, {"max", p.max}}},
                          {"tg_tok_s", {{"median", t.median}, {"min", t.min}, {"max", t.max}}}});
        }
        j["by_depth"] = by;
        // Only when it differs, so the output at one type stays as it was.
        if (fwd->kv_type_global() != fwd->kv_type()) j["kv_type_global"] = std::string(kv::kv_type_name(fwd->kv_type_global()));
        if (o.bandwidth) j["probe_read_gb_s"] = probe / 1e9;
        if (o.profile) {
            const auto runs = static_cast<int64_t>(o.reps) * static_cast<int64_t>(results.size());
            for (const auto& [key, prof, tokens] : {std::tuple{"pp", &pp_profile, o.n_prompt}, std::tuple{"tg", &tg_profile, o.n_gen}}) {
                const double per = tokens > 0 ? 1e3 / static_cast<double>(tokens * runs) : 0.0;
                const double passes = static_cast<double>(std::max<int64_t>(1, prof->passes));
                nlohmann::json ms = nlohmann::json::object(), threads = nlohmann::json::object();
                for (std::size_t s = 0; s < backend::StageProfile::kStages; ++s) {
                    const std::string name(backend::StageProfile::name(static_cast<backend::Stage>(s)));
                    ms[name] = prof->seconds[s] * per;
                    threads[name] = {{"busiest_ms", prof->busiest_seconds[s] * per},
                                     {"mean_thread_ms", prof->mean_busy_seconds[s] * per},
                                     {"regions_per_pass", static_cast<double>(prof->regions[s]) / passes}};
                }
                j[cat(key, "_profile_ms_per_token")] = ms;
                j[cat(key, "_profile_threads")] = threads;
            }
            j["profile_threads"] = std::max(pp_profile.threads, tg_profile.threads);
        }
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::printf("model %s, %s (%s), KV %s, %d repetitions (+1 warm-up)\n", bm.name.c_str(), caps.device.c_str(),
                caps.description.c_str(), kv::kv_types_label(fwd->kv_type(), fwd->kv_type_global()).c_str(), o.reps);
    if (results.size() > 1 || results.front().depth > 0)
        std::printf("context before each measurement: %s\n",
                    o.fill == "random" ? "random K/V rows (--fill random; attention cost as real, logits meaningless)"
                                       : "a prefill of random tokens (--fill prefill)");
    for (const DepthResult& r : results) {
        const Stat p = summarize(r.pp), t = summarize(r.tg);
        const std::string at = r.depth > 0 ? " @ d" + std::to_string(r.depth) : "";
        if (o.n_prompt > 0)
            std::printf("%-16s %9.2f tok/s  (min %.2f, max %.2f)\n", ("pp" + std::to_string(o.n_prompt) + at).c_str(),
                        p.median, p.min, p.max);
        if (o.n_gen > 0)
            std::printf("%-16s %9.2f tok/s  (min %.2f, max %.2f)  %.2f GB/s of weights (%s per token)\n",
                        ("tg" + std::to_string(o.n_gen) + at).c_str(), t.median, t.min, t.max, t.median * wbytes / 1e9,
                        human_bytes(wbytes).c_str());
    }
    std::printf("kv %s%s, file %s, peak RSS %s\n", human_bytes(static_cast<double>(kv_bytes)).c_str(),
                kv_file_bytes > 0 ? (" (" + human_bytes(static_cast<double>(kv_file_bytes)) + " in the --kv-ram file)").c_str() : "",
                human_bytes(static_cast<double>(bm.file_bytes)).c_str(), human_bytes(peak_rss).c_str());
    if (o.bandwidth) std::printf("read bandwidth probe: %.2f GB/s\n", probe / 1e9);
    const auto runs = static_cast<int64_t>(o.reps) * static_cast<int64_t>(results.size());  // profiled over every depth
    if (o.profile) print_profile(pp_profile, o.n_prompt * runs, tg_profile, o.n_gen * runs);
}

}  // namespace

void register_bench(CLI::App& app) {
    auto opt = std::make_shared<BenchOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing and generation speed");
    cmd->add_option("-m,--model", opt->model, "Hugging Face checkpoint directory, or a llama.cpp GGUF file (the first part of a split one)");
    cmd->add_option("--synthetic", opt->synthetic,
                    "Instead of -m: random weights of this config.json's real dimensions (e.g. "
                    "tests/data/configs/scout/config.json: all 48 layers), made in GPU memory, or on the CPU "
                    "written to a temporary GGUF file first");
    cmd->add_option("--type", opt->type, "With --synthetic: the weights' format (Q4_K_M, Q4_0, Q8_0, BF16, F16)")
        ->capture_default_str();
    cmd->add_option("--seed", opt->seed, "With --synthetic: the random weights' seed")->capture_default_str();
    cmd->add_option("-p,--n-prompt", opt->n_prompt, "Prompt tokens processed in one batch (pp)")->capture_default_str();
    cmd->add_option("-n,--n-gen", opt->n_gen, "Tokens generated one at a time (tg)")->capture_default_str();
    add_backend_flags(cmd, opt->backend);
    cmd->add_option("-r,--reps", opt->reps, "Repetitions (median and range are reported)")->capture_default_str();
    cmd->add_flag("--json", opt->json, "Print JSON");
    cmd->add_flag("--bandwidth", opt->bandwidth, "Also measure this machine's memory read bandwidth (1 GiB probe)");
    cmd->add_flag("--profile", opt->profile, "Also print the time per token spent in each step of the forward pass");
    cmd->add_option("-d,--depth", opt->depth,
                    "Context already in the KV memory before each pp and tg measurement, as llama-bench's -d "
                    "(comma-separated; K = 1,024, M = 1,048,576; e.g. 0,4K,16K)")
        ->capture_default_str();
    cmd->add_option("--fill", opt->fill,
                    "How the --depth context is made: prefill (random tokens through the model: exact, slow at "
                    "depth) or random (random K/V rows written directly: same attention cost, meaningless logits; "
                    "CPU backend)")
        ->capture_default_str();
    cmd->footer("Random token ids; generation reads the weights of the routed experts only (that is what the\n"
                "GB/s figure counts).\n\nExamples:\n  scout bench -m model.gguf -p 512 -n 128 -r 3 --bandwidth\n"
                "  scout bench -m model.gguf -p 512 -n 32 -d 0,16K,64K --fill random\n"
                "  scout bench --synthetic tests/data/configs/scout/config.json --type Q4_K_M --device cuda");
    cmd->callback([opt] { bench(*opt); });
}

}  // namespace scout::apps
