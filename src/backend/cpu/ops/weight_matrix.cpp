#include "backend/cpu/ops/weight_matrix.hpp"

#include <cstring>

#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::cpu {

void WeightMatrix::row_to_f32(int64_t r, int64_t c0, int64_t c1, float* out) const {
    const int64_t off = r * row_stride + c0;
    const int64_t n = c1 - c0;
    switch (dtype) {
        case DType::F32:
            std::memcpy(out, static_cast<const float*>(data) + off, static_cast<std::size_t>(n) * sizeof(float));
            return;
        case DType::BF16: {
            const uint16_t* src = static_cast<const uint16_t*>(data) + off;
            for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(src[i]);
            return;
        }
        case DType::F16: {
            const uint16_t* src = static_cast<const uint16_t*>(data) + off;
            for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(src[i]);
            return;
        }
        default:
            break;
    }
    if (dtype_is_quantized(dtype)) {
        const int64_t block = dtype_block_elems(dtype);
        if (!(off % block == 0 && n % block == 0)) throw Error(cat("unaligned read of a ", dtype_name(dtype), " weight row"));
        const auto* base = static_cast<const uint8_t*>(data) + static_cast<std::size_t>(off / block) * dtype_size(dtype);
        quant::dequantize_row(dtype, base, out, n);
        return;
    }
    throw Error(cat("weight dtype ", dtype_name(dtype), " is not supported by the CPU kernels"));
}

float WeightMatrix::at(int64_t r, int64_t c) const {
    if (!dtype_is_quantized(dtype)) {
        float v;
        row_to_f32(r, c, c + 1, &v);
        return v;
    }
    const int64_t block = dtype_block_elems(dtype);
    float buf[256];
    const int64_t c0 = c / block * block;
    row_to_f32(r, c0, c0 + block, buf);
    return buf[c - c0];
}

WeightMatrix as_matrix(const TensorView& t) {
    if (!(!t.shape.empty())) throw Error(cat("tensor ", t.name, " is a scalar, expected a matrix"));
    WeightMatrix m;
    m.data = t.data;
    m.dtype = t.dtype;
    m.rows = t.shape[0];
    m.cols = m.rows ? t.numel() / m.rows : 0;
    m.row_stride = m.cols;
    return m;
}

WeightMatrix slice_matrix(const TensorView& t, int64_t index) {
    if (!(t.shape.size() == 3 && index >= 0 && index < t.shape[0])) throw Error(cat("bad slice ", index, " of ", t.name));
    WeightMatrix m;
    m.dtype = t.dtype;
    m.rows = t.shape[1];
    m.cols = t.shape[2];
    m.row_stride = m.cols;
    m.data = static_cast<const uint8_t*>(t.data) +
             static_cast<std::size_t>(index * m.rows * m.cols / dtype_block_elems(t.dtype)) * dtype_size(t.dtype);
    return m;
}

}  // namespace scout::cpu
