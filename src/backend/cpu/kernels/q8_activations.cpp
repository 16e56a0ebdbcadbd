#include "backend/cpu/kernels/q8_activations.hpp"

#include <cmath>

#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::cpu {
// What these kernels take from the block formats (src/quant).
using quant::kQK;
using quant::kQK_K;
using quant::row_size;
using quant::type_name;
namespace {

// Quantizes n values with one symmetric scale; returns d. Plain loops the compiler vectorises.
float quantize_symmetric(const float* x, int8_t* q, int n) {
    float amax = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float a = std::fabs(x[i]);
        amax = a > amax ? a : amax;  // NaN never wins
    }
    const float d = amax / 127.0f;
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < n; ++i) {
        // |x * id| <= 127 up to the rounding of id; the clamp keeps -128 out and maps NaN to
        // -127 (the comparisons are false for NaN), so the cast is always defined.
        float v = std::nearbyint(x[i] * id);
        v = v >= -127.0f ? v : -127.0f;
        v = v <= 127.0f ? v : 127.0f;
        q[i] = static_cast<int8_t>(v);
    }
    return d;
}

}  // namespace

void quantize_row_q8a(const float* x, BlockQ8A* y, int64_t n) {
    if (n % kQK != 0) throw Error("quantize_row_q8a: n must be a multiple of 32");
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        y[b].d = quantize_symmetric(x, y[b].qs, kQK);
        int32_t s = 0;
        for (int i = 0; i < kQK; ++i) s += y[b].qs[i];
        y[b].sum = s;
    }
}

void quantize_row_q8ka(const float* x, BlockQ8KA* y, int64_t n) {
    if (n % kQK_K != 0) throw Error("quantize_row_q8ka: n must be a multiple of 256");
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
        y[b].d = quantize_symmetric(x, y[b].qs, kQK_K);
        for (int j = 0; j < kQK_K / 16; ++j) {
            int s = 0;
            for (int i = 0; i < 16; ++i) s += y[b].qs[16 * j + i];
            y[b].bsums[j] = static_cast<int16_t>(s);
        }
    }
}

bool has_q8_kernel(DType weight) {
    switch (weight) {
        case DType::Q8_0:
        case DType::Q4_0:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

std::size_t activation_row_bytes(DType weight, int64_t n) {
    if (!has_q8_kernel(weight)) throw Error(cat("no int8 kernel for weight type ", type_name(weight)));
    row_size(weight, n);  // validates n against the weight's block size
    if (weight == DType::Q8_0 || weight == DType::Q4_0)
        return static_cast<std::size_t>(n / kQK) * sizeof(BlockQ8A);
    return static_cast<std::size_t>(n / kQK_K) * sizeof(BlockQ8KA);
}

void quantize_activation_row(DType weight, const float* x, void* dst, int64_t n) {
    if (!has_q8_kernel(weight)) throw Error(cat("no int8 kernel for weight type ", type_name(weight)));
    if (weight == DType::Q8_0 || weight == DType::Q4_0)
        quantize_row_q8a(x, static_cast<BlockQ8A*>(dst), n);
    else
        quantize_row_q8ka(x, static_cast<BlockQ8KA*>(dst), n);
}

}  // namespace scout::cpu
