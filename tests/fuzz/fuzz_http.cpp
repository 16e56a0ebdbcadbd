// libFuzzer target: the HTTP request reader (src/server/http_request_reader.cpp) on arbitrary
// bytes, fed in pieces whose sizes come from the input's first byte, going on past the header and
// then reading what follows as the next (pipelined) request. Any crash, sanitizer report or
// runaway loop is a finding; an error status must be 4xx/5xx and a body within the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/http_request_reader.hpp"

using scout::server::HttpLimits;
using scout::server::RequestReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    HttpLimits limits;
    limits.max_header_bytes = 1024;
    limits.max_headers = 16;
    limits.max_body_bytes = 512;
    std::string buffer;
    std::size_t pos = 0;
    for (int request = 0; request < 8; ++request) {
        RequestReader r(limits);
        for (int step = 0; step < 100000; ++step) {
            if (r.state() == RequestReader::State::header_done) r.read_body();
            if (r.state() == RequestReader::State::complete || r.state() == RequestReader::State::failed) break;
            if (!buffer.empty()) buffer.erase(0, r.feed(buffer));
            if (r.state() != RequestReader::State::need_more) continue;
            if (pos >= bytes.size()) break;
            const std::size_t n = std::min(piece, bytes.size() - pos);
            buffer.append(bytes.substr(pos, n));
            pos += n;
        }
        if (r.state() == RequestReader::State::failed) {
            if (r.error_status() < 400 || r.error_status() > 599 || r.error_message().empty()) std::abort();
            return 0;
        }
        if (r.state() != RequestReader::State::complete) return 0;
        if (r.request().body.size() > limits.max_body_bytes || r.request().method.empty()) std::abort();
    }
    return 0;
}
