// The one wrapper over cpp-httplib (Debian's libcpp-httplib-dev): routes, request bodies with a
// size limit, plain and chunked (streamed) responses. Nothing else in scout includes httplib.h.
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
    // it runs on the connection's thread until it returns.
    std::function<void(ChunkWriter&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                       // 0: any free port (see bind())
    std::size_t max_body_bytes = 8 << 20;  // larger bodies get 413
    int n_threads = 64;                    // connections served at once (streams hold one each)
    int read_timeout_s = 10;               // a client silent this long mid-request is dropped
    int keep_alive_timeout_s = 5;
};

class HttpServer {
public:
    explicit HttpServer(HttpOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void route(const std::string& method, const std::string& path, HttpHandler handler);
    // Builds the body of errors raised by the HTTP layer itself (404, 413, 400 on a bad request
    // line, 500 on an escaped exception) from the status and a short message.
    void set_error_responder(std::function<HttpResponse(int status, const std::string& message)> f);

    // Called for every POST with the request line and headers (no body yet); returning false
    // sends `out` instead and never reads the body (a 401 before a large upload is buffered).
    void set_before_body(std::function<bool(const HttpRequest& headers_only, HttpResponse& out)> f);

    // Binds the listening socket; returns the port (useful with port 0). Throws scout::Error.
    int bind();
    // Serves until stop() (from another thread or a signal-safe watcher). Call after bind().
    void serve();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace scout::server
