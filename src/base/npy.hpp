// NumPy .npy files (format version 1.0, little-endian float32, C order):
// the interchange format for logits between scout and the Python reference.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace scout {

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> data;  // row-major
};

void write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                   std::span<const int64_t> shape);

// Reads a '<f4' C-order array; throws scout::Error on any other layout.
NpyArray read_npy_f32(const std::filesystem::path& path);

}  // namespace scout
