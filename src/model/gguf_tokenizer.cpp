#include "model/gguf_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "base/error.hpp"

namespace scout::model {

namespace {

// GPT-2's bytes_to_unicode: '!'..'~', 0xA1..0xAC and 0xAE..0xFF keep their code point; the
// remaining 68 bytes (controls, space, 0x7F..0xA0, 0xAD) take U+0100 + n in byte order, so every
// byte becomes a visible, non-space character and merges can be written "left right".
constexpr std::array<uint16_t, 256> byte_level_table() {
    std::array<uint16_t, 256> t{};
    uint16_t next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool kept = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        t[static_cast<std::size_t>(b)] = kept ? static_cast<uint16_t>(b) : next++;
    }
    return t;
}
constexpr std::array<uint16_t, 256> k_byte_level = byte_level_table();

void append_utf8(std::string& out, uint32_t cp) {  // cp < 0x800 here
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace

std::string byte_level_encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) append_utf8(out, k_byte_level[static_cast<uint8_t>(c)]);
    return out;
}

GgufVocab build_gguf_vocab(const text::Tokenizer& tokenizer, int64_t n_vocab) {
    const int32_t n_regular = tokenizer.n_regular(), n_tok = tokenizer.n_vocab();
    check(n_vocab >= n_tok, cat("the model's vocab_size (", n_vocab, ") is smaller than the tokenizer's ", n_tok,
                                " tokens (", tokenizer.source(), "): they do not belong together"));
    GgufVocab v;
    v.tokens.reserve(static_cast<std::size_t>(n_vocab));
    v.types.reserve(static_cast<std::size_t>(n_vocab));
    for (int32_t id = 0; id < n_regular; ++id) {
        v.tokens.push_back(byte_level_encode(tokenizer.token_bytes(id)));
        v.types.push_back(static_cast<int32_t>(GgufTokenType::normal));
    }
    for (int32_t id = n_regular; id < n_tok; ++id) {
        v.tokens.emplace_back(tokenizer.token_bytes(id));
        v.types.push_back(static_cast<int32_t>(GgufTokenType::control));
    }
    // llama.cpp's converter fills ids the tokenizer lacks the same way; the loader needs one
    // entry per embedding row.
    for (int64_t id = n_tok; id < n_vocab; ++id) {
        v.tokens.push_back(cat("[PAD", id, "]"));
        v.types.push_back(static_cast<int32_t>(GgufTokenType::unused));
    }

    // Merges as transformers' TikTokenConverter rebuilds them from the ranks: every split of a
    // token into two tokens. Visiting tokens in rank order gives the merged-rank order; splits of
    // one token go by the left part's rank (their left parts differ in length, so never tie).
    // The views point into the tokenizer's own storage, which outlives this function.
    std::unordered_map<std::string_view, int32_t> id_of;
    id_of.reserve(static_cast<std::size_t>(n_regular));
    for (int32_t id = 0; id < n_regular; ++id) id_of.emplace(tokenizer.token_bytes(id), id);
    struct Split {
        int32_t left_id;
        std::size_t at;
    };
    std::vector<Split> splits;
    for (int32_t id = 0; id < n_regular; ++id) {
        const std::string_view t = tokenizer.token_bytes(id);
        splits.clear();
        for (std::size_t at = 1; at < t.size(); ++at) {
            const auto l = id_of.find(t.substr(0, at));
            if (l == id_of.end() || !id_of.contains(t.substr(at))) continue;
            splits.push_back({l->second, at});
        }
        std::sort(splits.begin(), splits.end(), [](const Split& a, const Split& b) { return a.left_id < b.left_id; });
        for (const Split& s : splits)
            v.merges.push_back(byte_level_encode(t.substr(0, s.at)) + ' ' + byte_level_encode(t.substr(s.at)));
    }
    return v;
}

void add_gguf_tokenizer(io::GgufWriter& writer, const text::Tokenizer& tokenizer, int64_t n_vocab) {
    const GgufVocab v = build_gguf_vocab(tokenizer, n_vocab);
    writer.add_string("tokenizer.ggml.model", "gpt2");
    // llama.cpp maps "llama4" to its GPT-4o pre-tokenizer regex, the o200k pattern Llama 4 uses.
    writer.add_string("tokenizer.ggml.pre", "llama4");
    writer.add_string_array("tokenizer.ggml.tokens", v.tokens);
    writer.add_i32_array("tokenizer.ggml.token_type", v.types);
    writer.add_string_array("tokenizer.ggml.merges", v.merges);
    writer.add_bool("tokenizer.ggml.add_bos_token", true);
}

}  // namespace scout::model
