// Element types of checkpoint tensors and the scalar conversions between them.
// bf16 and f16 are stored as raw uint16_t bit patterns; conversions are exact
// (bf16/f16 -> f32) or round-to-nearest-even (f32 -> bf16/f16), as PyTorch does.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace scout {

// Q8_0 .. Q6_K are GGUF/ggml block-quantized weight formats (src/quant/, docs/gguf.md):
// a row of n elements is n / dtype_block_elems() blocks of dtype_size() bytes each.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K };

std::size_t dtype_size(DType t);          // bytes per element; for block formats bytes per block
int64_t dtype_block_elems(DType t);       // elements per block: 1 for plain types, 32 or 256 for blocks
bool dtype_is_quantized(DType t);         // true for the block formats
std::string_view dtype_name(DType t);     // "F32", "BF16", ... (safetensors spelling)
DType dtype_from_safetensors(std::string_view name);  // throws scout::Error on unknown names

inline float bf16_to_f32(uint16_t v) {
    return std::bit_cast<float>(static_cast<uint32_t>(v) << 16);
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
    return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Rounds through bf16 and back: the value a bf16 tensor would hold.
inline float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

}  // namespace scout
