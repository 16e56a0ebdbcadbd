// Feeds bytes to RequestReaders in pieces of a fixed size, keeping the bytes a reader did not use,
// as a connection's buffer does; one feeder reads pipelined requests one after another. Shared by
// test_http_request_reader.cpp and the fuzz target tests/fuzz/fuzz_http.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "server/http_request_reader.hpp"

namespace scout::server {

class RequestPieces {
public:
    RequestPieces(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}

    // Reads one request, going on past the header; returns where the reader stopped: complete,
    // failed, or need_more when the bytes ran out.
    RequestReader::State read(RequestReader& r) {
        using State = RequestReader::State;
        for (;;) {
            if (r.state() == State::header_done) r.read_body();
            if (r.state() == State::complete || r.state() == State::failed) break;
            if (!buffer_.empty()) buffer_.erase(0, r.feed(buffer_));
            if (r.state() != State::need_more) continue;
            if (pos_ >= bytes_.size()) break;
            const std::size_t n = std::min(piece_, bytes_.size() - pos_);
            buffer_.append(bytes_.substr(pos_, n));
            pos_ += n;
        }
        return r.state();
    }

    // What the requests read so far left: the buffered bytes and those not yet fed.
    std::string rest() const { return buffer_ + std::string(bytes_.substr(pos_)); }

private:
    std::string_view bytes_;
    std::size_t piece_;
    std::size_t pos_ = 0;
    std::string buffer_;
};

}  // namespace scout::server
