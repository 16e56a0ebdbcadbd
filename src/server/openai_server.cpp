#include "server/openai_server.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "grammar/token_mask.hpp"
#include "image/decode.hpp"
#include "server/api_error.hpp"
#include "server/chat_page.hpp"
#include "server/openai_request.hpp"
#include "server/openai_response.hpp"
#include "server/tool_calls.hpp"
#include "text/chat_format.hpp"

namespace scout::server {

using Json = nlohmann::ordered_json;

namespace {

HttpResponse json_response(const Json& j, int status = 200) {
    HttpResponse r;
    r.status = status;
    r.body = dump_json(j);
    return r;
}

HttpResponse error_response(const ApiError& e) {
    HttpResponse r;
    r.status = e.status;
    r.body = error_body(e.status, e.what(), e.type, e.param, e.code);
    if (e.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    // A full queue or a server shutting down: the client may try again (OpenAI's SDKs wait this long).
    if (e.status == 429 || e.status == 503) r.headers.emplace_back("Retry-After", "1");
    return r;
}

// Constant-time comparison: the time taken does not depend on where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
    const std::size_t n = std::max(a.size(), b.size());
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned>(x ^ y);
    }
    return diff == 0;
}

// Cancels the request when the handler leaves before it finished (client gone, write failed,
// exception): the scheduler then frees the sequence's slot and KV memory at its next step.
struct CancelGuard {
    std::shared_ptr<engine::RequestStream> stream;
    bool finished = false;
    ~CancelGuard() {
        if (stream && !finished) stream->cancel();
    }
};

// Waits for the next events. After each quiet second (queued, or a long prompt being prefilled)
// on_idle writes something small to the client: that is how a client that has gone away is
// noticed (false). Gives up after `stall_s` quiet seconds in a row (the scheduler is wedged).
bool next_events(engine::RequestStream& s, std::vector<engine::StreamEvent>& out, const std::function<bool()>& on_idle,
                 int64_t stall_s) {
    for (int64_t i = 0; i < stall_s; ++i) {
        if (s.next(out, std::chrono::milliseconds(1000))) return true;
        if (on_idle && !on_idle()) return false;
    }
    return false;
}

}  // namespace

std::string error_body(int status, const std::string& message, const std::string& type, const std::string& param,
                       const std::string& code) {
    const std::string t = !type.empty() ? type : status >= 500 ? "server_error" : "invalid_request_error";
    Json e{{"message", message}, {"type", t}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return dump_json(Json{{"error", e}});
}

OpenAiServer::OpenAiServer(engine::Scheduler& scheduler, const text::Tokenizer& tokenizer, ServerOptions options)
    : scheduler_(scheduler), tokenizer_(tokenizer), options_(std::move(options)), created_(unix_now()) {
    if (options_.vision) vision_pool_ = std::make_unique<ThreadPool>(options_.vision_threads);
}

bool OpenAiServer::authorized(const HttpRequest& req) const {
    if (options_.api_key.empty()) return true;
    const std::string h = req.header("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (h.size() < bearer.size() || h.compare(0, bearer.size(), bearer) != 0) return false;
    return same_secret(std::string_view(h).substr(bearer.size()), options_.api_key);
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The host part of "host", "host:port", "[v6]" or "[v6]:port", lower-cased, brackets removed.
std::string host_part(std::string_view authority) {
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        return lower(authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    }
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos)
        authority = authority.substr(0, colon);
    return lower(authority);
}

bool is_loopback(const std::string& h) {
    return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0 ||
           (h.size() > 10 && h.compare(h.size() - 10, 10, ".localhost") == 0);
}

}  // namespace

bool OpenAiServer::same_site(const HttpRequest& req) const {
    const auto& allow = options_.allow_origin;
    const auto listed = [&](const std::string& v) {
        for (const auto& a : allow)
            if (a == "*" || lower(a) == v) return true;
        return false;
    };
    const std::string bind = host_part(options_.bind_host);
    const std::string host_header = req.header("Host");
    const std::string host = host_part(host_header);
    const bool wildcard = bind.empty() || bind == "0.0.0.0" || bind == "::";
    const bool host_ok = host_header.empty() || wildcard || host == bind || (is_loopback(bind) && is_loopback(host)) ||
                         listed(host);
    if (!host_ok) return false;
    const std::string origin = lower(req.header("Origin"));
    if (origin.empty()) return true;  // not from a browser page (curl, SDKs)
    if (listed(origin)) return true;
    const auto scheme = origin.find("://");
    return scheme != std::string::npos && origin.substr(scheme + 3) == lower(host_header);
}

HttpResponse OpenAiServer::guarded(const HttpRequest& req, bool needs_auth,
                                   HttpResponse (OpenAiServer::*fn)(const HttpRequest&)) {
    HttpResponse r;
    try {
        if (!same_site(req))
            throw ApiError(403, "the Host or Origin header does not name this server (see --allow-origin)", "",
                           "invalid_request_error", "forbidden_origin");
        if (needs_auth && !authorized(req))
            throw ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", "", "authentication_error",
                           "invalid_api_key");
        r = (this->*fn)(req);
    } catch (const ApiError& e) {
        r = error_response(e);
    } catch (const std::exception& e) {
        r = error_response(ApiError(500, e.what()));
    }
    if (r.status >= 500) ++counters_.responses_5xx;
    else if (r.status >= 400) ++counters_.responses_4xx;
    return r;
}

