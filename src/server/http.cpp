#include "server/http.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/error.hpp"
#include "server/http_request_reader.hpp"

namespace scout::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadPiece = 16 << 10;
// A closing connection reads and drops at most this much (for at most 2 s) before it closes.
constexpr std::size_t kLingerBytes = 16 << 20;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool says_close(const HttpResponse& r) {
    for (const auto& [k, v] : r.headers)
        if (iequals(k, "Connection") && iequals(v, "close")) return true;
    return false;
}

// The status line and headers of `r`; a streamed body is announced as chunked, a plain one by length.
std::string serialize_head(const HttpResponse& r, bool keep_alive) {
    const auto reason = beast::http::obsolete_reason(static_cast<beast::http::status>(r.status));
    std::string s = cat("HTTP/1.1 ", r.status, " ", reason.empty() ? std::string("Unknown") : std::string(reason.data(), reason.size()), "\r\n");
    if (!r.content_type.empty()) s += cat("Content-Type: ", r.content_type, "\r\n");
    for (const auto& [k, v] : r.headers)
        if (!iequals(k, "Connection")) s += cat(k, ": ", v, "\r\n");
    if (r.stream) s += "Transfer-Encoding: chunked\r\n";
    else s += cat("Content-Length: ", r.body.size(), "\r\n");
    s += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    return s;
}

// Bytes of request bodies held at once, over all connections.
class BodyBudget {
public:
    explicit BodyBudget(std::size_t total) : total_(total) {}
    bool take(std::size_t n) {
        std::size_t used = used_.load();
        do {
            if (n > total_ - used) return false;
        } while (!used_.compare_exchange_weak(used, used + n));
        return true;
    }
    void give(std::size_t n) { used_.fetch_sub(n); }

private:
    std::size_t total_;
    std::atomic<std::size_t> used_{0};
};

// Handler threads, a bounded wait queue, and a deadline on the wait.
class HandlerPool {
public:
    struct Task {
        std::function<void()> run;
        std::function<void()> expire;  // instead of run when it waited too long
        Clock::time_point queued;
    };

    HandlerPool(int n_threads, int max_waiting, std::chrono::seconds max_wait)
        : n_threads_(n_threads), max_waiting_(static_cast<std::size_t>(max_waiting)), max_wait_(max_wait) {}
    ~HandlerPool() { stop(); }

    void start() {
        std::lock_guard lock(mu_);
        if (stopping_ || !threads_.empty()) return;
        for (int i = 0; i < n_threads_; ++i) threads_.emplace_back([this] { work(); });
    }

    // False when the queue is full (or the pool stopped): the caller answers 429.
    bool submit(Task t) {
        std::lock_guard lock(mu_);
        if (stopping_ || queue_.size() >= idle_ + max_waiting_) return false;
        t.queued = Clock::now();
        queue_.push_back(std::move(t));
        cv_.notify_one();
        return true;
    }

    // Drops the waiting tasks and waits for the running ones; if they are not done within
    // `grace`, calls `overdue` (which must make them end) and waits again.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0), const std::function<void()>& overdue = {}) {
        std::deque<Task> dropped;
        std::vector<std::thread> threads;
        bool late = false;
        {
            std::unique_lock lock(mu_);
            stopping_ = true;
            dropped.swap(queue_);
            threads.swap(threads_);
            cv_.notify_all();
            late = !done_.wait_for(lock, grace, [&] { return running_ == 0; });
        }
        if (late && overdue) overdue();
        for (auto& t : threads) t.join();
    }

private:
    void work() {
        std::unique_lock lock(mu_);
        for (;;) {
            ++idle_;
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            --idle_;
            if (stopping_) return;
            Task t = std::move(queue_.front());
            queue_.pop_front();
            ++running_;
            lock.unlock();
            if (Clock::now() - t.queued > max_wait_) t.expire();
            else t.run();
            t = {};  // the task's connection is released outside the lock
            lock.lock();
            if (--running_ == 0) done_.notify_all();
        }
    }

    const int n_threads_;
    const std::size_t max_waiting_;
    const std::chrono::seconds max_wait_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::condition_variable done_;  // running_ fell to 0
    std::deque<Task> queue_;
    int running_ = 0;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

