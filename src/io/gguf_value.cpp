// GgufValue accessors and value type names (the parser is in gguf.cpp).
#include <cstring>
#include <limits>

#include "base/error.hpp"
#include "io/gguf.hpp"

namespace scout::io {
namespace {

// Reads element k of a validated fixed-size array.
template <typename T>
T elem(const GgufValue& v, uint64_t k) {
    T x;
    std::memcpy(&x, v.raw + k * sizeof(T), sizeof(T));
    return x;
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType t) {
    switch (t) {
        case GgufValueType::U8: return "u8";
        case GgufValueType::I8: return "i8";
        case GgufValueType::U16: return "u16";
        case GgufValueType::I16: return "i16";
        case GgufValueType::U32: return "u32";
        case GgufValueType::I32: return "i32";
        case GgufValueType::F32: return "f32";
        case GgufValueType::BOOL: return "bool";
        case GgufValueType::STRING: return "string";
        case GgufValueType::ARRAY: return "array";
        case GgufValueType::U64: return "u64";
        case GgufValueType::I64: return "i64";
        case GgufValueType::F64: return "f64";
    }
    return "?";
}

// ---- GgufValue accessors ----

namespace {
bool is_unsigned(GgufValueType t) {
    return t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 || t == GgufValueType::U64;
}
bool is_signed(GgufValueType t) {
    return t == GgufValueType::I8 || t == GgufValueType::I16 || t == GgufValueType::I32 || t == GgufValueType::I64;
}
[[noreturn]] void wrong_type(const GgufValue& v, const char* wanted) {
    throw Error(cat("GGUF metadata value is ", gguf_value_type_name(v.type),
                    v.is_array() ? cat(" of ", gguf_value_type_name(v.elem_type)) : std::string(),
                    ", expected ", wanted));
}
int64_t element_as_int(const GgufValue& v, uint64_t k) {
    switch (v.elem_type) {
        case GgufValueType::U8: return elem<uint8_t>(v, k);
        case GgufValueType::I8: return elem<int8_t>(v, k);
        case GgufValueType::U16: return elem<uint16_t>(v, k);
        case GgufValueType::I16: return elem<int16_t>(v, k);
        case GgufValueType::U32: return elem<uint32_t>(v, k);
        case GgufValueType::I32: return elem<int32_t>(v, k);
        case GgufValueType::I64: return elem<int64_t>(v, k);
        case GgufValueType::U64: {
            const uint64_t x = elem<uint64_t>(v, k);
            if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw Error(cat("GGUF u64 array element ", x, " does not fit int64"));
            return static_cast<int64_t>(x);
        }
        default: wrong_type(v, "an integer array");
    }
}
}  // namespace

int64_t GgufValue::as_int() const {
    if (is_signed(type)) return i;
    if (is_unsigned(type)) {
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            throw Error(cat("GGUF value ", u, " does not fit int64"));
        return static_cast<int64_t>(u);
    }
    wrong_type(*this, "an integer");
}

uint64_t GgufValue::as_uint() const {
    if (is_unsigned(type)) return u;
    if (is_signed(type)) {
        if (i < 0) throw Error(cat("GGUF value ", i, " is negative, expected an unsigned integer"));
        return static_cast<uint64_t>(i);
    }
    wrong_type(*this, "an unsigned integer");
}

double GgufValue::as_float() const {
    if (type == GgufValueType::F32 || type == GgufValueType::F64) return f;
    if (is_signed(type)) return static_cast<double>(i);
    if (is_unsigned(type)) return static_cast<double>(u);
    wrong_type(*this, "a number");
}

bool GgufValue::as_bool() const {
    if (type != GgufValueType::BOOL) wrong_type(*this, "a bool");
    return u != 0;
}

std::string_view GgufValue::as_string() const {
    if (type != GgufValueType::STRING) wrong_type(*this, "a string");
    return s;
}

std::vector<int64_t> GgufValue::as_int_array() const {
    if (!is_array()) wrong_type(*this, "an integer array");
    std::vector<int64_t> out(count);
    for (uint64_t k = 0; k < count; ++k) out[k] = element_as_int(*this, k);
    return out;
}

std::vector<double> GgufValue::as_float_array() const {
    if (!is_array()) wrong_type(*this, "a float array");
    std::vector<double> out(count);
    for (uint64_t k = 0; k < count; ++k) {
        if (elem_type == GgufValueType::F32) out[k] = elem<float>(*this, k);
        else if (elem_type == GgufValueType::F64) out[k] = elem<double>(*this, k);
        else out[k] = static_cast<double>(element_as_int(*this, k));
    }
    return out;
}

std::vector<std::string_view> GgufValue::as_string_array() const {
    if (!is_array() || elem_type != GgufValueType::STRING) wrong_type(*this, "a string array");
    std::vector<std::string_view> out;
    out.reserve(count);
    const uint8_t* p = raw;
    for (uint64_t k = 0; k < count; ++k) {  // already validated at parse time
        uint64_t n;
        std::memcpy(&n, p, 8);
        out.emplace_back(reinterpret_cast<const char*>(p + 8), n);
        p += 8 + n;
    }
    return out;
}

int64_t GgufTensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;  // overflow excluded at parse time
    return n;
}

}  // namespace scout::io