void OpenAiServer::install(HttpServer& http) {
    http.set_error_responder([this](int status, const std::string& message) {
        if (status >= 500) ++counters_.responses_5xx;
        else ++counters_.responses_4xx;
        HttpResponse r;
        r.status = status;
        r.body = error_body(status, message, {}, {}, status == 413 ? "request_too_large" : "");
        return r;
    });
    // Every POST route needs the key: a request without it gets its 401 before its body is read.
    http.set_before_body([this](const HttpRequest& req, HttpResponse& out) {
        if (!same_site(req)) {
            ++counters_.responses_4xx;
            out = error_response(ApiError(403, "the Host or Origin header does not name this server (see --allow-origin)",
                                          "", "invalid_request_error", "forbidden_origin"));
            return false;
        }
        if (authorized(req)) return true;
        ++counters_.responses_4xx;
        out = error_response(ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", "",
                                      "authentication_error", "invalid_api_key"));
        return false;
    });
    http.route("POST", "/v1/chat/completions", [this](const HttpRequest& r) {
        ++counters_.requests_chat;
        return guarded(r, true, &OpenAiServer::chat);
    });
    http.route("POST", "/v1/completions", [this](const HttpRequest& r) {
        ++counters_.requests_completions;
        return guarded(r, true, &OpenAiServer::completions);
    });
    http.route("GET", "/v1/models", [this](const HttpRequest& r) {
        ++counters_.requests_other;
        return guarded(r, true, &OpenAiServer::models);
    }, RouteKind::quick);
    http.route("GET", "/metrics", [this](const HttpRequest& r) {
        ++counters_.requests_other;
        return guarded(r, true, &OpenAiServer::metrics);
    }, RouteKind::quick);
    http.route("GET", "/health", [this](const HttpRequest&) {
        ++counters_.requests_other;
        return json_response(Json{{"status", "ok"}});
    }, RouteKind::quick);
    http.route("GET", "/", [this](const HttpRequest&) {
        ++counters_.requests_other;
        HttpResponse r;
        r.content_type = "text/html; charset=utf-8";
        r.body = chat_page_html();
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'");
        return r;
    }, RouteKind::quick);
}

HttpResponse OpenAiServer::models(const HttpRequest&) {
    return json_response(Json{
        {"object", "list"},
        {"data", Json::array({Json{{"id", options_.model_name}, {"object", "model"}, {"created", created_}, {"owned_by", "scout"}}})}});
}

HttpResponse OpenAiServer::metrics(const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_text();
    return r;
}

