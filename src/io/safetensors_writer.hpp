// Writes a .safetensors file tensor by tensor: the header is written first from the declared
// names/dtypes/shapes, then each tensor's bytes come from a fill callback, so a large
// checkpoint never has to sit in memory at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/dtype.hpp"

namespace scout::io {

class SafetensorsWriter {
public:
    using Fill = std::function<void(std::span<uint8_t> bytes)>;

    void add(std::string name, DType dtype, std::vector<int64_t> shape, Fill fill);
    // Writes all tensors in the order added; `progress(done_bytes, total_bytes)` after each.
    void write(const std::filesystem::path& path,
               const std::function<void(uint64_t, uint64_t)>& progress = {}) const;
    uint64_t data_bytes() const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        Fill fill;
        uint64_t nbytes;
    };
    std::vector<Entry> entries_;
};

}  // namespace scout::io