struct Route {
    std::map<std::string, std::pair<HttpHandler, RouteKind>> by_method;
};

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

class Session;

struct HttpServer::Impl {
    explicit Impl(HttpOptions o)
        : options(std::move(o)),
          limits{options.max_header_bytes, options.max_headers, options.max_body_bytes},
          budget(options.max_body_bytes_total),
          pool(options.n_threads, options.max_waiting, std::chrono::seconds(options.max_wait_s)) {}

    HttpOptions options;
    HttpLimits limits;
    std::unordered_map<std::string, Route> routes;
    std::function<HttpResponse(int, const std::string&)> error_responder;
    std::function<bool(const HttpRequest&, HttpResponse&)> before_body;
    std::atomic<bool> stopping{false};

    // Declared before the I/O context: connections still alive when it is destroyed unregister
    // themselves and give back their body bytes here.
    BodyBudget budget;
    std::mutex sessions_mu;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

    net::io_context ioc;
    // The acceptor, its retry timer and stop()'s close of them run on one strand: the I/O threads
    // run handlers concurrently, and an accept completing while stop() closed the acceptor on
    // another thread was a data race (TSan, HttpServer.StreamsAreChunkedAndStopEndsThem).
    net::strand<net::io_context::executor_type> accept_strand = net::make_strand(ioc);
    std::optional<tcp::acceptor> acceptor;
    net::steady_timer accept_retry{accept_strand};
    // Destroyed first: a dropped task releases its connection while the I/O context still exists.
    HandlerPool pool;

    HttpResponse error(int status, const std::string& message, bool retry_after = false) const {
        HttpResponse e;
        if (error_responder) {
            e = error_responder(status, message);
        } else {
            e.status = status;
            e.content_type = "text/plain";
            e.body = message;
        }
        if (retry_after) e.headers.emplace_back("Retry-After", "1");
        return e;
    }

    void accept();
};