std::string OpenAiServer::metrics_text() const {
    const engine::SchedulerStats s = scheduler_.stats();
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, const std::string& samples) {
        out += cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", samples);
    };
    // One sample line: `name{labels} value`.
    auto one = [](const char* name, auto v, const std::string& labels = {}) { return cat(name, labels, " ", v, "\n"); };
    metric("scout_requests_total", "counter", "HTTP requests by endpoint.",
           cat("scout_requests_total{endpoint=\"chat_completions\"} ", counters_.requests_chat.load(), "\n",
               "scout_requests_total{endpoint=\"completions\"} ", counters_.requests_completions.load(), "\n",
               "scout_requests_total{endpoint=\"other\"} ", counters_.requests_other.load(), "\n"));
    metric("scout_responses_errors_total", "counter", "Error responses by class.",
           cat("scout_responses_errors_total{class=\"4xx\"} ", counters_.responses_4xx.load(), "\n",
               "scout_responses_errors_total{class=\"5xx\"} ", counters_.responses_5xx.load(), "\n"));
    metric("scout_generations_finished_total", "counter", "Generations that ran to a stop or a limit.",
           one("scout_generations_finished_total", s.n_requests_done));
    metric("scout_generations_cancelled_total", "counter", "Generations dropped because the client went away.",
           one("scout_generations_cancelled_total", s.n_requests_cancelled));
    metric("scout_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.",
           one("scout_prompt_tokens_total", s.n_prompt_tokens));
    metric("scout_prompt_tokens_reused_total", "counter", "Prompt tokens whose KV was reused from an earlier request.",
           one("scout_prompt_tokens_reused_total", s.n_prompt_tokens_reused));
    metric("scout_prompt_tokens_computed_total", "counter",
           "Prompt tokens run through the model (new tokens plus the at most one chunk a rewind recomputes).",
           one("scout_prompt_tokens_computed_total", s.n_prompt_tokens_computed));
    metric("scout_generated_tokens_total", "counter", "Tokens generated.", one("scout_generated_tokens_total", s.n_generated_tokens));
    metric("scout_forward_steps_total", "counter", "Batched forward steps.", one("scout_forward_steps_total", s.n_steps));
    metric("scout_busy_seconds_total", "counter", "Seconds spent in forward steps.", one("scout_busy_seconds_total", s.busy_seconds));
    metric("scout_generation_tokens_per_second", "gauge", "Generated tokens per busy second since start.",
           one("scout_generation_tokens_per_second",
               s.busy_seconds > 0 ? static_cast<double>(s.n_generated_tokens) / s.busy_seconds : 0.0));
    metric("scout_queue_depth", "gauge", "Requests waiting for a slot.", one("scout_queue_depth", s.queue_depth));
    metric("scout_running_sequences", "gauge", "Sequences being prefilled or decoded.", one("scout_running_sequences", s.n_running));
    // KV figures carry the element type they were allocated at (--kv-type), so dashboards of
    // servers run at different types stay comparable.
    // A separate global-layer type (--kv-type-global) adds a kv_type_global label.
    const std::string kv_label =
        options_.kv_type_global.empty()
            ? cat("{kv_type=\"", options_.kv_type, "\"}")
            : cat("{kv_type=\"", options_.kv_type, "\",kv_type_global=\"", options_.kv_type_global, "\"}");
    metric("scout_kv_bytes_in_use", "gauge", "KV memory of running sequences, as allocated.", one("scout_kv_bytes_in_use", s.kv_bytes_in_use, kv_label));
    metric("scout_kv_bytes_cached", "gauge", "KV memory idle slots keep for prefix reuse, as allocated.",
           one("scout_kv_bytes_cached", s.kv_bytes_cached, kv_label));
    metric("scout_kv_bytes_in_file", "gauge", "Of the KV memory above, bytes kept in the --kv-ram file instead of RAM.",
           one("scout_kv_bytes_in_file", s.kv_bytes_in_file, kv_label));
    metric("scout_kv_bytes_reserved", "gauge",
           "With --kv-budget: the KV the running requests may grow to (prompt + max_tokens); 0 without.",
           one("scout_kv_bytes_reserved", s.kv_bytes_reserved, kv_label));
    metric("scout_kv_budget_bytes", "gauge", "--kv-budget: KV memory requests are admitted against; 0: none.",
           one("scout_kv_budget_bytes", scheduler_.options().kv_budget_bytes, kv_label));
    metric("scout_kv_bytes_per_token", "gauge", "KV bytes per position of the global-attention layers.",
           one("scout_kv_bytes_per_token", options_.kv_bytes_per_token, kv_label));
    metric("scout_kv_chunk_ring_bytes", "gauge", "KV bytes of one sequence's full chunked-attention rings.",
           one("scout_kv_chunk_ring_bytes", options_.kv_chunk_ring_bytes, kv_label));
    return out;
}

