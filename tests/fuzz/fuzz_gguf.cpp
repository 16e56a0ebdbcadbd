// libFuzzer target for the GGUF parser: any byte string must either parse into a
// structure whose every view is in bounds, or throw scout::Error. Everything a
// caller may touch after a successful parse is exercised: metadata accessors
// (arrays included), tensor views and a dequantized first row, and the llama4
// config / tensor checks.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "model/gguf_config.hpp"
#include "quant/quant.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    try {
        scout::io::GgufFile f(std::span<const uint8_t>(data, size), "fuzz");
        for (const auto& kv : f.metadata()) {
            const auto& v = kv.value;
            try {
                if (v.is_array()) {
                    if (v.elem_type == scout::io::GgufValueType::STRING) (void)v.as_string_array();
                    else (void)v.as_float_array();
                } else {
                    (void)v.as_float();
                }
            } catch (const scout::Error&) {
            }
        }
        std::vector<float> row;
        for (const auto& t : f.tensors()) {
            if (!t.dtype || !scout::quant::is_float_type(*t.dtype) || t.ne[0] == 0) continue;
            const scout::TensorView v = f.view(t.name);
            if (v.numel() == 0) continue;
            const int64_t n = std::min<int64_t>(t.ne[0], 4096);  // a bounded prefix of row 0
            const int64_t bs = scout::quant::block_size(*t.dtype);
            const int64_t m = n - n % bs;
            if (m == 0) continue;
            row.resize(static_cast<std::size_t>(m));
            try {
                scout::quant::dequantize_row(*t.dtype, v.data, row.data(), m);
            } catch (const scout::Error&) {  // misaligned data (alignment < 2) is reported, not read
            }
        }
        if (f.architecture() == "llama4") {
            const auto g = scout::model::gguf_model_config(f);
            scout::model::check_llama4_tensors(f, g.config.text);
        }
    } catch (const scout::Error&) {
    }
    return 0;
}
