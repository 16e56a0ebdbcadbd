// The ggml tensor type ids that GGUF files store, with their block geometry.
// Every id ggml defines is known (so a reader can lay out and skip any tensor);
// only some map to a scout DType (the ones scout can compute with).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/dtype.hpp"

namespace scout::quant {

struct GgmlTypeInfo {
    uint32_t id;                 // ggml_type value stored in GGUF tensor infos
    std::string_view name;       // "Q4_K"
    int64_t block_elems;         // elements per block
    std::size_t block_bytes;     // bytes per block
    std::optional<DType> dtype;  // scout's type, when scout supports it
};

// nullptr for ids ggml does not define (or has removed, e.g. 4, 5, 31-33).
const GgmlTypeInfo* ggml_type_info(uint32_t id);
// The ggml id for a scout type; throws scout::Error for U8/BOOL (no ggml equivalent).
uint32_t ggml_type_id(DType type);
// "F32, F16, BF16, ..." (for error messages).
std::string_view supported_ggml_type_names();

}  // namespace scout::quant
