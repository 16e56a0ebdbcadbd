// Reference dequantization, one block at a time, following the GGUF/ggml
// definitions operation for operation (same float32 products in the same
// order) so that results are bit-identical to ggml and gguf-py.
#include <cstdint>
#include <cstring>

#include "base/error.hpp"
#include "quant/blocks.hpp"
#include "quant/quant.hpp"

namespace scout::quant {
namespace {

void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + kQK / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequant_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(b[i].d);
        const float dmin = f16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int g = 0; g < 4; ++g, q += 32) {  // 4 groups of 64 = 2 sub-blocks of 32
            uint8_t sc, m;
            unpack_scale_min_k4(2 * g, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min_k4(2 * g + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

void dequant_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(b[i].d);
        const float dmin = f16_to_f32(b[i].dmin);
        const uint8_t* ql = b[i].qs;
        const uint8_t* qh = b[i].qh;
        for (int g = 0; g < 4; ++g, ql += 32) {
            const uint8_t u1 = static_cast<uint8_t>(1u << (2 * g));
            const uint8_t u2 = static_cast<uint8_t>(2u << (2 * g));
            uint8_t sc, m;
            unpack_scale_min_k4(2 * g, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min_k4(2 * g + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((ql[l] & 0x0F) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

void dequant_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = f16_to_f32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                int q[4];
                unpack_q6_k(ql, qh, l, q);
                // (d * scale) * q: the same association as the definition.
                y[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q[0]);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q[1]);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q[2]);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q[3]);
            }
        }
    }
}

}  // namespace

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    row_size(type, n);  // validates n against the block size
    // The block structs hold uint16_t fp16 fields: reading them through a misaligned
    // pointer is undefined behaviour. GGUF data is aligned (general.alignment >= 2 in practice).
    if (type != DType::F32 && reinterpret_cast<std::uintptr_t>(src) % alignof(uint16_t) != 0)  // message only on failure
        throw Error(cat("dequantize_row: ", type_name(type), " data is not 2-byte aligned"));
    const int64_t nb = n / block_size(type);
    switch (type) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
            return;
        case DType::F16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
            return;
        }
        case DType::BF16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
            return;
        }
        case DType::Q8_0: dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb); return;
        case DType::Q4_0: dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb); return;
        case DType::Q4_K: dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb); return;
        case DType::Q5_K: dequant_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb); return;
        case DType::Q6_K: dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb); return;
        default:
            throw Error(cat("dequantize_row: type ", type_name(type), " is not a float weight format"));
    }
}

}  // namespace scout::quant
