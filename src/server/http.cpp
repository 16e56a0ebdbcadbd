#include "server/http.hpp"

#include <httplib.h>

#include <cctype>
#include <cstdint>
#include <cstdio>

#include "base/error.hpp"

namespace scout::server {

namespace {

// A refused request's body up to this size is read and dropped before the answer (see route()).
constexpr uint64_t kDrainBytes = 64 << 10;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

class SinkWriter final : public ChunkWriter {
public:
    explicit SinkWriter(httplib::DataSink& sink) : sink_(sink) {}
    bool write(std::string_view data) override {
        if (!ok_) return false;
        if (!data.empty()) ok_ = sink_.write(data.data(), data.size());
        return ok_;
    }
    bool ok() const { return ok_; }

private:
    httplib::DataSink& sink_;
    bool ok_ = true;
};

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

struct HttpServer::Impl {
    HttpOptions options;
    httplib::Server server;
    std::function<HttpResponse(int, const std::string&)> error_responder;
    std::function<bool(const HttpRequest&, HttpResponse&)> before_body;

    void apply(const HttpResponse& r, httplib::Response& res) {
        res.status = r.status;
        for (const auto& [k, v] : r.headers) res.set_header(k, v);
        if (r.stream) {
            auto fn = r.stream;
            res.set_chunked_content_provider(r.content_type, [fn](std::size_t, httplib::DataSink& sink) {
                SinkWriter w(sink);
                // The status line is already sent, so an exception from the writer cannot become
                // an error response: it is logged and the connection closed (the client sees a
                // body without its final chunk), and the process goes on.
                try {
                    fn(w);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "scout: response writer failed: %s\n", e.what());
                    return false;
                } catch (...) {
                    std::fprintf(stderr, "scout: response writer failed\n");
                    return false;
                }
                if (w.ok()) sink.done();
                return w.ok();
            });
        } else {
            res.set_content(r.body, r.content_type.c_str());
        }
    }
};

HttpServer::HttpServer(HttpOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    auto& s = impl_->server;
    const int n_threads = impl_->options.n_threads;
    s.new_task_queue = [n_threads] { return new httplib::ThreadPool(static_cast<std::size_t>(n_threads)); };
    s.set_payload_max_length(impl_->options.max_body_bytes);
    s.set_read_timeout(impl_->options.read_timeout_s, 0);
    s.set_write_timeout(impl_->options.read_timeout_s, 0);
    s.set_keep_alive_timeout(impl_->options.keep_alive_timeout_s);
    s.set_tcp_nodelay(true);
    // httplib's default options add SO_REUSEPORT, with which a second server on the same port
    // starts too and the kernel splits connections between the two. SO_REUSEADDR alone still
    // allows a restart while old connections sit in TIME_WAIT, but bind() fails on a live port.
    s.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // Errors httplib raises itself (no route, body too large, unreadable request) get our body
    // shape; responses our handlers built already have a body and pass through untouched.
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || !impl_->error_responder) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = res.status == 404 ? "no such endpoint"
                          : res.status == 413 ? "the request body is too large"
                          : res.status == 405 ? "method not allowed"
                                              : "the request could not be read";
        impl_->apply(impl_->error_responder(res.status, msg), res);
        return httplib::Server::HandlerResponse::Handled;
    }));
    // "Expect: 100-continue" is answered 100 only when the body would be read: a missing key,
    // a foreign Host/Origin or a Content-Length past the limit get their final answer instead.
    s.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
        HttpRequest r;
        r.method = req.method;
        r.path = req.path;
        for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
        HttpResponse out;
        if (req.method == "POST" && impl_->before_body && !impl_->before_body(r, out)) {
            out.headers.emplace_back("Connection", "close");
            impl_->apply(out, res);
            return out.status;
        }
        if (req.get_header_value<uint64_t>("Content-Length") > impl_->options.max_body_bytes) {
            if (impl_->error_responder) out = impl_->error_responder(413, "the request body is too large");
            else out.status = 413;
            out.headers.emplace_back("Connection", "close");
            impl_->apply(out, res);
            return 413;
        }
        return 100;
    });
    s.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string msg = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            msg = e.what();
        } catch (...) {
        }
        if (impl_->error_responder) impl_->apply(impl_->error_responder(500, msg), res);
        else res.status = 500;
    });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(const std::string& method, const std::string& path, HttpHandler handler) {
    auto& s = impl_->server;
    // httplib matches paths as regular expressions; ours are literal.
    if (method == "GET") {
        s.Get(path, [this, handler = std::move(handler), method](const httplib::Request& req, httplib::Response& res) {
            HttpRequest r;
            r.method = method;
            r.path = req.path;
            for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
            impl_->apply(handler(r), res);
        });
    } else if (method == "POST") {
        // POST bodies are read here, not by httplib, so that: the before-body check (the API
        // key) answers before any byte of the body is buffered; the size limit holds for chunked
        // bodies too (httplib bounds only Content-Length); and any Content-Type is read as the
        // body (httplib caps application/x-www-form-urlencoded, curl -d's default, at 8 KB).
        s.Post(path, [this, handler = std::move(handler), method](const httplib::Request& req, httplib::Response& res,
                                                                   const httplib::ContentReader& reader) {
            HttpRequest r;
            r.method = method;
            r.path = req.path;
            for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
            bool body_touched = false;
            const auto refuse = [&](HttpResponse out) {
                // The body is left unread, so the connection cannot be reused. A small body that
                // is already on its way is read and dropped first: closing a socket with unread
                // data sends a reset, which can destroy the answer before the client reads it.
                const uint64_t announced = req.get_header_value<uint64_t>("Content-Length");
                const bool plain = req.get_header_value("Transfer-Encoding").empty() && !req.is_multipart_form_data();
                if (plain && announced > 0 && announced <= kDrainBytes && !body_touched)
                    reader([](const char*, std::size_t) { return true; });
                out.headers.emplace_back("Connection", "close");
                impl_->apply(out, res);
            };
            if (impl_->before_body) {
                HttpResponse early;
                if (!impl_->before_body(r, early)) return refuse(std::move(early));
            }
            const auto error = [&](int status, const std::string& msg) {
                if (impl_->error_responder) return impl_->error_responder(status, msg);
                HttpResponse e;
                e.status = status;
                e.content_type = "text/plain";
                e.body = msg;
                return e;
            };
            if (req.is_multipart_form_data()) return refuse(error(415, "multipart bodies are not accepted; send JSON"));
            const std::size_t limit = impl_->options.max_body_bytes;
            bool too_large = false;
            body_touched = true;
            const bool ok = reader([&](const char* data, std::size_t n) {
                if (n > limit - r.body.size()) {
                    too_large = true;
                    return false;
                }
                r.body.append(data, n);
                return true;
            });
            if (too_large || res.status == 413) return refuse(error(413, "the request body is too large"));
            if (!ok) return refuse(error(400, "the request could not be read"));
            impl_->apply(handler(r), res);
        });
    } else {
        throw Error(cat("unsupported HTTP method ", method));
    }
}

void HttpServer::set_before_body(std::function<bool(const HttpRequest&, HttpResponse&)> f) {
    impl_->before_body = std::move(f);
}

void HttpServer::set_error_responder(std::function<HttpResponse(int, const std::string&)> f) {
    impl_->error_responder = std::move(f);
}

int HttpServer::bind() {
    auto& s = impl_->server;
    const auto& o = impl_->options;
    int port = o.port;
    if (o.port == 0) {
        port = s.bind_to_any_port(o.host);
        check(port > 0, cat("cannot listen on ", o.host, ": no free port"));
    } else {
        check(s.bind_to_port(o.host, o.port), cat("cannot listen on ", o.host, ":", o.port, " (in use, or not an address of this machine)"));
    }
    return port;
}

void HttpServer::serve() { impl_->server.listen_after_bind(); }

void HttpServer::stop() {
    if (impl_->server.is_running()) impl_->server.stop();
}

}  // namespace scout::server
