// Reference (scalar, portable) conversions between float32 and the weight
// formats of GGUF files: F32, F16, BF16 and the block formats Q8_0, Q4_0,
// Q4_K, Q5_K, Q6_K (layouts in blocks.hpp and docs/gguf.md).
//
// dequantize_row is bit-identical to the GGUF/ggml definitions (checked against
// gguf-py's numpy dequantization on committed fixtures). quantize_row produces
// valid blocks; Q8_0 and Q4_0 follow ggml's reference rounding exactly, the
// K-quants use scout's own weighted scale search (not bit-identical to
// llama.cpp's quantizer, but any GGUF reader decodes them to the same values
// scout decodes). These are the slow twins that SIMD kernels are tested against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/dtype.hpp"

namespace scout::quant {

// Elements per block: 1 for F32/F16/BF16, 32 for Q8_0/Q4_0, 256 for K-quants.
int64_t block_size(DType type);
// Bytes per block (per element for plain types).
std::size_t type_size(DType type);
// Bytes of a row of n elements; throws scout::Error when n is negative or not
// a multiple of block_size(type), or when the byte count would overflow.
std::size_t row_size(DType type, int64_t n);
// "Q4_K", "F32", ... (the GGUF/ggml spelling).
std::string_view type_name(DType type);
// True for the types dequantize_row accepts: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
bool is_float_type(DType type);
// True for the types quantize_row accepts (the float types above).
bool can_quantize(DType type);

// src: row_size(type, n) bytes; dst: n floats. n must be a multiple of block_size(type).
// Throws scout::Error for other types or a bad n.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// src: n floats; dst: row_size(type, n) bytes. Deterministic (no randomness, no state).
// F16/BF16 round to nearest even; F32 copies.
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// Reference dot product of one stored row with a float vector:
// sum_i dequant(w_row)[i] * x[i], accumulated in double, blockwise.
float dot_row(DType type, const void* w_row, const float* x, int64_t n);

}  // namespace scout::quant
