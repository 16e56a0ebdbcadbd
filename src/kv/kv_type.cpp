#include "kv/kv_type.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/dtype.hpp"
#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::kv {

std::string_view kv_type_name(KvType t) {
    switch (t) {
        case KvType::F32: return "f32";
        case KvType::F16: return "f16";
        case KvType::BF16: return "bf16";
        case KvType::Q8_0: return "q8_0";
        case KvType::Q4_0: return "q4_0";
    }
    return "?";
}

std::vector<KvType> all_kv_types() { return {KvType::F32, KvType::F16, KvType::BF16, KvType::Q8_0, KvType::Q4_0}; }

std::string kv_type_list() {
    std::string s;
    for (KvType t : all_kv_types()) s += (s.empty() ? "" : ", ") + std::string(kv_type_name(t));
    return s;
}

std::string kv_types_label(KvType chunked, KvType global) {
    if (chunked == global) return std::string(kv_type_name(chunked));
    return cat(kv_type_name(chunked), " (chunked), ", kv_type_name(global), " (global)");
}

KvType parse_kv_type(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (KvType t : all_kv_types())
        if (kv_type_name(t) == lower) return t;
    throw Error(cat("unknown KV type \"", name, "\" (choose one of: ", kv_type_list(), ")"));
}

int64_t kv_block_elems(KvType t) { return t == KvType::Q8_0 || t == KvType::Q4_0 ? 32 : 1; }

int64_t kv_block_bytes(KvType t) {
    switch (t) {
        case KvType::F32: return 4;
        case KvType::F16:
        case KvType::BF16: return 2;
        case KvType::Q8_0: return 34;
        case KvType::Q4_0: return 18;
    }
    return 0;
}

int64_t kv_row_bytes(KvType t, int64_t n) {
    if (!(n % kv_block_elems(t) == 0)) throw Error(cat("a KV row of ", n, " values cannot be stored as ", kv_type_name(t),
                                          " (blocks of ", kv_block_elems(t), ")"));
    return n / kv_block_elems(t) * kv_block_bytes(t);
}

void check_kv_type_fits(KvType t, int64_t head_dim, std::string_view flag) {
    if (head_dim % kv_block_elems(t) != 0)
        throw Error(cat(flag, " ", kv_type_name(t), " stores blocks of ", kv_block_elems(t),
                        " values, but this model's head_dim is ", head_dim, ": choose f16, bf16 or f32"));
}

void kv_encode_row(KvType t, const float* src, int64_t n, void* dst) {
    switch (t) {
        case KvType::F32: std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float)); return;
        case KvType::F16: {
            auto* out = static_cast<uint16_t*>(dst);
            // Clamped: a value beyond f16's range would otherwise become inf and poison attention.
            for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(std::clamp(src[i], -65504.0f, 65504.0f));
            return;
        }
        case KvType::BF16: {
            auto* out = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(src[i]);
            return;
        }
        case KvType::Q8_0: quant::quantize_row(DType::Q8_0, src, dst, n); return;
        case KvType::Q4_0: {
            // Clamped like f16: the block scale is max / -8 stored as f16, which overflows to inf
            // (and decodes to NaN) for |values| beyond 8 x 65504.
            constexpr float kMax = 8.0f * 65504.0f;
            float block[32];
            for (int64_t b = 0; b < n; b += 32) {
                for (int64_t j = 0; j < 32; ++j) block[j] = std::clamp(src[b + j], -kMax, kMax);
                quant::quantize_row(DType::Q4_0, block, static_cast<uint8_t*>(dst) + b / 32 * 18, 32);
            }
            return;
        }
    }
}

void kv_decode_row(KvType t, const void* src, int64_t n, float* dst) {
    switch (t) {
        case KvType::F32: std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float)); return;
        case KvType::F16: {
            const auto* in = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(in[i]);
            return;
        }
        case KvType::BF16: {
            const auto* in = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(in[i]);
            return;
        }
        case KvType::Q8_0: quant::dequantize_row(DType::Q8_0, src, dst, n); return;
        case KvType::Q4_0: quant::dequantize_row(DType::Q4_0, src, dst, n); return;
    }
}

}  // namespace scout::kv