engine::GenRequest OpenAiServer::make_generation(const SamplingRequest& s, std::vector<int32_t> prompt) const {
    const int64_t ctx = scheduler_.options().context_length;
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    if (n_prompt >= ctx)
        throw ApiError(400, cat("the prompt has ", n_prompt, " tokens but the context holds ", ctx,
                                " (prompt and reply together); shorten the conversation or start the server with a larger --ctx"),
                       "messages", "invalid_request_error", "context_length_exceeded");
    engine::GenRequest g;
    g.prompt = std::move(prompt);
    g.sampling = options_.default_sampling;
    if (s.temperature) g.sampling.temperature = *s.temperature;
    if (s.top_p) g.sampling.top_p = *s.top_p;
    if (s.min_p) g.sampling.min_p = *s.min_p;
    if (s.top_k) g.sampling.top_k = *s.top_k;
    if (s.presence_penalty) g.sampling.presence_penalty = *s.presence_penalty;
    if (s.frequency_penalty) g.sampling.frequency_penalty = *s.frequency_penalty;
    if (s.repetition_penalty) g.sampling.repetition_penalty = *s.repetition_penalty;
    g.sampling.seed = s.seed ? *s.seed : (static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}());
    try {
        validate(g.sampling);
    } catch (const Error& e) {
        throw ApiError(400, e.what());
    }
    const int64_t room = ctx - n_prompt;
    if (s.max_tokens && *s.max_tokens > room)
        throw ApiError(400, cat("max_tokens is ", *s.max_tokens, " but only ", room, " tokens are left in the context of ", ctx,
                                " after the ", n_prompt, "-token prompt"),
                       "max_tokens", "invalid_request_error", "context_length_exceeded");
    g.max_tokens = s.max_tokens ? *s.max_tokens
                                : (options_.default_max_tokens > 0 ? std::min(options_.default_max_tokens, room) : room);
    g.stop_tokens = options_.stop_tokens;
    g.stop_strings = s.stop;
    g.top_logprobs = s.top_logprobs;
    if (s.grammar) {
        g.grammar = s.grammar;
        g.trie = token_trie();
    }
    return g;
}

std::shared_ptr<const grammar::TokenTrie> OpenAiServer::token_trie() const {
    std::lock_guard lock(trie_mu_);
    if (!trie_) trie_ = std::make_shared<const grammar::TokenTrie>(grammar::TokenTrie::from_tokenizer(tokenizer_));
    return trie_;
}

// Queues a generation; a full queue is 429, a server shutting down 503 and a request that could
// never fit the KV budget 400, for every endpoint.
std::shared_ptr<engine::RequestStream> OpenAiServer::submit(engine::GenRequest request) {
    try {
        return scheduler_.submit(std::move(request));
    } catch (const engine::QueueFull& e) {
        throw ApiError(429, e.what(), "", "server_overloaded", "queue_full");
    } catch (const engine::ShuttingDown& e) {
        throw ApiError(503, e.what(), "", "server_error", "shutting_down");
    } catch (const engine::KvBudgetExceeded& e) {
        throw ApiError(400, e.what(), "max_tokens", "invalid_request_error", "kv_budget_exceeded");
    }
}

