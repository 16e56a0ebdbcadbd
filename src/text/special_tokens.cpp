#include "text/special_tokens.hpp"

#include <string>

#include "base/error.hpp"

namespace scout::text {
namespace {

void add_reserved(std::vector<std::string>& v, const std::string& family, int first, int count) {
    for (int i = first; i < first + count; ++i) v.push_back("<|" + family + "_reserved_special_token_" + std::to_string(i) + "|>");
}

}  // namespace

std::vector<std::string> llama4_special_tokens() {
    std::vector<std::string> v = {
        "<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
        // LLAMA4_TEXT_POST_TRAIN_SPECIAL_TOKENS: names _6 and _7 were renamed python_start/python_end.
        "<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>",
    };
    add_reserved(v, "text_post_train", 0, 6);
    v.insert(v.end(), {"<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"});
    add_reserved(v, "text_post_train", 8, 61);
    // LLAMA4_VISION_SPECIAL_TOKENS
    v.insert(v.end(), {"<|image_start|>", "<|image_end|>"});
    add_reserved(v, "vision", 0, 2);
    v.insert(v.end(), {"<|tile_x_separator|>", "<|tile_y_separator|>"});
    add_reserved(v, "vision", 2, 4);
    v.push_back("<|image|>");
    add_reserved(v, "vision", 6, 1);
    v.push_back("<|patch|>");
    add_reserved(v, "vision", 7, 1041);
    // LLAMA4_REASONING_SPECIAL_TOKENS
    add_reserved(v, "reasoning", 0, 8);
    v.insert(v.end(), {"<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"});
    // Padding to num_reserved_special_tokens with the generic names.
    const int n_generic = k_n_special - static_cast<int>(v.size());
    for (int i = 0; i < n_generic; ++i) v.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
    check(v.size() == static_cast<size_t>(k_n_special), "internal: special token list has the wrong size");
    return v;
}

}  // namespace scout::text
