// libFuzzer target: the HTTP request reader (src/server/http_request_reader.cpp) on arbitrary
// bytes, fed in pieces whose sizes come from the input's first byte, going on past the header and
// then reading what follows as the next (pipelined) request. Any crash, sanitizer report or
// runaway loop (libFuzzer's -timeout) is a finding; an error status must be 4xx/5xx and a body
// within the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "request_pieces.hpp"
#include "server/http_request_reader.hpp"

using scout::server::HttpLimits;
using scout::server::RequestPieces;
using scout::server::RequestReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    HttpLimits limits;
    limits.max_header_bytes = 1024;
    limits.max_headers = 16;
    limits.max_body_bytes = 512;
    RequestPieces pieces(bytes, piece);
    for (int request = 0; request < 8; ++request) {
        RequestReader r(limits);
        pieces.read(r);
        if (r.state() == RequestReader::State::failed) {
            if (r.error_status() < 400 || r.error_status() > 599 || r.error_message().empty()) std::abort();
            return 0;
        }
        if (r.state() != RequestReader::State::complete) return 0;
        if (r.request().body.size() > limits.max_body_bytes || r.request().method.empty()) std::abort();
    }
    return 0;
}