namespace {

// A server-sent event stream: each chunk is "data: <json>\n\n"; the end is "data: [DONE]\n\n".
struct Sse {
    ChunkWriter& w;
    bool send(const Json& j) { return w.write("data: " + dump_json(j) + "\n\n"); }
    bool done() { return w.write("data: [DONE]\n\n"); }
};

}  // namespace

HttpResponse OpenAiServer::whole_reply(std::shared_ptr<engine::RequestStream> stream,
                                       std::function<void(const engine::StreamEvent&)> on_event,
                                       std::function<Json(const engine::StreamEvent&)> build) {
    auto end = std::make_shared<engine::StreamEvent>();
    // Moves events into on_event until the final one (true) or until `budget` passes (false).
    // `progress` counts the events seen, so the caller can tell a quiet second from a busy one.
    auto progress = std::make_shared<int64_t>(0);
    auto pump = [stream, on_event, end, progress](std::chrono::milliseconds budget) {
        const auto deadline = std::chrono::steady_clock::now() + budget;
        do {
            std::vector<engine::StreamEvent> events;
            stream->next(events, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
            *progress += static_cast<int64_t>(events.size());
            for (auto& e : events) {
                on_event(e);
                if (e.done) {
                    *end = std::move(e);
                    return true;
                }
            }
        } while (std::chrono::steady_clock::now() < deadline);
        return false;
    };
    auto respond = [build, end]() {
        if (end->finish == engine::StopReason::error) return error_response(ApiError(500, "generation failed: " + end->error));
        if (!engine::ended_normally(end->finish)) return error_response(ApiError(503, "the server is shutting down"));
        return json_response(build(*end));
    };
    // The request is cancelled if the response is dropped before the reply is complete.
    auto guard = std::make_shared<CancelGuard>();
    guard->stream = stream;
    if (pump(std::chrono::milliseconds(1000))) {
        guard->finished = true;
        return respond();
    }
    // A longer reply: a chunked body that starts with one space per second (JSON allows leading
    // whitespace). Writing is what notices a client that has gone away; the status is then
    // already 200, so a late failure arrives as an error object in the body. Only seconds without
    // progress count toward the stall limit: a reply that keeps generating is never cut.
    HttpResponse r;
    r.stream = [this, guard, pump, respond, progress](ChunkWriter& w) {
        int64_t quiet = 0;
        for (int64_t seen = *progress; !pump(std::chrono::milliseconds(1000)); seen = *progress) {
            quiet = *progress == seen ? quiet + 1 : 0;
            if (quiet >= options_.stall_timeout_s) {
                w.write(error_body(503, "the request made no progress for " + std::to_string(quiet) + " s", "server_error"));
                return;
            }
            if (!w.write(" ")) {
                ++counters_.streams_disconnected;
                return;
            }
        }
        guard->finished = true;
        w.write(respond().body);
    };
    return r;
}

std::vector<float> OpenAiServer::image_rows(const std::vector<text::ChatMessage>& messages) const {
    std::vector<float> rows;
    for (std::size_t mi = 0; mi < messages.size(); ++mi)
        for (const auto& part : messages[mi].content) {
            if (part.kind != text::ContentPart::Kind::image) continue;
            const std::string where = cat("messages[", mi, "]");
            if (!options_.vision)
                throw ApiError(400, where + ": this model reads text only (its checkpoint has no vision tower)", "messages");
            if (part.data.empty())
                throw ApiError(400, where + ": give the picture itself as a base64 data URL in image_url.url "
                                            "(\"data:image/png;base64,...\"); a size or tile grid alone is not enough",
                               "messages");
            const auto* bytes = reinterpret_cast<const uint8_t*>(part.data.data());
            vision::EncodedImage e;
            try {
                const RgbImage image = decode_image(std::span<const uint8_t>(bytes, part.data.size()));
                const std::lock_guard<std::mutex> lock(vision_mu_);
                e = vision::encode_image(*options_.vision, image, *vision_pool_);
            } catch (const Error& err) {
                throw ApiError(400, cat(where, ": the image cannot be used: ", err.what()), "messages");
            }
            if (e.layout.rows != part.tiles.rows || e.layout.cols != part.tiles.cols)
                throw ApiError(400, cat(where, ": the image's header size disagrees with its pixels"), "messages");
            rows.insert(rows.end(), e.rows.begin(), e.rows.end());
        }
    return rows;
}

HttpResponse OpenAiServer::chat(const HttpRequest& req) {
    ChatRequest cr = parse_chat_request(req.body);
    add_tools_to_messages(cr.messages, cr.tools, cr.tool_choice, cr.tool_choice_name);
    const bool tools_on = !cr.tools.empty() && cr.tool_choice != ToolChoice::none;
    std::vector<int32_t> prompt;
    try {
        text::ChatFormatOptions fo;
        fo.tool_format = text::ToolPromptFormat::python_list;
        text::ChatFormat format(tokenizer_, fo);
        prompt = format.encode_dialog_prompt(cr.messages);
    } catch (const Error& e) {
        throw ApiError(400, e.what(), "messages");
    }
    engine::GenRequest gen = make_generation(cr.sampling, std::move(prompt));
    gen.image_rows = image_rows(cr.messages);
    if (!gen.image_rows.empty()) gen.image_token = options_.image_token;
    const std::shared_ptr<engine::RequestStream> stream = submit(std::move(gen));
    ChatReplyInfo info;
    info.id = random_id("chatcmpl-");
    info.created = unix_now();
    info.model = options_.model_name;
    info.tools_on = tools_on;
    info.want_logprobs = cr.sampling.top_logprobs >= 0;
    info.include_usage = cr.sampling.include_usage;
    info.tokenizer = &tokenizer_;

    if (!cr.sampling.stream) {
        struct Acc {
            std::string text;
            Json logprobs = Json::array();
        };
        auto acc = std::make_shared<Acc>();
        return whole_reply(
            stream,
            [this, acc](const engine::StreamEvent& e) {
                acc->text += e.text;
                if (e.logprob) acc->logprobs.push_back(chat_logprob_json(tokenizer_, *e.logprob));
            },
            [acc, info](const engine::StreamEvent& end) { return chat_completion_json(info, acc->text, acc->logprobs, end); });
    }

    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    // Cancels the request when the response is dropped unfinished (even if never written).
    auto guard = std::make_shared<CancelGuard>();
    guard->stream = stream;
    r.stream = [this, stream, guard, info](ChunkWriter& w) {
        ChatStream out(info);
        if (!w.write(out.start())) {
            ++counters_.streams_disconnected;
            return;
        }
        while (!out.done()) {
            std::vector<engine::StreamEvent> events;
            if (!next_events(*stream, events, [&] { return w.write(": keep-alive\n\n"); }, options_.stall_timeout_s)) {
                ++counters_.streams_disconnected;
                return;
            }
            for (auto& e : events) {
                const std::string sse = out.add(e);
                if (out.done()) guard->finished = true;
                if (!sse.empty() && !w.write(sse)) {
                    ++counters_.streams_disconnected;
                    return;
                }
            }
        }
    };
    return r;
}

HttpResponse OpenAiServer::completions(const HttpRequest& req) {
    CompletionRequest cr = parse_completion_request(req.body);
    std::vector<int32_t> prompt = cr.prompt_tokens;
    std::string prompt_text = cr.prompt;
    if (prompt.empty()) {
        text::EncodeOptions enc;
        enc.bos = true;
        prompt = tokenizer_.encode(cr.prompt, enc);
    } else {
        for (int32_t t : prompt)
            if (t >= tokenizer_.n_vocab()) throw ApiError(400, cat("token id ", t, " is not in the vocabulary"), "prompt");
        prompt_text = tokenizer_.decode(prompt);
    }
    const std::shared_ptr<engine::RequestStream> stream = submit(make_generation(cr.sampling, std::move(prompt)));
    const std::string id = random_id("cmpl-");
    const int64_t created = unix_now();
    const std::string model = options_.model_name;
    const bool want_logprobs = cr.sampling.top_logprobs >= 0;
    const std::string echo = cr.echo ? prompt_text : std::string();

    // Legacy logprobs shape: parallel arrays.
    struct Lp {
        Json tokens = Json::array(), token_logprobs = Json::array(), top = Json::array(), offsets = Json::array();
        int64_t offset = 0;
        void add(const text::Tokenizer& tok, const engine::TokenLogprob& lp) {
            const std::string_view b = tok.token_bytes(lp.id);
            tokens.push_back(std::string(b));
            token_logprobs.push_back(lp.logprob);
            Json t = Json::object();
            for (const auto& [id, l] : lp.top) t[std::string(tok.token_bytes(id))] = l;
            top.push_back(std::move(t));
            offsets.push_back(offset);
            offset += static_cast<int64_t>(b.size());
        }
        Json json() const {
            return Json{{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
        }
    };

    if (!cr.sampling.stream) {
        struct Acc {
            std::string text;
            Lp lp;
        };
        auto acc = std::make_shared<Acc>();
        acc->text = echo;
        acc->lp.offset = static_cast<int64_t>(echo.size());
        return whole_reply(
            stream,
            [this, acc](const engine::StreamEvent& e) {
                acc->text += e.text;
                if (e.logprob) acc->lp.add(tokenizer_, *e.logprob);
            },
            [acc, id, created, model, want_logprobs](const engine::StreamEvent& end) {
                Json choice{{"text", acc->text}, {"index", 0}, {"logprobs", want_logprobs ? acc->lp.json() : Json(nullptr)},
                            {"finish_reason", openai_finish_reason(end.finish)}};
                return Json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                            {"choices", Json::array({choice})}, {"usage", usage_json(end)}};
            });
    }

    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    const bool include_usage = cr.sampling.include_usage;
    auto guard = std::make_shared<CancelGuard>();
    guard->stream = stream;
    r.stream = [this, stream, guard, id, created, model, want_logprobs, include_usage, echo](ChunkWriter& w) {
        Sse sse{w};
        auto chunk = [&](const std::string& text, Json finish, Json logprobs) {
            Json choice{{"text", text}, {"index", 0}, {"logprobs", std::move(logprobs)}, {"finish_reason", std::move(finish)}};
            return Json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                        {"choices", Json::array({choice})}};
        };
        if (!echo.empty() && !sse.send(chunk(echo, nullptr, nullptr))) return;
        for (bool done = false; !done;) {
            std::vector<engine::StreamEvent> events;
            if (!next_events(*stream, events, [&] { return w.write(": keep-alive\n\n"); }, options_.stall_timeout_s)) {
                ++counters_.streams_disconnected;
                return;
            }
            for (auto& e : events) {
                if (!e.text.empty() || e.logprob) {
                    Json lpj = nullptr;
                    if (e.logprob) {
                        Lp lp;
                        lp.add(tokenizer_, *e.logprob);
                        lpj = lp.json();
                    }
                    if (!sse.send(chunk(e.text, nullptr, lpj))) {
                        ++counters_.streams_disconnected;
                        return;
                    }
                }
                if (e.done) {
                    done = true;
                    if (!engine::ended_normally(e.finish)) {
                        // Only StopReason::error carries a message; a shutdown (or a cancel)
                        // must still say why the stream ended.
                        sse.send(Json::parse(e.finish == engine::StopReason::error
                                                 ? error_body(500, "generation failed: " + e.error)
                                                 : error_body(503, "the server is shutting down")));
                        guard->finished = true;
                        return;
                    }
                    if (!sse.send(chunk("", openai_finish_reason(e.finish), nullptr))) return;
                    if (include_usage && !sse.send(Json{{"id", id}, {"object", "text_completion"}, {"created", created},
                                                        {"model", model}, {"choices", Json::array()}, {"usage", usage_json(e)}}))
                        return;
                    guard->finished = true;
                    sse.done();
                }
            }
        }
        (void)want_logprobs;
    };
    return r;
}

}  // namespace scout::server
