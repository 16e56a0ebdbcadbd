// A non-owning view of a tensor that lives in a mapped checkpoint file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.hpp"

namespace scout {

struct TensorView {
    std::string name;            // name inside the checkpoint, e.g. "model.layers.0.self_attn.q_proj.weight"
    std::string file;            // file it came from (for error messages)
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // logical shape, outermost first (PyTorch order)
    const void* data = nullptr;  // points into the mapping; valid while the checkpoint lives

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    // Block formats (Q8_0, Q4_K, ...) store numel / block_elems blocks of dtype_size bytes.
    std::size_t nbytes() const {
        return static_cast<std::size_t>(numel() / dtype_block_elems(dtype)) * dtype_size(dtype);
    }
};

std::string shape_str(const std::vector<int64_t>& shape);  // "[4, 64]"

}  // namespace scout
