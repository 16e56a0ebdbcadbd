// Element types of KV memory and their row codecs (the plain reference every backend's storage
// must reproduce bit for bit).
//
//   f32   4 bytes per value: the reference, what the fixtures were checked with.
//   f16   2 bytes: the default. K and V are activations after RoPE / QK norm, far inside f16's
//         range, and f16 keeps 10 mantissa bits against bf16's 7 (8x less rounding error for
//         the same memory); it is also llama.cpp's default, so equal contexts take equal memory.
//         Values beyond f16's range are clamped to ±65504 instead of becoming inf.
//   bf16  2 bytes: for models whose activations leave f16's range.
//   q8_0  34 bytes per 32 values (ggml's Q8_0 block: f16 scale + 32 int8, as llama.cpp's
//         -ctk q8_0): needs head_dim to be a multiple of 32, so that blocks never straddle heads.
//   q4_0  18 bytes per 32 values (ggml's Q4_0 block: f16 scale + 32 4-bit codes, as llama.cpp's
//         -ctk q4_0): 3.6x less than f16, for contexts whose global KV would not fit otherwise;
//         same head_dim rule as q8_0. CPU only for now (the CUDA backend refuses it at start).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scout::kv {

enum class KvType { F32, F16, BF16, Q8_0, Q4_0 };

inline constexpr KvType kDefaultKvType = KvType::F16;

std::string_view kv_type_name(KvType t);        // "f32", "f16", "bf16", "q8_0", "q4_0"
KvType parse_kv_type(std::string_view name);    // throws scout::Error listing the valid names
std::vector<KvType> all_kv_types();
std::string kv_type_list();                     // "f32, f16, bf16, q8_0, q4_0" (for --help)
// The KV types of a model's two layer kinds as users read them: "f16" when they are the same,
// else "f16 (chunked), q4_0 (global)" (--kv-type, --kv-type-global).
std::string kv_types_label(KvType chunked, KvType global);

// Elements per block (32 for q8_0 and q4_0, else 1) and bytes per block.
int64_t kv_block_elems(KvType t);
int64_t kv_block_bytes(KvType t);
// Bytes of a row of n values; n must be a multiple of the block size.
int64_t kv_row_bytes(KvType t, int64_t n);
// Throws scout::Error when rows of `head_dim` values cannot be stored as type t; the message
// names `flag` (the option that chose t).
void check_kv_type_fits(KvType t, int64_t head_dim, std::string_view flag = "--kv-type");

// Reference codecs: src [n] floats -> dst kv_row_bytes(t, n) bytes, and back.
void kv_encode_row(KvType t, const float* src, int64_t n, void* dst);
void kv_decode_row(KvType t, const void* src, int64_t n, float* dst);

}  // namespace scout::kv
