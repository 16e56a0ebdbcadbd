#include "io/gguf.hpp"

#include <bit>
#include <cstring>
#include <limits>

#include "base/error.hpp"
#include "quant/ggml_types.hpp"

namespace scout::io {
namespace {

constexpr uint32_t kMagic = 0x46554747;    // "GGUF" read as a little-endian u32
constexpr int kMaxDims = 4;                // GGML_MAX_DIMS
constexpr uint64_t kDefaultAlignment = 32; // GGUF_DEFAULT_ALIGNMENT
constexpr uint64_t kMaxStringLen = uint64_t{1} << 30;  // sanity bound on one key/value string

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

// Size in bytes of a fixed-size value type; 0 for STRING and ARRAY.
std::size_t scalar_size(GgufValueType t) {
    switch (t) {
        case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
        case GgufValueType::U16: case GgufValueType::I16: return 2;
        case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
        case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
        default: return 0;
    }
}

bool is_valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::F64); }

// Bounds-checked little-endian reader over the file bytes.
class Cursor {
public:
    Cursor(std::span<const uint8_t> b, const std::string& label) : b_(b), label_(label) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(cat("GGUF file ", label_, ": ", what));
    }
    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return b_.size() - pos_; }

    void need(uint64_t n, const char* what) const {
        if (n > remaining())
            fail(cat("truncated: ", what, " needs ", n, " bytes at offset ", pos_, " but the file has ",
                     remaining(), " left (file size ", b_.size(), ")"));
    }
    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, b_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string_view read_string(const char* what) {
        const uint64_t n = read<uint64_t>(what);
        if (n > kMaxStringLen) fail(cat(what, ": string length ", n, " at offset ", pos_ - 8, " is absurd"));
        need(n, what);
        std::string_view s(reinterpret_cast<const char*>(b_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    const uint8_t* here() const { return b_.data() + pos_; }
    void skip(uint64_t n, const char* what) {
        need(n, what);
        pos_ += n;
    }

private:
    std::span<const uint8_t> b_;
    const std::string& label_;
    uint64_t pos_ = 0;
};

GgufValue read_scalar(Cursor& c, GgufValueType t, const char* what) {
    GgufValue v;
    v.type = t;
    switch (t) {
        case GgufValueType::U8: v.u = c.read<uint8_t>(what); break;
        case GgufValueType::I8: v.i = c.read<int8_t>(what); break;
        case GgufValueType::U16: v.u = c.read<uint16_t>(what); break;
        case GgufValueType::I16: v.i = c.read<int16_t>(what); break;
        case GgufValueType::U32: v.u = c.read<uint32_t>(what); break;
        case GgufValueType::I32: v.i = c.read<int32_t>(what); break;
        case GgufValueType::F32: v.f = c.read<float>(what); break;
        case GgufValueType::U64: v.u = c.read<uint64_t>(what); break;
        case GgufValueType::I64: v.i = c.read<int64_t>(what); break;
        case GgufValueType::F64: v.f = c.read<double>(what); break;
        case GgufValueType::BOOL: {
            const uint8_t b = c.read<uint8_t>(what);
            if (b > 1) c.fail(cat(what, ": bool value ", int{b}, " at offset ", c.pos() - 1, " is not 0 or 1"));
            v.u = b;
            break;
        }
        case GgufValueType::STRING: v.s = c.read_string(what); break;
        case GgufValueType::ARRAY: c.fail(cat(what, ": nested arrays are not supported"));
    }
    return v;
}

GgufValue read_value(Cursor& c, GgufValueType t, const std::string& key) {
    const std::string what = "value of key \"" + key + "\"";
    if (t != GgufValueType::ARRAY) return read_scalar(c, t, what.c_str());
    GgufValue v;
    v.type = t;
    const uint32_t et = c.read<uint32_t>(what.c_str());
    if (!is_valid_type(et)) c.fail(cat(what, ": unknown array element type ", et));
    v.elem_type = static_cast<GgufValueType>(et);
    if (v.elem_type == GgufValueType::ARRAY) c.fail(cat(what, ": nested arrays are not supported"));
    v.count = c.read<uint64_t>(what.c_str());
    v.raw = c.here();
    const uint64_t start = c.pos();
    if (const std::size_t es = scalar_size(v.elem_type)) {
        if (v.count > c.remaining() / es)
            c.fail(cat(what, ": array of ", v.count, " ", gguf_value_type_name(v.elem_type),
                       " elements runs past the end of the file"));
        c.skip(v.count * es, what.c_str());
        if (v.elem_type == GgufValueType::BOOL)
            for (uint64_t k = 0; k < v.count; ++k)
                if (v.raw[k] > 1) c.fail(cat(what, ": bool element ", k, " is not 0 or 1"));
    } else {  // strings: each at least 8 bytes (its length)
        if (v.count > c.remaining() / 8)
            c.fail(cat(what, ": array of ", v.count, " strings runs past the end of the file"));
        for (uint64_t k = 0; k < v.count; ++k) c.read_string(what.c_str());
    }
    v.raw_size = static_cast<std::size_t>(c.pos() - start);
    return v;
}

}  // namespace

GgufFile::GgufFile(const std::filesystem::path& path) : GgufFile(path, SplitPart{}) { open_split_parts(path); }

GgufFile::GgufFile(const std::filesystem::path& path, SplitPart) : map_(std::in_place, path), label_(path.string()) {
    bytes_ = map_->bytes();
    parse();
}

namespace {
std::string part_number(int64_t i) {  // gguf-split's %05d
    std::string s = std::to_string(i);
    return std::string(s.size() < 5 ? 5 - s.size() : 0, '0') + s;
}
}  // namespace

void GgufFile::open_split_parts(const std::filesystem::path& first) {
    const GgufValue* count = find("split.count");
    if (count == nullptr) return;
    const int64_t n = count->as_int();
    if (n <= 1) return;
    if (n > 9999) throw Error(cat("GGUF file ", label_, ": split.count ", n, " is absurd"));
    const int64_t no = get_int("split.no", 0);
    const std::string of_n = cat("-of-", part_number(n), ".gguf");
    if (no != 0)
        throw Error(cat("GGUF file ", label_, " is part ", no + 1, " of a model split into ", n,
                        " files; pass its first part (the file ending in -", part_number(1), of_n, ")"));
    const std::string name = first.filename().string();
    const std::string suffix = cat("-", part_number(1), of_n);
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        throw Error(cat("GGUF file ", label_, " is the first of ", n, " parts of a split model, but its name does not end in ",
                        suffix, " as llama.cpp's gguf-split names the parts, so the others cannot be found; rename the parts "
                        "(PREFIX", suffix, ", PREFIX-", part_number(2), of_n, ", ...) or merge them with "
                        "`llama-gguf-split --merge FIRST_PART.gguf OUT.gguf`"));
    const std::string prefix = name.substr(0, name.size() - suffix.size());
    for (int64_t i = 1; i < n; ++i) {
        const std::filesystem::path path = first.parent_path() / cat(prefix, "-", part_number(i + 1), of_n);
        if (!std::filesystem::exists(path))
            throw Error(cat("split GGUF model ", label_, ": part ", i + 1, " of ", n, " is missing (expected ", path.string(), ")"));
        GgufFile part(path, SplitPart{});
        if (part.get_int("split.no", -1) != i || part.get_int("split.count", -1) != n)
            throw Error(cat("split GGUF model ", label_, ": ", path.string(), " says it is part ", part.get_int("split.no", -1) + 1,
                            " of ", part.get_int("split.count", -1), ", expected part ", i + 1, " of ", n));
        for (GgufTensorInfo t : part.tensors_) {
            t.part = static_cast<uint32_t>(i);
            tensors_.push_back(std::move(t));
        }
        parts_.push_back(std::move(part));
    }
    // Names are views into tensors_, which has grown: index again (and catch a name in two parts).
    tensor_index_.clear();
    for (std::size_t i = 0; i < tensors_.size(); ++i)
        if (!tensor_index_.emplace(tensors_[i].name, i).second)
            throw Error(cat("split GGUF model ", label_, ": tensor \"", tensors_[i].name, "\" is in more than one part"));
    if (const GgufValue* total = find("split.tensors.count"); total != nullptr && total->as_int() != static_cast<int64_t>(tensors_.size()))
        throw Error(cat("split GGUF model ", label_, ": split.tensors.count says ", total->as_int(), " tensors, the ", n,
                        " parts hold ", tensors_.size()));
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& t) const {
    const GgufFile& f = t.part == 0 ? *this : parts_[t.part - 1];
    return f.bytes_.data() + f.data_offset_ + t.offset;
}

GgufFile::GgufFile(std::span<const uint8_t> bytes, std::string label) : bytes_(bytes), label_(std::move(label)) {
    parse();
}

void GgufFile::parse() {
    Cursor c(bytes_, label_);
    if (bytes_.size() < 4 || c.read<uint32_t>("magic") != kMagic)
        c.fail("not a GGUF file (the first 4 bytes are not \"GGUF\")");
    version_ = c.read<uint32_t>("version");
    if (version_ == 1) c.fail("GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
    if (version_ != 2 && version_ != 3)
        c.fail(cat("unsupported GGUF version ", version_, " (supported: 2, 3; a big-endian file reads as a huge version)"));
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Each KV needs >= 13 bytes (key length, type, 1-byte value), each tensor info >= 32
    // (name length, n_dims, one dim, type, offset): bound the counts by the file size
    // before reserving anything.
    if (n_kv > c.remaining() / 13) c.fail(cat("metadata count ", n_kv, " is absurd for a file of ", bytes_.size(), " bytes"));
    kv_.reserve(n_kv);
    std::unordered_map<std::string_view, std::size_t> kv_index;
    for (uint64_t k = 0; k < n_kv; ++k) {
        const std::string_view key = c.read_string("metadata key");
        const uint32_t t = c.read<uint32_t>("metadata value type");
        if (!is_valid_type(t)) c.fail(cat("metadata key \"", key, "\" has unknown value type ", t));
        GgufValue v = read_value(c, static_cast<GgufValueType>(t), std::string(key));
        if (!kv_index.emplace(key, kv_.size()).second) c.fail(cat("duplicate metadata key \"", key, "\""));
        kv_.push_back({std::string(key), v});
    }
    if (const GgufValue* a = nullptr; (a = find_in(kv_index, "general.alignment"))) {
        if (a->type != GgufValueType::U32)
            c.fail(cat("general.alignment has type ", gguf_value_type_name(a->type), ", expected u32"));
        if (a->u == 0 || (a->u & (a->u - 1)) != 0)
            c.fail(cat("general.alignment ", a->u, " is not a power of two"));
        alignment_ = a->u;
    } else {
        alignment_ = kDefaultAlignment;
    }
    kv_index_ = std::move(kv_index);

    if (n_tensors > c.remaining() / 32)
        c.fail(cat("tensor count ", n_tensors, " is absurd for a file of ", bytes_.size(), " bytes"));
    tensors_.reserve(n_tensors);
    std::unordered_map<std::string_view, std::size_t> tensor_index;
    for (uint64_t k = 0; k < n_tensors; ++k) {
        GgufTensorInfo t;
        const std::string_view name = c.read_string("tensor name");
        t.name = std::string(name);
        const std::string what = "tensor \"" + t.name + "\"";
        const uint32_t n_dims = c.read<uint32_t>(what.c_str());
        if (n_dims == 0 || n_dims > kMaxDims) c.fail(cat(what, " has ", n_dims, " dims (expected 1 to ", kMaxDims, ")"));
        uint64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t n = c.read<uint64_t>(what.c_str());
            if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (n != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / n))
                c.fail(cat(what, ": dims overflow (dim ", d, " = ", n, ")"));
            numel *= n;
            t.ne.push_back(static_cast<int64_t>(n));
        }
        t.ggml_type = c.read<uint32_t>(what.c_str());
        const quant::GgmlTypeInfo* ti = quant::ggml_type_info(t.ggml_type);
        if (!ti) c.fail(cat(what, " has unknown tensor type id ", t.ggml_type));
        t.type_name = ti->name;
        t.dtype = ti->dtype;
        if (t.ne[0] % ti->block_elems != 0)
            c.fail(cat(what, ": row length ", t.ne[0], " is not a multiple of the ", ti->name, " block size ", ti->block_elems));
        const uint64_t blocks = numel / static_cast<uint64_t>(ti->block_elems);
        if (blocks > std::numeric_limits<uint64_t>::max() / ti->block_bytes) c.fail(cat(what, ": byte size overflows"));
        t.nbytes = blocks * ti->block_bytes;
        t.offset = c.read<uint64_t>(what.c_str());
        if (t.offset % alignment_ != 0)
            c.fail(cat(what, ": data offset ", t.offset, " is not a multiple of the alignment ", alignment_));
        if (!tensor_index.emplace(name, tensors_.size()).second) c.fail(cat("duplicate tensor name \"", t.name, "\""));
        tensors_.push_back(std::move(t));
    }
    // The data section starts at the next multiple of the alignment.
    const uint64_t end_of_infos = c.pos();
    data_offset_ = end_of_infos + (alignment_ - end_of_infos % alignment_) % alignment_;
    if (!tensors_.empty() && data_offset_ > bytes_.size())
        c.fail(cat("truncated: the data section would start at offset ", data_offset_, " past the end of the file (size ",
                   bytes_.size(), ")"));
    const uint64_t data_size = tensors_.empty() ? 0 : bytes_.size() - data_offset_;
    for (const GgufTensorInfo& t : tensors_) {
        if (t.offset > data_size || t.nbytes > data_size - t.offset)
            c.fail(cat("truncated: tensor \"", t.name, "\" (", t.type_name, ", ", t.nbytes, " bytes at data offset ", t.offset,
                       ") runs past the end of the data section (", data_size, " bytes)"));
    }
    tensor_index_ = std::move(tensor_index);
}

