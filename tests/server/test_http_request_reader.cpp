// The HTTP request reader (src/server/http_request_reader.cpp): requests split at every byte
// boundary read the same as whole ones, each limit answers its status while reading, pipelined
// requests are read one after another from the same bytes, and random mutations of valid
// requests never crash or hang it (a short fuzz run; the libFuzzer target is tests/fuzz/fuzz_http.cpp).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "request_pieces.hpp"
#include "server/http_request_reader.hpp"
#include "test_util.hpp"

namespace scout::server {
namespace {

using State = RequestReader::State;

// Reads one request from `bytes` fed in pieces of `piece`; `rest` gets what follows it.
State read_all(RequestReader& r, std::string_view bytes, std::size_t piece, std::string* rest = nullptr) {
    RequestPieces pieces(bytes, piece);
    const State st = pieces.read(r);
    if (rest) *rest = pieces.rest();
    return st;
}

const std::string kPost =
    "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
    "Content-Length: 11\r\n\r\nhello world";
const std::string kChunked =
    "POST /v1/completions HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";

TEST(HttpRequestReader, ReadsWholeAndBytewiseAlike) {
    for (const std::string& bytes : {kPost, kChunked}) {
        for (std::size_t piece : {bytes.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
            RequestReader r(HttpLimits{});
            ASSERT_EQ(read_all(r, bytes, piece), State::complete) << piece << " " << r.error_message();
            EXPECT_EQ(r.request().method, "POST");
            EXPECT_EQ(r.request().body, "hello world");
            EXPECT_TRUE(r.keep_alive());
        }
    }
    RequestReader r(HttpLimits{});
    ASSERT_EQ(read_all(r, kPost, 3), State::complete);
    EXPECT_EQ(r.request().path, "/v1/chat/completions");  // the query is not part of the route
    EXPECT_EQ(r.request().header("content-type"), "text/plain");
    EXPECT_EQ(r.request().header("x-missing"), "");
}

TEST(HttpRequestReader, StopsAtTheHeaderBeforeTakingTheBody) {
    RequestReader r(HttpLimits{});
    const std::size_t used = r.feed(kPost);
    ASSERT_EQ(r.state(), State::header_done);
    EXPECT_EQ(used, kPost.size() - 11);  // the body is still unread
    EXPECT_EQ(r.content_length(), 11u);
    EXPECT_TRUE(r.has_body());
    EXPECT_FALSE(r.expects_continue());
    r.read_body();
    EXPECT_EQ(r.feed(std::string_view(kPost).substr(used)), 11u);
    EXPECT_EQ(r.state(), State::complete);
}

TEST(HttpRequestReader, PipelinedRequestsReadOneAfterAnother) {
    const std::string get = "GET /health HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string all = kPost + get + kChunked;
    std::string rest;
    RequestReader a(HttpLimits{});
    ASSERT_EQ(read_all(a, all, all.size(), &rest), State::complete);
    EXPECT_EQ(a.request().body, "hello world");
    RequestReader b(HttpLimits{});
    std::string rest2;
    ASSERT_EQ(read_all(b, rest, 5, &rest2), State::complete);
    EXPECT_EQ(b.request().path, "/health");
    EXPECT_FALSE(b.has_body());
    RequestReader c(HttpLimits{});
    ASSERT_EQ(read_all(c, rest2, rest2.size()), State::complete);
    EXPECT_EQ(c.request().path, "/v1/completions");
}

TEST(HttpRequestReader, EachLimitAnswersItsStatus) {
    HttpLimits small;
    small.max_header_bytes = 256;
    small.max_headers = 4;
    small.max_body_bytes = 8;
    {  // a long URI
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n", 1), State::failed);
        EXPECT_EQ(r.error_status(), 431);
    }
    {  // a header line that never ends: refused once the limit passes, not when the client stops
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "GET / HTTP/1.1\r\nX: " + std::string(100000, 'a'), 64), State::failed);
        EXPECT_EQ(r.error_status(), 431);
    }
    {  // too many header lines
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n", 10), State::failed);
        EXPECT_EQ(r.error_status(), 431);
    }
    {  // exactly at the header count: read
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", 10), State::complete);
    }
    {  // an announced body over the limit: the header reads, the size is reported, the body is refused
        RequestReader r(small);
        r.feed("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n");
        ASSERT_EQ(r.state(), State::header_done);
        EXPECT_TRUE(r.body_too_large());
        r.read_body();
        EXPECT_EQ(r.state(), State::failed);
        EXPECT_EQ(r.error_status(), 413);
    }
    {  // at the limit: read
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", 3), State::complete);
        EXPECT_EQ(r.request().body, "12345678");
    }
    {  // chunked: counted as the chunks arrive
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n12345\r\n0\r\n\r\n", 4),
                  State::failed);
        EXPECT_EQ(r.error_status(), 413);
    }
    {  // a chunk size announcing more than the limit fails before its data
        RequestReader r(small);
        EXPECT_EQ(read_all(r, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n", 4), State::failed);
        EXPECT_EQ(r.error_status(), 413);
    }
}

TEST(HttpRequestReader, MalformedRequestsAre400) {
    for (const std::string bytes : {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                                    "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                                    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                                    "GET\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                                    "GET / HTTP/1.2\r\n\r\n", "GET / HTTP/2.0\r\n\r\n"}) {
        RequestReader r(HttpLimits{});
        EXPECT_EQ(read_all(r, bytes, 1), State::failed) << bytes;
        EXPECT_EQ(r.error_status(), 400) << bytes;
        EXPECT_FALSE(r.error_message().empty());
    }
}

TEST(HttpRequestReader, ExpectContinueAndConnectionClose) {
    RequestReader r(HttpLimits{});
    r.feed("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nConnection: close\r\nContent-Length: 3\r\n\r\n");
    ASSERT_EQ(r.state(), State::header_done);
    EXPECT_TRUE(r.expects_continue());
    EXPECT_FALSE(r.keep_alive());
    RequestReader old(HttpLimits{});
    EXPECT_EQ(read_all(old, "GET / HTTP/1.0\r\n\r\n", 100), State::complete);
    EXPECT_FALSE(old.keep_alive());  // HTTP/1.0 without keep-alive closes
}

// Random mutations of valid requests, fed in random pieces: every run ends complete, failed with
// a 4xx/5xx status, or waiting for more; never a crash, an exception or a loop.
TEST(HttpRequestReader, MutatedRequestsNeverCrash) {
    std::mt19937_64 rng(test::test_seed());
    const std::vector<std::string> seeds = {kPost, kChunked, "GET /health HTTP/1.1\r\nHost: h\r\n\r\n",
                                            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"};
    const std::vector<std::string> tokens = {"\r\n", "\r\n\r\n", ":", " ", "\0", "\xff", "Content-Length: ",
                                             "Transfer-Encoding: chunked\r\n", "-1", "ffffffff", ";", "0\r\n\r\n"};
    HttpLimits limits;
    limits.max_header_bytes = 512;
    limits.max_body_bytes = 64;
    int complete = 0, failed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s = seeds[rng() % seeds.size()];
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n && !s.empty(); ++k) {
            const std::size_t pos = rng() % s.size();
            switch (rng() % 4) {
                case 0: s[pos] = static_cast<char>(rng() % 256); break;
                case 1: s.erase(pos, 1 + rng() % 8); break;
                case 2: s.insert(pos, tokens[rng() % tokens.size()]); break;
                case 3: s.insert(pos, s.substr(rng() % s.size(), rng() % 32)); break;
            }
        }
        RequestReader r(limits);
        const State st = read_all(r, s, 1 + rng() % 16);
        if (st == State::complete) {
            ++complete;
            EXPECT_LE(r.request().body.size(), limits.max_body_bytes);
        } else if (st == State::failed) {
            ++failed;
            EXPECT_GE(r.error_status(), 400);
            EXPECT_LT(r.error_status(), 600);
        }
    }
    // Both outcomes are common, so the mutations reach past the parser's first checks.
    EXPECT_GT(complete, 1000);
    EXPECT_GT(failed, 1000);
}

}  // namespace
}  // namespace scout::server
