// One .safetensors file: 8-byte little-endian header length, a JSON header mapping
// tensor names to {dtype, shape, data_offsets}, then the raw little-endian data.
// The file is memory-mapped; tensor views point into the mapping.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "base/mapped_file.hpp"
#include "base/tensor_view.hpp"

namespace scout::io {

class SafetensorsFile {
public:
    // Maps and validates the file: every tensor's byte range must lie inside the
    // data section and match dtype × shape. Throws scout::Error naming the file.
    explicit SafetensorsFile(const std::filesystem::path& path);

    const std::map<std::string, TensorView>& tensors() const { return tensors_; }
    const std::filesystem::path& path() const { return file_.path(); }
    std::size_t file_size() const { return file_.size(); }
    const MappedFile& mapping() const { return file_; }

private:
    MappedFile file_;
    std::map<std::string, TensorView> tensors_;
};

}  // namespace scout::io
