// `scout serve`: the OpenAI-compatible HTTP server (docs/server.md).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/image_input.hpp"
#include "apps/runner.hpp"
#include "base/error.hpp"
#include "engine/scheduler.hpp"
#include "kv/kv_size.hpp"
#include "kv/kv_type.hpp"
#include "server/http.hpp"
#include "server/openai_server.hpp"
#include "text/special_tokens.hpp"
#include "vision/vision_tower.hpp"

namespace scout::apps {

namespace {

// The only global mutable state of `scout serve`, and only because signal handlers can reach
// nothing else: the count of SIGINT/SIGTERM received (the first asks for a graceful stop, the
// second ends the process at once) and the model path the SIGBUS message names (written once
// before the handler is installed, read only by it).
std::atomic<int> g_stop_signals{0};
char g_model_path[1024] = {};

extern "C" void on_stop_signal(int) {
    if (g_stop_signals.fetch_add(1) >= 1) {
        static const char msg[] = "scout serve: second signal, exiting now\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(130);
    }
}

// The weights are mmapped: if the model file is truncated while serving, touching a page past
// its new end raises SIGBUS. There is no way to recover the weights, so say what happened and
// exit non-zero instead of dying with a bare "Bus error" (docs/server.md).
extern "C" void on_sigbus(int) {
    static const char a[] = "scout serve: SIGBUS reading the mapped model (";
    static const char b[] = "): the file was truncated or replaced while in use; restart the server\n";
    (void)!write(STDERR_FILENO, a, sizeof a - 1);
    (void)!write(STDERR_FILENO, g_model_path, strnlen(g_model_path, sizeof g_model_path));
    (void)!write(STDERR_FILENO, b, sizeof b - 1);
    _exit(135);
}

void install_serve_signal_handlers(const std::string& model_path) {
    static_assert(std::atomic<int>::is_always_lock_free);
    std::strncpy(g_model_path, model_path.c_str(), sizeof g_model_path - 1);
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_sigbus;
    sigaction(SIGBUS, &sa, nullptr);
    // A write to a client that has gone away must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
}

struct ServeOptions {
    GenerationFlags gen;
    std::string host = "127.0.0.1";
    int port = 8080;
    int parallel = 4;
    int64_t max_queue = 64;
    int64_t prefill_chunk = 128;
    int64_t max_body_mb = 8;
    int http_threads = 0;  // 0: --parallel + --max-queue + 8
    int max_connections = 1024;
    int header_timeout_s = 10;
    std::string api_key;
    std::string model_name;
    std::vector<std::string> allow_origin;
    int64_t stall_timeout_s = 600;
    std::string kv_budget;  // --kv-budget BYTES; empty: none
};

void serve(const ServeOptions& o) {
    check(o.parallel >= 1 && o.parallel <= 256, "--parallel must be between 1 and 256");
    check(o.port >= 0 && o.port <= 65535, "--port must be between 0 and 65535");
    check(o.max_body_mb >= 1, "--max-body-mb must be at least 1");
    auto r = make_runner(o.gen);

    engine::SchedulerOptions so;
    so.n_slots = o.parallel;
    so.context_length = r->context_length;
    so.prefill_chunk = o.prefill_chunk;
    so.max_queue = o.max_queue;
    so.sample_threads = o.gen.backend.threads;
    const kv::KvSize kv_bytes =
        kv::kv_size(r->forward->config(), r->forward->plan(), r->forward->kv_type(), r->forward->kv_type_global());
    if (!o.kv_budget.empty()) {
        so.kv_budget_bytes = static_cast<int64_t>(parse_byte_size(o.kv_budget, "--kv-budget"));
        const int64_t chunk = r->forward->config().attention_chunk_size;
        const int64_t page = backend::BackendOptions{}.kv_page_size;
        so.kv_bytes_for = [kv_bytes, chunk, page](int64_t n) { return kv_bytes.bytes_allocated_for(n, chunk, page); };
    }
    engine::Scheduler scheduler(*r->forward, r->tokenizer.get(), so);

    server::ServerOptions sv;
    sv.model_name = !o.model_name.empty() ? o.model_name
                                          : std::filesystem::path(o.gen.model_dir).lexically_normal().filename().string();
    if (sv.model_name.empty()) sv.model_name = std::filesystem::path(o.gen.model_dir).parent_path().filename().string();
    sv.api_key = o.api_key;
    sv.vision_threads = o.gen.backend.threads;
    sv.bind_host = o.host;
    sv.allow_origin = o.allow_origin;
    sv.stall_timeout_s = o.stall_timeout_s;
    sv.default_sampling = r->sampling;
    sv.stop_tokens = r->generate_options.stop_tokens;
    sv.default_max_tokens = o.gen.max_tokens;
    sv.kv_type = std::string(kv::kv_type_name(r->forward->kv_type()));
    if (r->forward->kv_type_global() != r->forward->kv_type())
        sv.kv_type_global = std::string(kv::kv_type_name(r->forward->kv_type_global()));
    sv.kv_bytes_per_token = kv_bytes.bytes_per_token;
    sv.kv_chunk_ring_bytes = kv_bytes.chunk_ring_bytes;
    // A multimodal HF checkpoint with its vision tower answers image parts (docs/images.md).
    const auto& mc = r->model->config;
    if (!o.gen.mmproj.empty() ||
        (r->model->hf && !mc.vision_config.is_null() && r->model->hf->find("vision_model.class_embedding"))) {
        if (mc.image_token_index != text::token::patch)
            throw Error(cat("the checkpoint's image_token_index is ", mc.image_token_index, ", not <|patch|> (",
                            text::token::patch, "): its vocabulary is not Llama 4's"));
        sv.vision = std::make_shared<const vision::VisionTower>(load_vision_tower_of(*r->model, o.gen.mmproj, o.gen.max_tiles));
        sv.image_token = static_cast<int32_t>(mc.image_token_index);
        if (!o.gen.quiet)
            std::fprintf(stderr, "images: on (vision tower of %lld layers; image_url parts with base64 data: URLs)\n",
                         static_cast<long long>(sv.vision->config.num_layers));
    }
    server::OpenAiServer api(scheduler, *r->tokenizer, sv);

    server::HttpOptions ho;
    ho.host = o.host;
    ho.port = o.port;
    ho.max_body_bytes = static_cast<std::size_t>(o.max_body_mb) << 20;
    // Every admitted request (running or queued in the scheduler) holds a handler thread, so with
    // this many the scheduler's own queue limit is what answers 429; the few more are for requests
    // refused early (400s) while the rest are busy.
    ho.n_threads = o.http_threads > 0 ? o.http_threads : static_cast<int>(o.parallel + o.max_queue + 8);
    ho.max_connections = o.max_connections;
    ho.header_timeout_s = o.header_timeout_s;
    server::HttpServer http(ho);
    api.install(http);
    const int port = http.bind();

    install_serve_signal_handlers(o.gen.model_dir);
    std::atomic<bool> serving{true};
    std::thread watcher([&] {
        while (serving.load() && g_stop_signals.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // Ending the generations first lets every open response finish at once; the HTTP
        // server's stop waits for its handlers.
        scheduler.stop();
        http.stop();
    });
    // The KV types only when the global layers have their own (--kv-type-global).
    const std::string kv_note = sv.kv_type_global.empty()
                                    ? std::string()
                                    : ", kv " + kv::kv_types_label(r->forward->kv_type(), r->forward->kv_type_global());
    std::fprintf(stderr, "scout serve: model %s, %d parallel sequences, context %lld%s; listening on http://%s:%d\n",
                 sv.model_name.c_str(), o.parallel, static_cast<long long>(r->context_length), kv_note.c_str(),
                 o.host.c_str(), port);
    std::fflush(stderr);
    http.serve();
    serving.store(false);
    watcher.join();
    std::fprintf(stderr, "scout serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
    auto opt = std::make_shared<ServeOptions>();
    CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
    add_generation_flags(cmd, opt->gen, 0);
    cmd->add_option("--host", opt->host, "Address to listen on (loopback by default; 0.0.0.0 exposes the server)")
        ->capture_default_str();
    cmd->add_option("--port", opt->port, "TCP port (0: any free port, printed at start)")->capture_default_str();
    cmd->add_option("--parallel", opt->parallel, "Sequences decoded together (slots)")->capture_default_str();
    cmd->add_option("--max-queue", opt->max_queue, "Requests allowed to wait for a slot; more get 429")->capture_default_str();
    cmd->add_option("--prefill-chunk", opt->prefill_chunk, "Prompt tokens per batched step (bounds decode stalls)")
        ->capture_default_str();
    cmd->add_option("--max-body-mb", opt->max_body_mb, "Largest request body in MiB; larger get 413")->capture_default_str();
    cmd->add_option("--http-threads", opt->http_threads,
                    "API requests handled at once (each open stream holds one; more wait, up to 64, then 429); "
                    "0: --parallel + --max-queue + 8")
        ->capture_default_str()
        ->check(CLI::Range(0, 4096));
    cmd->add_option("--max-connections", opt->max_connections,
                    "Open connections allowed (idle and slow ones included); more are closed at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--header-timeout", opt->header_timeout_s,
                    "Seconds a client has to send a request's line and headers, in all (a byte now and then does not "
                    "extend it); then the connection is closed")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--api-key", opt->api_key, "Require Authorization: Bearer KEY on /v1/* and /metrics");
    cmd->add_option("--allow-origin", opt->allow_origin,
                    "Origin allowed to call the API besides the server's own (http://host:port, or * for any); a bare "
                    "host name also allows that Host header. Repeatable");
    cmd->add_option("--stall-timeout", opt->stall_timeout_s,
                    "Seconds a request may wait without any progress (queued, prefilling, no token) before it is given "
                    "up; a reply that keeps generating is never cut")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{1}, int64_t{86400}));
    cmd->add_option("--kv-budget", opt->kv_budget,
                    "KV memory to admit requests against (e.g. 8G): a request waits until its prompt + max_tokens fit "
                    "beside the running ones, and one that could never fit gets a 400; default: no budget, --parallel "
                    "alone bounds the batch");
    cmd->add_option("--model-name", opt->model_name, "Model id reported by /v1/models (default: the directory name)");
    cmd->footer(
        "-n sets the default max_tokens of requests that give none (0: up to the context).\n"
        "Sampling flags set the defaults that requests override.\n\n"
        "Example:\n"
        "  scout serve -m Llama-4-Scout-17B-16E-Instruct --parallel 8 --ctx 16384\n"
        "  curl http://127.0.0.1:8080/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'");
    cmd->callback([opt] { serve(*opt); });
}

}  // namespace scout::apps
