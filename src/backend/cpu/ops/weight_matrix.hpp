// A 2-D weight slice in its stored dtype (F32, BF16, F16 or a GGUF block format), row-major
// with a row stride. Kernels convert elements to float32 as they read them, so weights stay in
// the mapped file. Block formats are read in whole blocks: column ranges must be block-aligned.
#pragma once

#include <cstdint>

#include "base/dtype.hpp"
#include "base/tensor_view.hpp"

namespace scout::cpu {

struct WeightMatrix {
    const void* data = nullptr;
    DType dtype = DType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t row_stride = 0;  // elements between consecutive rows (a multiple of the block size)

    // Converts row r, columns [c0, c1), to float32 into out.
    void row_to_f32(int64_t r, int64_t c0, int64_t c1, float* out) const;
    float at(int64_t r, int64_t c) const;
};

// The whole tensor viewed as [shape[0], numel/shape[0]].
WeightMatrix as_matrix(const TensorView& t);
// Slice `index` of a 3-D tensor [n, rows, cols] as a [rows, cols] matrix (one expert).
WeightMatrix slice_matrix(const TensorView& t, int64_t index);

}  // namespace scout::cpu