const GgufValue* GgufFile::find_in(const std::unordered_map<std::string_view, std::size_t>& index, std::string_view key) const {
    auto it = index.find(key);
    return it == index.end() ? nullptr : &kv_[it->second].value;
}

const GgufValue* GgufFile::find(std::string_view key) const { return find_in(kv_index_, key); }

const GgufValue& GgufFile::get(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) throw Error(cat("GGUF file ", label_, ": missing metadata key \"", key, "\""));
    return *v;
}

namespace {
template <typename F>
auto with_key(const GgufFile& f, std::string_view key, F&& fn) {
    try {
        return fn(f.get(key));
    } catch (const Error& e) {
        throw Error(cat("GGUF file ", f.label(), ": metadata key \"", key, "\": ", e.what()));
    }
}
}  // namespace

int64_t GgufFile::get_int(std::string_view key, int64_t fallback) const {
    if (!find(key)) return fallback;
    return with_key(*this, key, [](const GgufValue& v) { return v.as_int(); });
}

double GgufFile::get_float(std::string_view key, double fallback) const {
    if (!find(key)) return fallback;
    return with_key(*this, key, [](const GgufValue& v) { return v.as_float(); });
}

std::string_view GgufFile::get_string(std::string_view key, std::string_view fallback) const {
    if (!find(key)) return fallback;
    return with_key(*this, key, [](const GgufValue& v) { return v.as_string(); });
}

std::string GgufFile::architecture() const { return std::string(get_string("general.architecture", "")); }

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::view(std::string_view name) const {
    const GgufTensorInfo* t = find_tensor(name);
    if (!t) throw Error(cat("GGUF file ", label_, ": missing tensor \"", name, "\""));
    if (!t->dtype)
        throw Error(cat("GGUF file ", label_, ": tensor \"", name, "\" has type ", t->type_name,
                        ", which scout does not support (supported: ", quant::supported_ggml_type_names(), ")"));
    TensorView v;
    v.name = t->name;
    v.file = t->part == 0 ? label_ : parts_[t->part - 1].label_;
    v.dtype = *t->dtype;
    v.shape = t->shape();
    v.data = tensor_data(*t);
    return v;
}

}  // namespace scout::io
