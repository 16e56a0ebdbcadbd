#include "quant/quant.hpp"

#include <limits>
#include <vector>

#include "base/error.hpp"

namespace scout::quant {

int64_t block_size(DType type) { return dtype_block_elems(type); }

std::size_t type_size(DType type) { return dtype_size(type); }

std::size_t row_size(DType type, int64_t n) {
    // Messages are formatted only on failure: this runs for every row converted, and building
    // the strings eagerly used to cost more than converting the row.
    const int64_t bs = block_size(type);
    if (n < 0) throw Error(cat("row of ", n, " elements: negative length"));
    if (n % bs != 0)
        throw Error(cat("row of ", n, " elements is not a multiple of the ", type_name(type), " block size ", bs));
    const auto blocks = static_cast<uint64_t>(n / bs);
    const uint64_t ts = type_size(type);
    if (blocks > std::numeric_limits<uint64_t>::max() / ts)
        throw Error(cat("row of ", n, " ", type_name(type), " elements overflows the byte count"));
    return static_cast<std::size_t>(blocks * ts);
}

std::string_view type_name(DType type) { return dtype_name(type); }

bool is_float_type(DType type) {
    switch (type) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

bool can_quantize(DType type) { return is_float_type(type); }

float dot_row(DType type, const void* w_row, const float* x, int64_t n) {
    const std::size_t bytes = row_size(type, n);
    check(is_float_type(type), cat("dot_row: unsupported type ", type_name(type)));
    // Dequantize a bounded chunk at a time so the reference needs O(1) extra memory.
    const int64_t bs = block_size(type);
    const int64_t chunk_blocks = bs == 1 ? 1024 : 8;
    const int64_t chunk = bs * chunk_blocks;
    const std::size_t chunk_bytes = row_size(type, chunk);
    std::vector<float> tmp(static_cast<std::size_t>(chunk));
    const auto* src = static_cast<const uint8_t*>(w_row);
    double acc = 0.0;
    for (int64_t i = 0; i < n; i += chunk) {
        const int64_t m = std::min(chunk, n - i);
        dequantize_row(type, src + static_cast<std::size_t>(i / chunk) * chunk_bytes, tmp.data(), m);
        for (int64_t j = 0; j < m; ++j) acc += static_cast<double>(tmp[j]) * x[i + j];
    }
    (void)bytes;
    return static_cast<float>(acc);
}

}  // namespace scout::quant
