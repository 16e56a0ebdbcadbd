#include "model/gguf_tokenizer_read.hpp"

#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "model/gguf_tokenizer.hpp"
#include "text/byte_level.hpp"
#include "text/special_tokens.hpp"

namespace scout::model {

namespace {

constexpr const char* k_fix = "pass --tokenizer with Llama 4's tokenizer.model (tools/fetch_tokenizer.sh fetches it)";

// HF's tokenizer.json defines the specials up to here; llama.cpp's converter writes the ids it
// leaves out (the reasoning and generic reserved ones) as "[PAD<id>]", except that transformers
// puts the converter's stray pad name "<|finetune_right_pad_id|>" at 201134 (tokenizer.md §4).
// No text maps to those names, and scout knows the real ones, so any name is accepted there.
constexpr int64_t k_first_unnamed_by_hf = 201134;

}  // namespace

GgufTokenizerInfo gguf_tokenizer_info(const io::GgufFile& f) {
    GgufTokenizerInfo info;
    const io::GgufValue* tokens = f.find("tokenizer.ggml.tokens");
    info.has_vocab = tokens != nullptr;
    if (tokens != nullptr && tokens->is_array()) info.n_tokens = tokens->count;
    info.model = std::string(f.get_string("tokenizer.ggml.model", ""));
    info.pre = std::string(f.get_string("tokenizer.ggml.pre", ""));
    info.has_chat_template = f.find("tokenizer.chat_template") != nullptr;
    return info;
}

text::Tokenizer tokenizer_from_gguf(const io::GgufFile& f) {
    const std::string& src = f.label();
    const GgufTokenizerInfo info = gguf_tokenizer_info(f);
    check(info.has_vocab, cat(src, " has no tokenizer.ggml.tokens; ", k_fix));
    // Llama 4 is a byte-level BPE ("gpt2") split by the o200k pattern, which llama.cpp calls
    // "llama4": anything else is another model's tokenizer, which scout's BPE would mis-encode.
    check(info.model == "gpt2" && info.pre == "llama4",
          cat(src, ": its tokenizer is tokenizer.ggml.model '", info.model, "', pre '", info.pre,
              "', not Llama 4's ('gpt2', pre 'llama4'); ", k_fix));
    const std::vector<std::string_view> tokens = f.get("tokenizer.ggml.tokens").as_string_array();
    std::vector<int64_t> types;
    if (const io::GgufValue* t = f.find("tokenizer.ggml.token_type")) types = t->as_int_array();
    check(types.empty() || types.size() == tokens.size(),
          cat(src, ": tokenizer.ggml.token_type has ", types.size(), " entries for ", tokens.size(), " tokens"));
    check(tokens.size() >= static_cast<size_t>(text::k_n_regular),
          cat(src, ": has ", tokens.size(), " tokens, fewer than Llama 4's ", text::k_n_regular, "; ", k_fix));

    // Regular tokens: id = tiktoken rank, so scout's rank-based BPE needs only their bytes; the
    // merges a GGUF also carries are derived from these ranks and add nothing.
    std::vector<std::string> regular(static_cast<size_t>(text::k_n_regular));
    for (int64_t id = 0; id < text::k_n_regular; ++id) {
        const auto i = static_cast<size_t>(id);
        check(types.empty() || types[i] == static_cast<int64_t>(GgufTokenType::normal),
              cat(src, ": token ", id, " has token_type ", types.empty() ? 0 : types[i],
                  " but Llama 4's ids below 200000 are normal (1); ", k_fix));
        check(text::byte_level_decode(tokens[i], regular[i]),
              cat(src, ": token ", id, " is not GPT-2 byte-level text; ", k_fix));
    }
    // Specials keep the names tokenizer.model gives them, so the chat format finds them.
    std::vector<std::string> specials = text::llama4_special_tokens();
    for (int64_t id = text::k_n_regular; id < k_first_unnamed_by_hf && static_cast<size_t>(id) < tokens.size(); ++id) {
        const std::string_view got = tokens[static_cast<size_t>(id)];
        const std::string& want = specials[static_cast<size_t>(id - text::k_n_regular)];
        check(got == want, cat(src, ": token ", id, " is '", got, "' but Llama 4 has '", want, "'; ", k_fix));
    }
    // Ids from 202048 on pad the embedding rows when vocab_size is larger; no text maps to them.
    return text::Tokenizer::from_vocab(std::move(regular), std::move(specials),
                                       cat(src, " (tokenizer.ggml.* vocabulary)"));
}

}  // namespace scout::model