// One connection: reads requests one after another (pipelined ones included, from the same
// buffer), under deadlines, and writes their answers. Everything but write_blocking() runs on the
// connection's strand.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(HttpServer::Impl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {}

    ~Session() {
        if (budget_held_ > 0) srv_.budget.give(budget_held_);
        std::lock_guard lock(srv_.sessions_mu);
        srv_.sessions.erase(this);
    }

    void start() { next_request(); }
    auto executor() { return stream_.get_executor(); }

    // Closes the connection unless a handler is answering on it (that one closes when done).
    void close_if_idle() {
        if (!busy_) close();
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

    // After the last answer on a connection: stop sending, then read and drop what the client
    // still sends, for a moment, before closing. Closing a socket with unread data sends a reset,
    // which can destroy the answer (a 413 to a client still uploading) before the client reads it.
    void linger_close() {
        if (closed_) return;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return close();
        lingered_ = 0;
        stream_.expires_after(std::chrono::seconds(2));
        drain();
    }

    // From a handler thread: writes `bytes` and waits; false once the client is gone or too slow.
    bool write_blocking(const std::string& bytes) {
        std::promise<bool> done;
        auto result = done.get_future();
        net::post(stream_.get_executor(), [self = shared_from_this(), &bytes, &done] {
            if (self->closed_) return done.set_value(false);
            self->stream_.expires_after(std::chrono::seconds(self->srv_.options.write_timeout_s));
            net::async_write(self->stream_, net::buffer(bytes),
                             [&done](beast::error_code ec, std::size_t) { done.set_value(!ec); });
        });
        return result.get();
    }

private:
    class Writer final : public ChunkWriter {
    public:
        explicit Writer(Session& s) : s_(s) {}
        bool write(std::string_view data) override {
            if (!ok_) return false;
            if (data.empty()) return true;  // an empty chunk would end the body
            char size[24];
            const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
            std::string frame(size, static_cast<std::size_t>(n));
            frame.append(data);
            frame += "\r\n";
            ok_ = s_.write_blocking(frame);
            return ok_;
        }
        bool ok() const { return ok_; }

    private:
        Session& s_;
        bool ok_ = true;
    };

    void next_request() {
        if (budget_held_ > 0) srv_.budget.give(std::exchange(budget_held_, 0));
        if (srv_.stopping.load() || closed_) return close();
        reader_.emplace(srv_.limits);
        route_ = nullptr;
        request_start_ = Clock::now();
        parse();
    }

    void drain() {
        buffer_.clear();
        stream_.async_read_some(buffer_.prepare(kReadPiece), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->lingered_ += n;
            if (ec || self->lingered_ > kLingerBytes) return self->close();
            self->drain();
        });
    }

    std::string_view buffered() const {
        const auto d = buffer_.data();
        return {static_cast<const char*>(d.data()), d.size()};
    }

    // Feeds what is buffered to the reader and acts on where it stopped.
    void parse() {
        if (buffer_.size() > 0) buffer_.consume(reader_->feed(buffered()));
        switch (reader_->state()) {
            case RequestReader::State::need_more: return read_more();
            case RequestReader::State::header_done: return on_header();
            case RequestReader::State::complete: return on_complete();
            case RequestReader::State::failed:
                return respond(srv_.error(reader_->error_status(), reader_->error_message()), false);
        }
    }

    void read_more() {
        const auto& o = srv_.options;
        const auto now = Clock::now();
        if (!reader_->started()) {
            // Between requests: the idle keep-alive limit (the first request gets the header limit).
            stream_.expires_after(std::chrono::seconds(first_ ? o.header_timeout_s : o.keep_alive_timeout_s));
        } else if (!reader_->header_read()) {
            // The line and headers have one deadline in all: a byte every few seconds does not extend it.
            stream_.expires_at(request_start_ + std::chrono::seconds(o.header_timeout_s));
        } else {
            // A body: silent for read_timeout_s, or not done within 6 of them, and it is dropped.
            stream_.expires_at(std::min(now + std::chrono::seconds(o.read_timeout_s), body_deadline_));
        }
        stream_.async_read_some(buffer_.prepare(kReadPiece), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec) return self->close();  // timeout, end of stream or reset: nobody to answer
            if (!self->reader_->started() && self->buffer_.size() == 0) self->request_start_ = Clock::now();
            self->buffer_.commit(n);
            self->parse();
        });
    }

    void on_header() {
        first_ = false;
        body_deadline_ = Clock::now() + std::chrono::seconds(6 * srv_.options.read_timeout_s);
        const HttpRequest& r = reader_->request();
        std::optional<HttpResponse> early;  // the answer, when it comes before the body
        const auto route = srv_.routes.find(r.path);
        if (route == srv_.routes.end()) {
            early = srv_.error(404, "no such endpoint");
        } else if (const auto m = route->second.by_method.find(r.method); m == route->second.by_method.end()) {
            early = srv_.error(405, "method not allowed");
        } else {
            route_ = &m->second;
            HttpResponse out;
            if (r.method == "POST" && srv_.before_body && !srv_.before_body(r, out)) {
                early = std::move(out);
            } else if (reader_->body_too_large()) {
                early = srv_.error(413, "the request body is too large");
            } else if (reader_->has_body()) {
                const std::size_t need = reader_->chunked() ? srv_.options.max_body_bytes
                                                            : static_cast<std::size_t>(*reader_->content_length());
                if (srv_.budget.take(need)) budget_held_ = need;
                else early = srv_.error(503, "the server is reading too many request bodies at once; retry", true);
            }
        }
        // Answered without reading the body: the connection cannot be reused then, and
        // linger_close() lets the answer reach a client that is still sending.
        if (early) return respond(std::move(*early), reader_->keep_alive() && !reader_->has_body());
        reader_->read_body();
        if (reader_->expects_continue() && reader_->state() == RequestReader::State::need_more) {
            auto bytes = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
            stream_.expires_after(std::chrono::seconds(srv_.options.write_timeout_s));
            net::async_write(stream_, net::buffer(*bytes), [self = shared_from_this(), bytes](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->parse();
            });
            return;
        }
        parse();
    }

    void on_complete() {
        const bool keep_alive = reader_->keep_alive();
        HttpRequest request = reader_->take_request();
        const auto& [handler, kind] = *route_;
        if (kind == RouteKind::quick) return respond(run_handler(handler, request), keep_alive);
        auto self = shared_from_this();
        HandlerPool::Task task;
        task.run = [self, handler = handler, request = std::move(request), keep_alive] {
            self->run_pooled(handler, request, keep_alive);
        };
        task.expire = [self] {
            net::post(self->stream_.get_executor(), [self] {
                self->busy_ = false;
                self->respond(self->srv_.error(503, "the server is too busy to start this request in time; retry", true), false);
            });
        };
        busy_ = true;
        if (!srv_.pool.submit(std::move(task))) {
            busy_ = false;
            respond(srv_.error(429, "too many requests are waiting for the server; retry", true), keep_alive);
        }
    }

    HttpResponse run_handler(const HttpHandler& handler, const HttpRequest& request) {
        try {
            return handler(request);
        } catch (const std::exception& e) {
            return srv_.error(500, e.what());
        } catch (...) {
            return srv_.error(500, "internal error");
        }
    }

    // On a handler thread.
    void run_pooled(const HttpHandler& handler, const HttpRequest& request, bool keep_alive) {
        HttpResponse r = run_handler(handler, request);
        keep_alive = keep_alive && !says_close(r) && !srv_.stopping.load();
        bool ok = write_blocking(serialize_head(r, keep_alive) + (r.stream ? std::string() : r.body));
        if (ok && r.stream) {
            Writer w(*this);
            // The status line is already sent, so an exception from the writer cannot become an
            // error response: it is logged and the connection closed (the client sees a body
            // without its final chunk), and the process goes on.
            try {
                r.stream(w);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "scout: response writer failed: %s\n", e.what());
                ok = false;
            } catch (...) {
                std::fprintf(stderr, "scout: response writer failed\n");
                ok = false;
            }
            ok = ok && w.ok() && write_blocking("0\r\n\r\n");
        }
        net::post(stream_.get_executor(), [self = shared_from_this(), go_on = ok && keep_alive] {
            self->busy_ = false;
            if (go_on) self->next_request();
            else self->linger_close();
        });
    }

    // On the strand: writes a whole (not streamed) answer, then reads the next request or closes.
    void respond(HttpResponse r, bool keep_alive) {
        keep_alive = keep_alive && !says_close(r) && !srv_.stopping.load();
        if (r.stream) {  // quick routes and early answers are never streamed
            r.stream = nullptr;
            r.status = 500;
            r.body = "internal error: a streamed answer on an I/O thread";
        }
        auto bytes = std::make_shared<std::string>(serialize_head(r, keep_alive) + r.body);
        stream_.expires_after(std::chrono::seconds(srv_.options.write_timeout_s));
        net::async_write(stream_, net::buffer(*bytes), [self = shared_from_this(), bytes, keep_alive](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            if (!keep_alive) return self->linger_close();
            self->next_request();
        });
    }

    HttpServer::Impl& srv_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<RequestReader> reader_;
    const std::pair<HttpHandler, RouteKind>* route_ = nullptr;
    Clock::time_point request_start_;
    Clock::time_point body_deadline_;
    std::size_t budget_held_ = 0;
    std::size_t lingered_ = 0;
    bool first_ = true;  // no request has been read on this connection yet
    bool closed_ = false;
    bool busy_ = false;  // a handler thread is answering the current request
};

