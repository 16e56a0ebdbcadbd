#include "io/safetensors.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace scout::io {

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
    const std::string where = path.string();
    check(file_.size() >= 8, cat(where, ": too small to be a safetensors file (", file_.size(), " bytes)"));
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file_.data()[i];
    check(header_len <= file_.size() - 8,
          cat(where, ": header length ", header_len, " exceeds the file size ", file_.size(),
              " (truncated or not a safetensors file)"));
    const char* header_begin = reinterpret_cast<const char*>(file_.data() + 8);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_begin, header_begin + header_len);
    } catch (const nlohmann::json::exception& e) {
        throw Error(cat(where, ": header is not valid JSON (", e.what(), ")"));
    }
    check(header.is_object(), cat(where, ": header is not a JSON object"));
    const uint8_t* data = file_.data() + 8 + header_len;
    const uint64_t data_size = file_.size() - 8 - header_len;

    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string ctx = cat(where, ": tensor \"", name, "\"");
        check(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                  entry.contains("data_offsets"),
              cat(ctx, " lacks dtype, shape or data_offsets"));
        check(entry["dtype"].is_string(), cat(ctx, ": dtype is not a string"));
        TensorView view;
        view.name = name;
        view.file = where;
        try {
            view.dtype = dtype_from_safetensors(entry["dtype"].get<std::string>());
        } catch (const Error& e) {
            throw Error(cat(ctx, ": ", e.what()));
        }
        check(entry["shape"].is_array(), cat(ctx, ": shape is not an array"));
        for (const auto& d : entry["shape"]) {
            check(d.is_number_integer() && d.get<int64_t>() >= 0, cat(ctx, ": shape has a bad dimension"));
            view.shape.push_back(d.get<int64_t>());
        }
        const auto& offs = entry["data_offsets"];
        check(offs.is_array() && offs.size() == 2 && offs[0].is_number_unsigned() && offs[1].is_number_unsigned(),
              cat(ctx, ": data_offsets must be two non-negative integers"));
        const uint64_t begin = offs[0].get<uint64_t>();
        const uint64_t end = offs[1].get<uint64_t>();
        check(begin <= end && end <= data_size,
              cat(ctx, ": data range [", begin, ", ", end, ") lies outside the data section of ", data_size,
                  " bytes (truncated file?)"));
        // numel * size must equal the byte range; guard the product against overflow.
        long double expected = dtype_size(view.dtype);
        for (int64_t d : view.shape) expected *= static_cast<long double>(d);
        check(expected == static_cast<long double>(end - begin),
              cat(ctx, ": ", end - begin, " bytes do not match dtype ", dtype_name(view.dtype), " and shape ",
                  shape_str(view.shape)));
        view.data = data + begin;
        tensors_.emplace(name, std::move(view));
    }
}

}  // namespace scout::io
