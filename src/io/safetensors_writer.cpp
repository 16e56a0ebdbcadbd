#include "io/safetensors_writer.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace scout::io {

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, Fill fill) {
    uint64_t n = dtype_size(dtype);
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    entries_.push_back({std::move(name), dtype, std::move(shape), std::move(fill), n});
}

uint64_t SafetensorsWriter::data_bytes() const {
    uint64_t n = 0;
    for (const auto& e : entries_) n += e.nbytes;
    return n;
}

void SafetensorsWriter::write(const std::filesystem::path& path,
                              const std::function<void(uint64_t, uint64_t)>& progress) const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const auto& e : entries_) {
        header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))}, {"shape", e.shape},
                          {"data_offsets", {offset, offset + e.nbytes}}};
        offset += e.nbytes;
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(out), cat("cannot create ", path));
    const uint64_t len = h.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    std::vector<uint8_t> buf;
    uint64_t done = 0;
    if (progress) progress(0, offset);
    for (const auto& e : entries_) {
        buf.assign(e.nbytes, 0);
        e.fill(buf);
        out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
        check(static_cast<bool>(out), cat("error writing ", path, " (disk full?)"));
        done += e.nbytes;
        if (progress) progress(done, offset);
    }
}

}  // namespace scout::io