void HttpServer::Impl::accept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (!acceptor->is_open() || stopping.load()) return;
        if (ec) {
            // Out of file descriptors and the like: wait a little rather than spin.
            accept_retry.expires_after(std::chrono::milliseconds(50));
            accept_retry.async_wait([this](beast::error_code) {
                if (!stopping.load()) accept();
            });
            return;
        }
        std::shared_ptr<Session> s;
        {
            std::lock_guard lock(sessions_mu);
            if (static_cast<int>(sessions.size()) < options.max_connections) {
                beast::error_code ignored;
                socket.set_option(tcp::no_delay(true), ignored);
                s = std::make_shared<Session>(*this, std::move(socket));
                sessions.emplace(s.get(), s);
            }
        }
        if (s) net::post(s->executor(), [s] { s->start(); });
        else socket.close();  // over max_connections: closed at once
        accept();
    });
}

HttpServer::HttpServer(HttpOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(const std::string& method, const std::string& path, HttpHandler handler, RouteKind kind) {
    if (method != "GET" && method != "POST") throw Error(cat("unsupported HTTP method ", method));
    impl_->routes[path].by_method[method] = {std::move(handler), kind};
}

void HttpServer::set_before_body(std::function<bool(const HttpRequest&, HttpResponse&)> f) {
    impl_->before_body = std::move(f);
}

void HttpServer::set_error_responder(std::function<HttpResponse(int, const std::string&)> f) {
    impl_->error_responder = std::move(f);
}

int HttpServer::bind() {
    const auto& o = impl_->options;
    const std::string where = cat(o.host, ":", o.port);
    beast::error_code ec;
    tcp::resolver resolver(impl_->ioc);
    const auto found = resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    check(!ec && !found.empty(), cat("cannot listen on ", where, ": ", ec ? ec.message() : "no such address"));
    const tcp::endpoint endpoint = found.begin()->endpoint();
    auto& a = impl_->acceptor.emplace(impl_->accept_strand);
    a.open(endpoint.protocol(), ec);
    // SO_REUSEADDR alone: a restart works while old connections sit in TIME_WAIT, but bind()
    // fails on a port another server is listening on (SO_REUSEPORT would split its traffic).
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        impl_->acceptor.reset();
        throw Error(cat("cannot listen on ", where, " (in use, or not an address of this machine): ", ec.message()));
    }
    return a.local_endpoint().port();
}

