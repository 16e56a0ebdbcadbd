#include "base/dtype.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.hpp"

namespace scout {

std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::F64: case DType::I64: return 8;
        case DType::F32: case DType::I32: return 4;
        case DType::F16: case DType::BF16: case DType::I16: return 2;
        case DType::I8: case DType::U8: case DType::BOOL: return 1;
        // Block formats (sizes fixed by the GGUF/ggml definitions, see src/quant/blocks.hpp).
        case DType::Q8_0: return 34;
        case DType::Q4_0: return 18;
        case DType::Q4_K: return 144;
        case DType::Q5_K: return 176;
        case DType::Q6_K: return 210;
    }
    return 0;
}

int64_t dtype_block_elems(DType t) {
    switch (t) {
        case DType::Q8_0: case DType::Q4_0: return 32;
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return 256;
        default: return 1;
    }
}

bool dtype_is_quantized(DType t) { return dtype_block_elems(t) > 1; }

std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        case DType::F64: return "F64";
        case DType::I64: return "I64";
        case DType::I32: return "I32";
        case DType::I16: return "I16";
        case DType::I8: return "I8";
        case DType::U8: return "U8";
        case DType::BOOL: return "BOOL";
        case DType::Q8_0: return "Q8_0";
        case DType::Q4_0: return "Q4_0";
        case DType::Q4_K: return "Q4_K";
        case DType::Q5_K: return "Q5_K";
        case DType::Q6_K: return "Q6_K";
    }
    return "?";
}

DType dtype_from_safetensors(std::string_view name) {
    static constexpr struct { std::string_view name; DType type; } kTable[] = {
        {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
        {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},
        {"U8", DType::U8},   {"BOOL", DType::BOOL},
    };
    for (const auto& e : kTable)
        if (e.name == name) return e.type;
    throw Error(cat("unsupported tensor dtype \"", name,
                    "\" (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)"));
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = (h >> 15) & 1u;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    float v;
    if (exp == 0) {
        v = std::ldexp(static_cast<float>(man), -24);  // subnormal (or zero)
    } else if (exp == 31) {
        v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
        v = std::ldexp(static_cast<float>(man | 0x400u), static_cast<int>(exp) - 25);
    }
    return sign ? -v : v;
}

uint16_t f32_to_f16(float f) {
    // Round-to-nearest-even conversion via bit manipulation.
    uint32_t x = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (x < 0x38800000u) {  // result is subnormal or zero
        if (x < 0x33000000u) return static_cast<uint16_t>(sign);  // underflow to zero (< 2^-25)
        const uint32_t e = x >> 23;
        const uint32_t m = (x & 0x7fffffu) | 0x800000u;
        // value = m * 2^(e-150); f16 subnormal unit = 2^-24 -> mantissa = m * 2^(e-126)
        const uint32_t sh = 126 - e;  // >= 1
        uint32_t mant = m >> sh;
        const uint32_t rem = m & ((1u << sh) - 1u);
        const uint32_t half = 1u << (sh - 1);
        if (rem > half || (rem == half && (mant & 1u))) ++mant;
        return static_cast<uint16_t>(sign | mant);
    }
    uint32_t r = x - 0x38000000u;  // rebias exponent 127 -> 15
    const uint32_t mant = r >> 13;
    const uint32_t rem = r & 0x1fffu;
    uint32_t out = mant;
    if (rem > 0x1000u || (rem == 0x1000u && (mant & 1u))) ++out;
    return static_cast<uint16_t>(sign | out);
}

}  // namespace scout
