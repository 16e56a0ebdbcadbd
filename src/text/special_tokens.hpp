// The 2,048 Llama 4 special tokens (ids 200000..202047), built exactly as llama-models'
// tokenizer.py does (tokenizer.md §1.2), and the named ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scout::text {

inline constexpr int32_t k_n_regular = 200000;
inline constexpr int32_t k_n_special = 2048;
inline constexpr int32_t k_n_vocab = k_n_regular + k_n_special;  // 202048

namespace token {
inline constexpr int32_t bos = 200000;              // <|begin_of_text|>
inline constexpr int32_t eos = 200001;              // <|end_of_text|>
inline constexpr int32_t header_start = 200005;
inline constexpr int32_t header_end = 200006;
inline constexpr int32_t eom = 200007;
inline constexpr int32_t eot = 200008;
inline constexpr int32_t python_start = 200016;
inline constexpr int32_t python_end = 200017;
inline constexpr int32_t pad = 200018;              // <|finetune_right_pad|>
inline constexpr int32_t image_start = 200080;
inline constexpr int32_t image_end = 200081;
inline constexpr int32_t tile_x_separator = 200084;
inline constexpr int32_t tile_y_separator = 200085;
inline constexpr int32_t image = 200090;
inline constexpr int32_t patch = 200092;
inline constexpr int32_t thinking_start = 201142;
inline constexpr int32_t thinking_end = 201143;
}  // namespace token

// Names of ids 200000..202047 in order.
std::vector<std::string> llama4_special_tokens();

}  // namespace scout::text
