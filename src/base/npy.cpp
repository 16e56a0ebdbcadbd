#include "base/npy.hpp"

#include <cstring>
#include <fstream>
#include <string>

#include "base/error.hpp"

namespace scout {

void write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                   std::span<const int64_t> shape) {
    int64_t count = 1;
    std::string dims;
    for (int64_t d : shape) {
        count *= d;
        dims += std::to_string(d) + ", ";
    }
    check(count == static_cast<int64_t>(data.size()), "write_npy_f32: shape does not match data size");
    if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(a, b)"; a 1-D shape keeps "(a,)"
    else if (shape.size() == 1) dims.resize(dims.size() - 1);
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // Pad with spaces so that magic + len + header is a multiple of 64, ending in '\n'.
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    check(static_cast<bool>(out), cat("cannot create ", path));
    const char magic[] = "\x93NUMPY\x01\x00";
    out.write(magic, 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(len_bytes, 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size_bytes()));
    check(static_cast<bool>(out), cat("error writing ", path));
}

NpyArray read_npy_f32(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    check(static_cast<bool>(in), cat("cannot open ", path));
    char magic[8];
    in.read(magic, 8);
    check(in && std::memcmp(magic, "\x93NUMPY", 6) == 0, cat(path, " is not a .npy file"));
    std::size_t header_len = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        in.read(reinterpret_cast<char*>(b), 2);
        header_len = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        in.read(reinterpret_cast<char*>(b), 4);
        header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
    }
    std::string header(header_len, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_len));
    check(static_cast<bool>(in), cat(path, ": truncated .npy header"));
    check(header.find("'<f4'") != std::string::npos, cat(path, ": only little-endian float32 is supported"));
    check(header.find("'fortran_order': False") != std::string::npos, cat(path, ": Fortran order unsupported"));
    NpyArray arr;
    const auto open = header.find('(');
    const auto close = header.find(')', open);
    check(open != std::string::npos && close != std::string::npos, cat(path, ": bad shape in header"));
    std::string dims = header.substr(open + 1, close - open - 1);
    int64_t count = 1;
    std::size_t pos = 0;
    while (pos < dims.size()) {
        while (pos < dims.size() && (dims[pos] == ' ' || dims[pos] == ',')) ++pos;
        if (pos >= dims.size()) break;
        std::size_t used = 0;
        const int64_t d = std::stoll(dims.substr(pos), &used);
        arr.shape.push_back(d);
        count *= d;
        pos += used;
    }
    arr.data.resize(static_cast<std::size_t>(count));
    in.read(reinterpret_cast<char*>(arr.data.data()), static_cast<std::streamsize>(count * 4));
    check(static_cast<bool>(in), cat(path, ": truncated .npy data"));
    return arr;
}

}  // namespace scout
