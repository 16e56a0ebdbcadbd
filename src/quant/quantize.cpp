// quantize_row: plain types and the 32-element formats, which follow ggml's
// reference rounding exactly (so scout's Q8_0/Q4_0 files equal llama.cpp's for
// the same input); the K-quants live in quantize_k.cpp.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "base/error.hpp"
#include "quant/blocks.hpp"
#include "quant/quant.hpp"
#include "quant/quant_k.hpp"

namespace scout::quant {
namespace {

// Q8_0: d = max|x| / 127, q = round-half-away(x / d). The rounding uses the
// unrounded f32 d; the stored d is its fp16 rounding (as ggml does).
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    }
}

// Q4_0: the element of largest magnitude (with its sign) maps to -8, so
// d = max / -8 and q = min(15, trunc(x / d + 8.5)).
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQK; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        auto q = [&](float v) {
            const float t = v * id + 8.5f;
            // t is in [0.5, 16.5] for finite input; clamp also tames NaN/inf input.
            if (!(t > 0.0f)) return uint8_t{0};
            return static_cast<uint8_t>(std::min(15, static_cast<int>(t)));
        };
        for (int j = 0; j < kQK / 2; ++j)
            y[i].qs[j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + kQK / 2]) << 4));
    }
}

}  // namespace

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    row_size(type, n);
    const int64_t nb = n / block_size(type);
    if (dtype_is_quantized(type)) {
        // A NaN or infinity would poison a whole block's scale (and converting it to an
        // integer quant is undefined behaviour): refuse it, naming the element. (The message is
        // built only on failure: formatting it per element used to dominate quantization time.)
        bool all_finite = true;  // a branch-free pass (vectorized); the search for the element only on failure
        for (int64_t i = 0; i < n; ++i) all_finite &= std::isfinite(src[i]);
        for (int64_t i = 0; !all_finite && i < n; ++i)
            if (!std::isfinite(src[i]))
                throw Error(cat("quantize_row: non-finite value ", src[i], " at element ", i, " cannot be stored as ",
                                type_name(type)));
    }
    switch (type) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
            return;
        case DType::F16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
            return;
        }
        case DType::Q8_0: quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), nb); return;
        case DType::Q4_0: quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), nb); return;
        case DType::Q4_K: detail::quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), nb); return;
        case DType::Q5_K: detail::quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), nb); return;
        case DType::Q6_K: detail::quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), nb); return;
        default:
            throw Error(cat("quantize_row: cannot quantize to ", type_name(type)));
    }
}

}  // namespace scout::quant
