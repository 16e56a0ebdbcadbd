// One HTTP/1.1 request read from bytes as they arrive, with every limit enforced while reading:
// header bytes (request line included, so the URI too), header count, body bytes (chunked
// bodies counted as they are decoded). No sockets here, so the same code is driven by the server's
// connections, the unit tests and the fuzz target. The parser underneath is Boost.Beast's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/http.hpp"

namespace scout::server {

struct HttpLimits {
    std::size_t max_header_bytes = 16 << 10;  // request line + header lines; over it: 431
    std::size_t max_headers = 100;            // header lines; over it: 431
    std::size_t max_body_bytes = 8 << 20;     // over it (announced or counted): 413
};

class RequestReader {
public:
    enum class State {
        need_more,    // give it more bytes
        header_done,  // the request line and headers are read; call read_body() to go on
        complete,     // the whole request is read; request() holds it
        failed,       // unreadable or over a limit: answer error_status() and close
    };

    explicit RequestReader(const HttpLimits& limits);
    ~RequestReader();
    RequestReader(const RequestReader&) = delete;
    RequestReader& operator=(const RequestReader&) = delete;

    // Consumes a prefix of `data` and returns how many bytes it used. Bytes it did not use must be
    // passed again, followed by new ones (a header is parsed whole once it is complete). Stops at
    // the end of the headers (state header_done), at the end of the request and on an error.
    std::size_t feed(std::string_view data);
    // After header_done: go on reading the body (or complete at once when there is none; or fail
    // with 413 when the announced length is over the limit).
    void read_body();

    State state() const { return state_; }
    bool started() const { return started_; }  // any byte of this request seen
    bool header_read() const { return !request_.method.empty(); }  // from header_done on
    // Valid from header_done on: method, path (the target up to '?'), headers; the body once complete.
    const HttpRequest& request() const { return request_; }
    // Once complete: the request, moved out (the reader is done with it).
    HttpRequest take_request() { return std::move(request_); }
    std::optional<std::uint64_t> content_length() const;
    bool chunked() const;
    bool has_body() const { return chunked() || content_length().value_or(0) > 0; }
    bool body_too_large() const;  // announced (Content-Length) over max_body_bytes; read_body() fails with 413
    bool keep_alive() const;
    bool expects_continue() const;
    int error_status() const { return error_status_; }
    const std::string& error_message() const { return error_message_; }

private:
    void fail(int status, std::string message);
    void take_header();

    struct Parser;
    std::unique_ptr<Parser> parser_;
    HttpLimits limits_;
    HttpRequest request_;
    State state_ = State::need_more;
    bool started_ = false;
    int error_status_ = 0;
    std::string error_message_;
};

}  // namespace scout::server
