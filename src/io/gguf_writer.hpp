// GGUF v3 writer (used by `scout quantize` and the tests): metadata, tensor infos,
// then the tensor data streamed in declaration order, each tensor padded to the
// alignment. Sizes are known from (type, shape) up front, so a 60 GB model is
// written without holding more than one tensor in memory.
//
// Usage:
//   GgufWriter w(path);                        // writes to path + ".tmp", renamed by finish()
//   w.add_string("general.architecture", "llama4"); w.add_u32("llama4.block_count", 48); ...
//   w.add_tensor_info("token_embd.weight", DType::Q4_K, {202048, 5120});  // PyTorch order
//   w.write_tensor_data("token_embd.weight", bytes);                    // in the same order
//   w.finish();
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/dtype.hpp"
#include "io/gguf.hpp"

namespace scout::io {

class GgufWriter {
public:
    // alignment: power of two; stored as general.alignment when it is not the default 32.
    explicit GgufWriter(std::filesystem::path path, uint32_t alignment = 32);
    ~GgufWriter();  // an unfinished file is removed
    GgufWriter(const GgufWriter&) = delete;
    GgufWriter& operator=(const GgufWriter&) = delete;

    // Metadata (before the first write_tensor_data). Duplicate keys throw.
    void add_u8(std::string_view key, uint8_t v);
    void add_i8(std::string_view key, int8_t v);
    void add_u16(std::string_view key, uint16_t v);
    void add_i16(std::string_view key, int16_t v);
    void add_u32(std::string_view key, uint32_t v);
    void add_i32(std::string_view key, int32_t v);
    void add_u64(std::string_view key, uint64_t v);
    void add_i64(std::string_view key, int64_t v);
    void add_f32(std::string_view key, float v);
    void add_f64(std::string_view key, double v);
    void add_bool(std::string_view key, bool v);
    void add_string(std::string_view key, std::string_view v);
    void add_i32_array(std::string_view key, std::span<const int32_t> v);
    void add_u32_array(std::string_view key, std::span<const uint32_t> v);
    void add_f32_array(std::string_view key, std::span<const float> v);
    void add_string_array(std::string_view key, std::span<const std::string> v);
    // Copies a value read by GgufFile verbatim (any type, arrays included).
    void add_value(std::string_view key, const GgufValue& v);

    // Declares a tensor; shape in PyTorch order (stored reversed, as GGUF's ne[]).
    // The innermost dimension must be a multiple of the type's block size.
    void add_tensor_info(std::string_view name, DType type, const std::vector<int64_t>& shape);
    // Data of the next declared tensor (names must follow declaration order);
    // bytes.size() must equal its row_size * rows.
    void write_tensor_data(std::string_view name, std::span<const uint8_t> bytes);
    // Writes the header if no tensor data was written yet, checks every declared
    // tensor was written, flushes and renames the temporary file to the path.
    void finish();

private:
    struct TensorDecl {
        std::string name;
        DType type;
        std::vector<int64_t> ne;
        uint64_t offset;
        uint64_t nbytes;
    };
    void begin_key(std::string_view key, GgufValueType t);
    void write_header();
    void pad_to_alignment();

    std::filesystem::path path_, tmp_path_;
    uint32_t alignment_;
    std::vector<uint8_t> kv_;  // encoded KV entries
    uint64_t n_kv_ = 0;
    std::unordered_set<std::string> keys_, names_;
    std::vector<TensorDecl> tensors_;
    uint64_t data_size_ = 0;
    std::size_t next_tensor_ = 0;
    bool header_written_ = false, finished_ = false;
    std::ofstream out_;
    uint64_t pos_ = 0;
};

}  // namespace scout::io
