#include "server/http_request_reader.hpp"

#include <cctype>
#include <limits>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "base/error.hpp"

namespace scout::server {

namespace http = boost::beast::http;

struct RequestReader::Parser {
    http::request_parser<http::string_body> p;
};

RequestReader::RequestReader(const HttpLimits& limits) : parser_(std::make_unique<Parser>()), limits_(limits) {
    auto& p = parser_->p;
    p.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    // No body limit while the header is read: an announced length over it is reported by
    // body_too_large() rather than failing the header, so the caller can answer what comes
    // first (no such route, no key) before the size. read_body() sets it. (Not boost::none:
    // Beast 1.74 compares the length against the optional, and every length is above none.)
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    // Stop after the header, so the caller can refuse (key, size, route) before any body byte is
    // taken; read_body() turns it on.
    p.eager(false);
}

RequestReader::~RequestReader() = default;

void RequestReader::fail(int status, std::string message) {
    state_ = State::failed;
    error_status_ = status;
    error_message_ = std::move(message);
}

std::size_t RequestReader::feed(std::string_view data) {
    if (state_ == State::failed || state_ == State::complete || state_ == State::header_done || data.empty()) return 0;
    started_ = true;
    auto& p = parser_->p;
    std::size_t used = 0;
    // With eager on (the body), one put() takes all it can; a chunk header split across reads
    // comes back as need_more with the bytes before it consumed.
    while (used < data.size()) {
        boost::beast::error_code ec;
        const std::size_t n = p.put(boost::asio::const_buffer(data.data() + used, data.size() - used), ec);
        used += n;
        if (ec && ec != http::error::need_more) {
            if (ec == http::error::header_limit)
                fail(431, cat("the request line and headers are over ", limits_.max_header_bytes, " bytes"));
            else if (ec == http::error::body_limit)
                fail(413, "the request body is too large");
            else
                fail(400, cat("the request could not be read (", ec.message(), ")"));
            return used;
        }
        // Every request stops once at header_done, with a body or not, so the caller has one
        // place to route and refuse.
        if (p.is_header_done() && !header_read()) {
            take_header();
            if (state_ != State::failed) state_ = State::header_done;
            return used;
        }
        if (p.is_done()) {
            request_.body = std::move(p.get().body());
            state_ = State::complete;
            return used;
        }
        if (ec == http::error::need_more || n == 0) break;
    }
    return used;
}

void RequestReader::take_header() {
    const auto& m = parser_->p.get();
    std::size_t count = 0;
    for (const auto& f : m.base()) {
        if (++count > limits_.max_headers) return fail(431, cat("more than ", limits_.max_headers, " header lines"));
        request_.headers.emplace_back(std::string(f.name_string().data(), f.name_string().size()),
                                      std::string(f.value().data(), f.value().size()));
    }
    request_.method = std::string(m.method_string().data(), m.method_string().size());
    const std::string_view target(m.target().data(), m.target().size());
    request_.path = std::string(target.substr(0, target.find('?')));
}

bool RequestReader::body_too_large() const { return content_length().value_or(0) > limits_.max_body_bytes; }

void RequestReader::read_body() {
    if (state_ != State::header_done) return;
    if (body_too_large()) return fail(413, "the request body is too large");
    auto& p = parser_->p;
    p.body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
    if (p.is_done()) {
        request_.body = std::move(p.get().body());
        state_ = State::complete;
        return;
    }
    p.eager(true);
    state_ = State::need_more;
}

std::optional<std::uint64_t> RequestReader::content_length() const {
    const auto n = parser_->p.content_length();
    if (!n) return std::nullopt;
    return *n;
}

bool RequestReader::chunked() const { return parser_->p.chunked(); }

bool RequestReader::keep_alive() const { return parser_->p.keep_alive(); }

bool RequestReader::expects_continue() const {
    const auto& m = parser_->p.get();
    const auto it = m.find(http::field::expect);
    if (it == m.end()) return false;
    std::string v(it->value().data(), it->value().size());
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v == "100-continue";
}

}  // namespace scout::server
