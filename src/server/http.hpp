// scout's HTTP/1.1 server, on Boost.Asio with Boost.Beast's request parser (Debian's libboost-dev):
// routes, request bodies with a size limit, plain and chunked (streamed) responses. Built for a
// hostile network: every connection is read asynchronously on a few I/O threads under deadlines, so
// slow or silent clients hold a socket and a few KB, never a thread; handlers that block (a
// generation) run on a bounded pool with a bounded wait queue; cheap routes (/health, /metrics) are
// answered on the I/O threads, so they answer while every handler is busy. Nothing else in scout
// includes Asio or Beast.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scout::server {

struct HttpRequest {
    std::string method;
    std::string path;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // First value of a header (case-insensitive name), or "" when absent.
    std::string header(std::string_view name) const;
};

// Streamed response bodies write through this; write() returns false once the client is gone.
class ChunkWriter {
public:
    virtual ~ChunkWriter() = default;
    virtual bool write(std::string_view data) = 0;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // When set, the body is produced by this function instead (chunked transfer encoding);
    // it runs on the handler's thread until it returns.
    std::function<void(ChunkWriter&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                        // 0: any free port (see bind())
    std::size_t max_body_bytes = 8 << 20;   // larger bodies get 413 (chunked ones counted as read)
    std::size_t max_header_bytes = 16 << 10;  // request line + headers; more gets 431
    std::size_t max_headers = 100;          // header lines; more gets 431
    // Bytes of request bodies held at once, over all connections (a chunked body counts as
    // max_body_bytes until it is read); a body that does not fit gets 503 + Retry-After.
    std::size_t max_body_bytes_total = 64 << 20;
    int max_connections = 1024;             // open connections; more are closed at once
    int io_threads = 2;                     // threads reading and writing every connection
    int n_threads = 64;                     // handlers run at once (each open stream holds one)
    int max_waiting = 64;                   // handlers waiting for a thread; more get 429 + Retry-After
    int max_wait_s = 30;                    // a handler waiting longer gets 503 + Retry-After
    int header_timeout_s = 10;              // a request's line and headers must arrive within this
    int read_timeout_s = 10;                // a body that stays silent this long is dropped
    int write_timeout_s = 30;               // a client that reads nothing this long is dropped
    int keep_alive_timeout_s = 5;           // an idle kept-alive connection is closed after this
};

// Where a route's handler runs.
enum class RouteKind {
    pooled,  // on a handler thread (may block: generations)
    quick,   // on the I/O thread that read it; must not block (health, metrics, static pages)
};

class HttpServer {
public:
    explicit HttpServer(HttpOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void route(const std::string& method, const std::string& path, HttpHandler handler,
               RouteKind kind = RouteKind::pooled);
    // Builds the body of errors raised by the HTTP layer itself (404, 413, 400 on a bad request
    // line, 500 on an escaped exception) from the status and a short message.
    void set_error_responder(std::function<HttpResponse(int status, const std::string& message)> f);

    // Called for every POST with the request line and headers (no body yet); returning false
    // sends `out` instead and never reads the body (a 401 before a large upload is buffered).
    // Runs on an I/O thread: it must not block.
    void set_before_body(std::function<bool(const HttpRequest& headers_only, HttpResponse& out)> f);

    // Binds the listening socket; returns the port (useful with port 0). Throws scout::Error.
    int bind();
    // Serves until stop() (from another thread or a signal-safe watcher). Call after bind().
    void serve();
    // Closes the listening socket and every connection, then waits for the running handlers
    // (their writes fail at once) and drops the waiting ones. Safe to call more than once.
    void stop();

    struct Impl;  // defined in http.cpp, with the connections it owns

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace scout::server
