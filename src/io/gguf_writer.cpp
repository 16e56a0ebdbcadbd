#include "io/gguf_writer.hpp"

#include <cstring>

#include "base/error.hpp"
#include "quant/ggml_types.hpp"
#include "quant/quant.hpp"

namespace scout::io {
namespace {

template <typename T>
void put(std::vector<uint8_t>& b, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
}

void put_string(std::vector<uint8_t>& b, std::string_view s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
}

}  // namespace

GgufWriter::GgufWriter(std::filesystem::path path, uint32_t alignment)
    : path_(std::move(path)), tmp_path_(path_.string() + ".tmp"), alignment_(alignment) {
    check(alignment != 0 && (alignment & (alignment - 1)) == 0,
          cat("GGUF writer: alignment ", alignment, " is not a power of two"));
    if (alignment != 32) add_u32("general.alignment", alignment);
}

GgufWriter::~GgufWriter() {
    if (!finished_) {
        out_.close();
        std::error_code ec;
        std::filesystem::remove(tmp_path_, ec);
    }
}

void GgufWriter::begin_key(std::string_view key, GgufValueType t) {
    check(!header_written_, cat("GGUF writer: metadata key \"", key, "\" added after tensor data"));
    check(keys_.emplace(key).second, cat("GGUF writer: duplicate metadata key \"", key, "\""));
    put_string(kv_, key);
    put<uint32_t>(kv_, static_cast<uint32_t>(t));
    ++n_kv_;
}

void GgufWriter::add_u8(std::string_view k, uint8_t v) { begin_key(k, GgufValueType::U8); put(kv_, v); }
void GgufWriter::add_i8(std::string_view k, int8_t v) { begin_key(k, GgufValueType::I8); put(kv_, v); }
void GgufWriter::add_u16(std::string_view k, uint16_t v) { begin_key(k, GgufValueType::U16); put(kv_, v); }
void GgufWriter::add_i16(std::string_view k, int16_t v) { begin_key(k, GgufValueType::I16); put(kv_, v); }
void GgufWriter::add_u32(std::string_view k, uint32_t v) { begin_key(k, GgufValueType::U32); put(kv_, v); }
void GgufWriter::add_i32(std::string_view k, int32_t v) { begin_key(k, GgufValueType::I32); put(kv_, v); }
void GgufWriter::add_u64(std::string_view k, uint64_t v) { begin_key(k, GgufValueType::U64); put(kv_, v); }
void GgufWriter::add_i64(std::string_view k, int64_t v) { begin_key(k, GgufValueType::I64); put(kv_, v); }
void GgufWriter::add_f32(std::string_view k, float v) { begin_key(k, GgufValueType::F32); put(kv_, v); }
void GgufWriter::add_f64(std::string_view k, double v) { begin_key(k, GgufValueType::F64); put(kv_, v); }
void GgufWriter::add_bool(std::string_view k, bool v) {
    begin_key(k, GgufValueType::BOOL);
    put<uint8_t>(kv_, v ? 1 : 0);
}
void GgufWriter::add_string(std::string_view k, std::string_view v) {
    begin_key(k, GgufValueType::STRING);
    put_string(kv_, v);
}

namespace {
template <typename T>
void put_array(std::vector<uint8_t>& b, GgufValueType et, std::span<const T> v) {
    put<uint32_t>(b, static_cast<uint32_t>(et));
    put<uint64_t>(b, v.size());
    for (const T& x : v) put(b, x);
}
}  // namespace

void GgufWriter::add_i32_array(std::string_view k, std::span<const int32_t> v) {
    begin_key(k, GgufValueType::ARRAY);
    put_array(kv_, GgufValueType::I32, v);
}
void GgufWriter::add_u32_array(std::string_view k, std::span<const uint32_t> v) {
    begin_key(k, GgufValueType::ARRAY);
    put_array(kv_, GgufValueType::U32, v);
}
void GgufWriter::add_f32_array(std::string_view k, std::span<const float> v) {
    begin_key(k, GgufValueType::ARRAY);
    put_array(kv_, GgufValueType::F32, v);
}
void GgufWriter::add_string_array(std::string_view k, std::span<const std::string> v) {
    begin_key(k, GgufValueType::ARRAY);
    put<uint32_t>(kv_, static_cast<uint32_t>(GgufValueType::STRING));
    put<uint64_t>(kv_, v.size());
    for (const std::string& s : v) put_string(kv_, s);
}

void GgufWriter::add_value(std::string_view k, const GgufValue& v) {
    begin_key(k, v.type);
    switch (v.type) {
        case GgufValueType::U8: put<uint8_t>(kv_, static_cast<uint8_t>(v.u)); break;
        case GgufValueType::I8: put<int8_t>(kv_, static_cast<int8_t>(v.i)); break;
        case GgufValueType::U16: put<uint16_t>(kv_, static_cast<uint16_t>(v.u)); break;
        case GgufValueType::I16: put<int16_t>(kv_, static_cast<int16_t>(v.i)); break;
        case GgufValueType::U32: put<uint32_t>(kv_, static_cast<uint32_t>(v.u)); break;
        case GgufValueType::I32: put<int32_t>(kv_, static_cast<int32_t>(v.i)); break;
        case GgufValueType::F32: put<float>(kv_, static_cast<float>(v.f)); break;
        case GgufValueType::BOOL: put<uint8_t>(kv_, v.u ? 1 : 0); break;
        case GgufValueType::STRING: put_string(kv_, v.s); break;
        case GgufValueType::U64: put<uint64_t>(kv_, v.u); break;
        case GgufValueType::I64: put<int64_t>(kv_, v.i); break;
        case GgufValueType::F64: put<double>(kv_, v.f); break;
        case GgufValueType::ARRAY:
            put<uint32_t>(kv_, static_cast<uint32_t>(v.elem_type));
            put<uint64_t>(kv_, v.count);
            kv_.insert(kv_.end(), v.raw, v.raw + v.raw_size);
            break;
    }
}

void GgufWriter::add_tensor_info(std::string_view name, DType type, const std::vector<int64_t>& shape) {
    const std::string what = cat("GGUF writer: tensor \"", name, "\"");
    check(!header_written_, cat(what, " declared after tensor data"));
    check(!shape.empty() && shape.size() <= 4, cat(what, ": ", shape.size(), " dims (expected 1 to 4)"));
    check(names_.emplace(name).second, cat(what, " declared twice"));
    TensorDecl t{std::string(name), type, {shape.rbegin(), shape.rend()}, 0, 0};
    int64_t rows = 1;
    for (std::size_t d = 1; d < t.ne.size(); ++d) {
        check(t.ne[d] >= 0, cat(what, ": negative dim"));
        rows *= t.ne[d];
    }
    t.nbytes = quant::row_size(type, t.ne[0]) * static_cast<uint64_t>(rows);
    quant::ggml_type_id(type);  // throws for types GGUF cannot store
    t.offset = data_size_;
    data_size_ += t.nbytes;
    data_size_ += (alignment_ - data_size_ % alignment_) % alignment_;
    tensors_.push_back(std::move(t));
}

void GgufWriter::write_header() {
    out_.open(tmp_path_, std::ios::binary | std::ios::trunc);
    check(out_.good(), cat("GGUF writer: cannot create ", tmp_path_.string()));
    std::vector<uint8_t> h;
    put<uint32_t>(h, 0x46554747);  // "GGUF"
    put<uint32_t>(h, 3);
    put<uint64_t>(h, tensors_.size());
    put<uint64_t>(h, n_kv_);
    h.insert(h.end(), kv_.begin(), kv_.end());
    for (const TensorDecl& t : tensors_) {
        put_string(h, t.name);
        put<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(h, static_cast<uint64_t>(d));
        put<uint32_t>(h, quant::ggml_type_id(t.type));
        put<uint64_t>(h, t.offset);
    }
    out_.write(reinterpret_cast<const char*>(h.data()), static_cast<std::streamsize>(h.size()));
    pos_ = h.size();
    header_written_ = true;
    pad_to_alignment();
}

void GgufWriter::pad_to_alignment() {
    static constexpr char kZeros[64] = {};
    uint64_t pad = (alignment_ - pos_ % alignment_) % alignment_;
    while (pad > 0) {
        const uint64_t n = std::min<uint64_t>(pad, sizeof(kZeros));
        out_.write(kZeros, static_cast<std::streamsize>(n));
        pad -= n;
        pos_ += n;
    }
}

void GgufWriter::write_tensor_data(std::string_view name, std::span<const uint8_t> bytes) {
    check(!finished_, "GGUF writer: tensor data written after finish()");
    if (!header_written_) write_header();
    check(next_tensor_ < tensors_.size(), cat("GGUF writer: data for undeclared tensor \"", name, "\""));
    const TensorDecl& t = tensors_[next_tensor_];
    check(t.name == name, cat("GGUF writer: expected data for tensor \"", t.name, "\", got \"", name, "\""));
    check(bytes.size() == t.nbytes, cat("GGUF writer: tensor \"", name, "\" needs ", t.nbytes, " bytes, got ", bytes.size()));
    out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    pos_ += bytes.size();
    pad_to_alignment();
    check(out_.good(), cat("GGUF writer: write failed on ", tmp_path_.string(), " (disk full?)"));
    ++next_tensor_;
}

void GgufWriter::finish() {
    check(!finished_, "GGUF writer: finish() called twice");
    if (!header_written_) write_header();
    check(next_tensor_ == tensors_.size(),
          cat("GGUF writer: ", tensors_.size() - next_tensor_, " declared tensors have no data (next: \"",
              next_tensor_ < tensors_.size() ? tensors_[next_tensor_].name : "", "\")"));
    out_.flush();
    check(out_.good(), cat("GGUF writer: write failed on ", tmp_path_.string()));
    out_.close();
    std::filesystem::rename(tmp_path_, path_);
    finished_ = true;
}

}  // namespace scout::io