void HttpServer::serve() {
    check(impl_->acceptor.has_value(), "HttpServer::serve before bind");
    if (impl_->stopping.load()) return;
    impl_->pool.start();
    impl_->accept();
    auto guard = net::make_work_guard(impl_->ioc);  // until stop(): handler threads post their writes here
    std::vector<std::thread> io;
    for (int i = 1; i < impl_->options.io_threads; ++i) io.emplace_back([this] { impl_->ioc.run(); });
    impl_->ioc.run();
    for (auto& t : io) t.join();
}

void HttpServer::stop() {
    auto& m = *impl_;
    if (m.stopping.exchange(true)) return;
    net::post(m.accept_strand, [&m] {
        beast::error_code ignored;
        if (m.acceptor) m.acceptor->close(ignored);
        m.accept_retry.cancel();
    });
    const auto close_all = [&m](bool idle_only) {
        std::vector<std::shared_ptr<Session>> open;
        {
            std::lock_guard lock(m.sessions_mu);
            for (auto& [_, w] : m.sessions)
                if (auto s = w.lock()) open.push_back(std::move(s));
        }
        for (auto& s : open)
            net::post(s->executor(), [s, idle_only] { idle_only ? s->close_if_idle() : s->close(); });
    };
    // Idle connections close now. A handler still answering gets a moment to finish (the caller
    // has stopped what it waits on, so a stream ends with its "shutting down" error chunk); one
    // that is not done within 5 s (a client that reads nothing) has its connection closed, which
    // fails its writes. Waiting handlers are dropped. The I/O threads run meanwhile, since a
    // handler's write waits on them.
    close_all(true);
    m.pool.stop(std::chrono::seconds(5), [&] { close_all(false); });
    close_all(false);
    m.ioc.stop();
}

}  // namespace scout::server
