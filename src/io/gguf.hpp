// GGUF (v2/v3) reader: llama.cpp's single-file model format, memory-mapped.
//
// File layout (all little-endian; docs/gguf.md has the details):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv      x { string key | u32 value_type | value }
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32) | data section (tensor offsets are relative to it)
// where string = u64 length + bytes (no terminator) and an array value =
// u32 element type + u64 count + elements.
//
// Every count, length, offset and size is validated against the file size while
// parsing; any inconsistency throws scout::Error naming the file and the problem.
// Metadata strings and arrays are views into the mapping (no copies), so a
// GgufFile must outlive the views it hands out. GGUF dims are in ggml order
// (ne[0] = the contiguous, innermost dimension), i.e. reversed vs PyTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.hpp"
#include "base/tensor_view.hpp"

namespace scout::io {

enum class GgufValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType t);  // "u32", "string", "array", ...

// One metadata value. Scalars are widened into u/i/f; strings and arrays stay in the file.
struct GgufValue {
    GgufValueType type = GgufValueType::U8;
    uint64_t u = 0;               // U8/U16/U32/U64/BOOL
    int64_t i = 0;                // I8/I16/I32/I64
    double f = 0.0;               // F32/F64 (F32 exactly widened)
    std::string_view s;           // STRING (view into the file)
    // ARRAY: element type, element count and the validated raw elements.
    GgufValueType elem_type = GgufValueType::U8;
    uint64_t count = 0;
    const uint8_t* raw = nullptr;
    std::size_t raw_size = 0;     // bytes of the elements (for copying an array verbatim)

    bool is_array() const { return type == GgufValueType::ARRAY; }
    // Typed accessors: throw scout::Error when the stored type does not fit
    // (integers of any width are accepted by as_int/as_uint when the value fits).
    int64_t as_int() const;
    uint64_t as_uint() const;
    double as_float() const;      // F32/F64, or any integer type
    bool as_bool() const;
    std::string_view as_string() const;
    std::vector<int64_t> as_int_array() const;            // integer arrays (u64 must fit int64)
    std::vector<double> as_float_array() const;           // F32/F64 (or integer) arrays
    std::vector<std::string_view> as_string_array() const;  // views into the file
};

struct GgufKV {
    std::string key;
    GgufValue value;
};

struct GgufTensorInfo {
    std::string name;
    uint32_t ggml_type = 0;               // raw ggml_type id
    std::string_view type_name;           // "Q4_K", "Q3_K", ...
    std::optional<DType> dtype;           // set when scout supports the type
    std::vector<int64_t> ne;              // GGUF/ggml order: ne[0] is contiguous
    uint64_t offset = 0;                  // from the start of the data section
    uint64_t nbytes = 0;
    uint32_t part = 0;                    // split models: the file holding the data (0 = the first)

    // PyTorch order (ne reversed): a GGUF [ne0=5120, ne1=202048] is a [202048, 5120] matrix.
    std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
    int64_t numel() const;
};

class GgufFile {
public:
    // Maps and parses the file; throws scout::Error naming the path on any problem.
    // A model split by llama.cpp's gguf-split (split.count > 1) is opened from its first part,
    // PREFIX-00001-of-0000N.gguf: the other parts are found beside it by that naming and their
    // tensors join this file's (metadata comes from the first part, as llama.cpp does).
    explicit GgufFile(const std::filesystem::path& path);
    // Parses bytes owned by the caller (kept alive while this object lives); label names
    // the data in error messages. Used by tests and the fuzzer.
    GgufFile(std::span<const uint8_t> bytes, std::string label);

    GgufFile(GgufFile&&) noexcept = default;
    GgufFile& operator=(GgufFile&&) noexcept = default;

    const std::string& label() const { return label_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }     // file offset of the data section
    std::span<const uint8_t> bytes() const { return bytes_; }

    const std::vector<GgufKV>& metadata() const { return kv_; }  // in file order
    const GgufValue* find(std::string_view key) const;           // nullptr when absent
    const GgufValue& get(std::string_view key) const;            // throws "missing key" naming the file
    // Convenience: typed lookups with a default for absent keys (wrong type still throws).
    int64_t get_int(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key, double fallback) const;
    std::string_view get_string(std::string_view key, std::string_view fallback) const;
    std::string architecture() const;  // general.architecture ("" when absent)

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order, all parts
    const GgufTensorInfo* find_tensor(std::string_view name) const;
    const uint8_t* tensor_data(const GgufTensorInfo& t) const;
    // Files making up the model: 1, or split.count when the parts of a split model were opened.
    std::size_t n_files() const { return 1 + parts_.size(); }
    // A checked view (PyTorch-order shape, scout dtype); throws when the tensor is absent
    // or its type is one scout cannot compute with.
    TensorView view(std::string_view name) const;

private:
    struct SplitPart {};  // opens one part of a split model without following the others
    GgufFile(const std::filesystem::path& path, SplitPart);
    void parse();
    void open_split_parts(const std::filesystem::path& first);
    const GgufValue* find_in(const std::unordered_map<std::string_view, std::size_t>& index,
                             std::string_view key) const;

    std::optional<MappedFile> map_;
    std::span<const uint8_t> bytes_;
    std::string label_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<GgufKV> kv_;
    std::vector<GgufTensorInfo> tensors_;
    std::unordered_map<std::string_view, std::size_t> kv_index_;      // keys view kv_[i].key
    std::unordered_map<std::string_view, std::size_t> tensor_index_;  // names view tensors_[i].name
    std::vector<GgufFile> parts_;  // split models: parts 2..N (their data stays in their own maps)
};

}  // namespace scout::io
