// The OpenAI-compatible endpoints on top of the scheduler (docs/server.md):
//   POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics, GET /.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/scheduler.hpp"
#include "base/thread_pool.hpp"
#include "vision/vision_tower.hpp"
#include "sample/sampling_params.hpp"
#include "server/http.hpp"
#include "server/openai_request.hpp"
#include "text/tokenizer.hpp"

namespace scout::server {

struct ServerOptions {
    std::string model_name = "scout";
    std::string api_key;                   // empty: no authentication
    SamplingParams default_sampling;       // generation_config.json defaults (temperature, top_p, ...)
    std::vector<int32_t> stop_tokens;      // <|eot|>, <|eom|>, <|end_of_text|>, checkpoint EOS
    int64_t default_max_tokens = 0;        // when a request gives none; 0: up to the context
    std::string kv_type = "f16";           // the backend's KV element type: the kv_type label of /metrics
    std::string kv_type_global;            // the global layers' type when it differs (--kv-type-global), else empty
    int64_t kv_bytes_per_token = 0;        // KV bytes per position of the global layers (kv_size.hpp)
    int64_t kv_chunk_ring_bytes = 0;       // KV bytes of a sequence's full chunk rings
    // Cross-site and DNS-rebinding defence on the API routes: the Host header must name the bind
    // address (any loopback name or IP when it is a loopback address; anything when it is a
    // wildcard such as 0.0.0.0), and an Origin header must be the request's own origin. Entries
    // of allow_origin widen this: an origin ("http://app.example:3000"), "*" (any origin), or a
    // bare host name that the Host header may carry.
    std::string bind_host = "127.0.0.1";
    std::vector<std::string> allow_origin;
    // A request waiting this long without any progress (no token, queued or prefilling) is given
    // up: the scheduler is wedged. Progress resets it, so long replies never hit it.
    int64_t stall_timeout_s = 600;
    // The checkpoint's vision tower (docs/images.md), or null: image parts are then a 400. Image
    // parts come as base64 data: URLs; the server fetches nothing.
    std::shared_ptr<const vision::VisionTower> vision;
    int32_t image_token = -1;  // the config's image_token_index (<|patch|>)
    int vision_threads = 0;    // threads of the image encoder (0: all cores); one image is encoded at a time
};

struct ServerCounters {
    std::atomic<int64_t> requests_chat{0}, requests_completions{0}, requests_other{0};
    std::atomic<int64_t> responses_4xx{0}, responses_5xx{0};
    std::atomic<int64_t> streams_disconnected{0};
};

class OpenAiServer {
public:
    // scheduler and tokenizer must outlive this object.
    OpenAiServer(engine::Scheduler& scheduler, const text::Tokenizer& tokenizer, ServerOptions options);

    // Adds every route and the error body shape to `http`.
    void install(HttpServer& http);

    // Prometheus text exposition of the counters and scheduler state.
    std::string metrics_text() const;

private:
    HttpResponse chat(const HttpRequest& req);
    HttpResponse completions(const HttpRequest& req);
    HttpResponse models(const HttpRequest& req);
    HttpResponse metrics(const HttpRequest& req);
    engine::GenRequest make_generation(const SamplingRequest& s, std::vector<int32_t> prompt) const;
    // The rows of the messages' images, in order (a 400 naming the part when one cannot be used).
    std::vector<float> image_rows(const std::vector<text::ChatMessage>& messages) const;
    std::shared_ptr<engine::RequestStream> submit(engine::GenRequest request);
    // A non-streaming reply: collects the events (on_event), then builds the body (build).
    HttpResponse whole_reply(std::shared_ptr<engine::RequestStream> stream,
                             std::function<void(const engine::StreamEvent&)> on_event,
                             std::function<nlohmann::ordered_json(const engine::StreamEvent&)> build);
    bool authorized(const HttpRequest& req) const;
    bool same_site(const HttpRequest& req) const;  // the Host/Origin check (ServerOptions::bind_host)
    HttpResponse guarded(const HttpRequest& req, bool needs_auth, HttpResponse (OpenAiServer::*fn)(const HttpRequest&));

    // The token trie structured output masks with, built from tokenizer_ on first use.
    std::shared_ptr<const grammar::TokenTrie> token_trie() const;

    engine::Scheduler& scheduler_;
    const text::Tokenizer& tokenizer_;
    mutable std::mutex trie_mu_;
    mutable std::shared_ptr<const grammar::TokenTrie> trie_;  // guarded by trie_mu_
    ServerOptions options_;
    // The image encoder's threads (when there is a vision tower): requests with pictures take
    // turns on them, so memory stays that of one image whatever the number of connections.
    mutable std::mutex vision_mu_;
    std::unique_ptr<ThreadPool> vision_pool_;  // used under vision_mu_
    ServerCounters counters_;
    int64_t created_;  // unix time of start, reported as the model's "created"
};

}  // namespace scout::server
