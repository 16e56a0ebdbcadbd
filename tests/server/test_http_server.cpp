// The HTTP server (src/server/http.cpp) on loopback with real sockets and threads: quick routes
// answer while every handler thread is busy, a full wait queue is 429 with Retry-After, pipelined
// requests are answered in order on one connection, a streamed body arrives chunked, a client that
// never finishes its headers is cut at the deadline, stop() ends a running stream, and exceptions
// from handlers end only their own request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "server/http.hpp"

namespace scout::server {
namespace {

using namespace std::chrono_literals;

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void send_all(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }

// Reads until `count` copies of `marker` arrived, the peer closed, or 10 s passed.
std::string read_until(int fd, const std::string& marker, int count = 1) {
    std::string got;
    char buf[4096];
    for (;;) {
        int seen = 0;
        for (std::size_t p = got.find(marker); p != std::string::npos; p = got.find(marker, p + 1)) ++seen;
        if (seen >= count) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

// A server on a free port, serving on its own thread; the blocking handler waits for release().
struct TestServer {
    explicit TestServer(HttpOptions o) : http(o) {
        http.route("GET", "/health", [](const HttpRequest&) {
            HttpResponse r;
            r.body = "ok";
            return r;
        }, RouteKind::quick);
        http.route("POST", "/block", [this](const HttpRequest& req) {
            ++entered;
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return released; });
            HttpResponse r;
            r.body = "done:" + req.body;
            return r;
        });
        http.route("POST", "/echo", [](const HttpRequest& req) {
            HttpResponse r;
            r.body = "echo:" + req.body;
            return r;
        });
        http.route("POST", "/stream", [this](const HttpRequest&) {
            HttpResponse r;
            r.content_type = "text/event-stream";
            r.stream = [this](ChunkWriter& w) {
                for (int i = 0; i < 3; ++i) w.write("part" + std::to_string(i) + ";");
                std::unique_lock lock(mu);  // then wait for release (or for stop(), whose writes fail)
                while (!released && w.write(".")) cv.wait_for(lock, 20ms);
            };
            return r;
        });
        http.route("POST", "/throw", [](const HttpRequest&) -> HttpResponse { throw Error("handler fault"); });
        http.route("POST", "/throw-mid-stream", [](const HttpRequest&) {
            HttpResponse r;
            r.stream = [](ChunkWriter& w) {
                w.write("first;");
                throw 42;  // not even a std::exception
            };
            return r;
        });
        port = http.bind();
        thread = std::thread([this] { http.serve(); });
    }
    ~TestServer() {
        release();
        http.stop();
        thread.join();
    }
    void release() {
        std::lock_guard lock(mu);
        released = true;
        cv.notify_all();
    }

    HttpServer http;
    int port = 0;
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    std::atomic<int> entered{0};
};

std::string post(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpServer, QuickRoutesAnswerWhileHandlersAreBusyAndAFullQueueIs429) {
    HttpOptions o;
    o.port = 0;
    o.n_threads = 1;
    o.max_waiting = 1;
    TestServer s(o);
    const int busy = connect_to(s.port);
    send_all(busy, post("/block", "a"));
    while (s.entered.load() == 0) std::this_thread::sleep_for(1ms);
    const int waiting = connect_to(s.port);
    send_all(waiting, post("/block", "b"));
    std::this_thread::sleep_for(100ms);  // the second is queued
    const int refused = connect_to(s.port);
    send_all(refused, post("/block", "c"));
    const std::string r429 = read_until(refused, "\r\n\r\n");
    EXPECT_EQ(r429.rfind("HTTP/1.1 429 ", 0), 0u) << r429;
    EXPECT_NE(r429.find("Retry-After: 1\r\n"), std::string::npos) << r429;
    const int health = connect_to(s.port);
    const auto t0 = std::chrono::steady_clock::now();
    send_all(health, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string h = read_until(health, "ok");
    EXPECT_EQ(h.rfind("HTTP/1.1 200 ", 0), 0u) << h;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    s.release();
    EXPECT_NE(read_until(busy, "done:a").find("done:a"), std::string::npos);
    EXPECT_NE(read_until(waiting, "done:b").find("done:b"), std::string::npos);
    for (int fd : {busy, waiting, refused, health}) ::close(fd);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
    HttpOptions o;
    o.port = 0;
    TestServer s(o);
    const int fd = connect_to(s.port);
    send_all(fd, post("/echo", "one") + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + post("/echo", "three"));
    const std::string got = read_until(fd, "echo:three");
    const auto a = got.find("echo:one"), b = got.find("\r\n\r\nok"), c = got.find("echo:three");
    ASSERT_NE(a, std::string::npos) << got;
    ASSERT_NE(b, std::string::npos) << got;
    ASSERT_NE(c, std::string::npos) << got;
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    ::close(fd);
}

TEST(HttpServer, StreamsAreChunkedAndStopEndsThem) {
    HttpOptions o;
    o.port = 0;
    auto s = std::make_unique<TestServer>(o);
    const int fd = connect_to(s->port);
    send_all(fd, post("/stream", ""));
    const std::string got = read_until(fd, "part2;");
    EXPECT_NE(got.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("6\r\npart0;\r\n"), std::string::npos) << got;
    // The stream is still open (writing a dot every 20 ms); stop() must end it, not wait on it.
    const auto t0 = std::chrono::steady_clock::now();
    s->http.stop();
    s->thread.join();
    s->thread = std::thread([] {});
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
    s.reset();
    ::close(fd);
}

// Exceptions escaping a handler become a 500; escaping a stream's writer (the status line is sent
// by then) they end that connection only. The server goes on either way.
TEST(HttpServer, HandlerExceptionsEndOnlyTheirRequest) {
    HttpOptions o;
    o.port = 0;
    TestServer s(o);
    const int a = connect_to(s.port);
    send_all(a, post("/throw", ""));
    const std::string ra = read_until(a, "handler fault");
    EXPECT_EQ(ra.rfind("HTTP/1.1 500 ", 0), 0u) << ra;
    const int b = connect_to(s.port);
    send_all(b, post("/throw-mid-stream", ""));
    const std::string rb = read_until(b, "0\r\n\r\n");  // reads to the close: no final chunk
    EXPECT_NE(rb.find("first;"), std::string::npos) << rb;
    EXPECT_EQ(rb.find("0\r\n\r\n"), std::string::npos) << rb;
    const int c = connect_to(s.port);
    send_all(c, post("/echo", "still here"));
    EXPECT_NE(read_until(c, "echo:still here").find("echo:still here"), std::string::npos);
    for (int fd : {a, b, c}) ::close(fd);
}

TEST(HttpServer, UnfinishedHeadersAreCutAtTheDeadline) {
    HttpOptions o;
    o.port = 0;
    o.header_timeout_s = 1;
    TestServer s(o);
    const int fd = connect_to(s.port);
    const auto t0 = std::chrono::steady_clock::now();
    send_all(fd, "GET /health HTTP/1.1\r\nX-a: ");
    std::atomic<bool> closed{false};
    std::thread dribble([&] {  // a byte every 200 ms does not extend the deadline
        while (!closed.load() && ::send(fd, "a", 1, MSG_NOSIGNAL) == 1) std::this_thread::sleep_for(200ms);
    });
    char c;
    EXPECT_LE(::recv(fd, &c, 1, 0), 0);  // closed by the server (no answer to a half request)
    closed.store(true);
    const auto waited = std::chrono::steady_clock::now() - t0;
    dribble.join();
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 5s);
    ::close(fd);
}

}  // namespace
}  // namespace scout::server
