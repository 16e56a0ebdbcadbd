#include "server/http.hpp"

#include <httplib.h>

#include <cctype>

#include "base/error.hpp"

namespace scout::server {

namespace {

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

    void apply(const HttpResponse& r, httplib::Response& res) {
        res.status = r.status;
        for (const auto& [k, v] : r.headers) res.set_header(k, v);
        if (r.stream) {
            auto fn = r.stream;
            res.set_chunked_content_provider(r.content_type, [fn](std::size_t, httplib::DataSink& sink) {
                SinkWriter w(sink);
                fn(w);
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
    auto fn = [this, handler = std::move(handler), method](const httplib::Request& req, httplib::Response& res) {
        HttpRequest r;
        r.method = method;
        r.path = req.path;
        r.body = req.body;
        for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
        impl_->apply(handler(r), res);
    };
    auto& s = impl_->server;
    // httplib matches paths as regular expressions; ours are literal.
    if (method == "GET") s.Get(path, fn);
    else if (method == "POST") s.Post(path, fn);
    else throw Error(cat("unsupported HTTP method ", method));
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
