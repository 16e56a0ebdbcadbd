// The Llama 4 tokenizer: tiktoken-style BPE over the o200k pre-tokenizer, token-exact with
// llama-models' Tokenizer (tokenizer.md). Immutable after loading; safe to share across threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bpe.hpp"
#include "text/rank_table.hpp"

namespace scout::text {

namespace detail {
struct DecodedText;  // the input as code points, flags and byte offsets (tokenizer.cpp)
}

// Which special-token texts in the input become special ids. The reference default is none:
// typed "<|eot|>" is encoded as ordinary text.
enum class AllowSpecial { none, all, set };

struct EncodeOptions {
    bool bos = false;  // put <|begin_of_text|> first
    bool eos = false;  // put <|end_of_text|> last
    AllowSpecial allow_special = AllowSpecial::none;
    std::vector<std::string> allowed;  // the names allowed when allow_special == set
};

class Tokenizer {
public:
    // Loads a tiktoken `tokenizer.model`, an HF `tokenizer.json`, or a directory holding either
    // (tokenizer.model preferred). Throws scout::Error naming the problem and the fix.
    static Tokenizer load(const std::filesystem::path& path);
    // The same from file contents; `source` names the origin in error messages.
    static Tokenizer from_tiktoken_model(std::string_view contents, const std::string& source);
    static Tokenizer from_hf_json(std::string_view contents, const std::string& source);
    // From a vocabulary another container already decoded (a GGUF's tokenizer.ggml.*):
    // regular[i] is the bytes of rank i, specials[j] the name of id regular.size() + j.
    // Throws scout::Error when it is not Llama 4's shape (200,000 + 2,048 tokens).
    static Tokenizer from_vocab(std::vector<std::string> regular, std::vector<std::string> specials,
                                const std::string& source);

    // Text -> ids. Invalid UTF-8 is first replaced with U+FFFD like Python's errors="replace".
    std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
    void encode_append(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const;
    // BPE alone on raw bytes (no pre-tokenizer), for tests and tools.
    std::vector<int32_t> bpe(std::string_view bytes, BpeMode mode = BpeMode::standard) const;

    // Ids -> bytes (special ids give their text) -> UTF-8 with replacement.
    // Throws scout::Error for an id outside 0..n_vocab()-1.
    std::string decode(std::span<const int32_t> ids) const;
    std::string decode_bytes(std::span<const int32_t> ids) const;  // without the UTF-8 repair
    std::string_view token_bytes(int32_t id) const;

    int32_t n_vocab() const { return static_cast<int32_t>(ranks_.size() + special_names_.size()); }
    int32_t n_regular() const { return static_cast<int32_t>(ranks_.size()); }
    bool is_special(int32_t id) const { return id >= n_regular() && id < n_vocab(); }
    std::optional<int32_t> special_id(std::string_view name) const;
    // Throws when the special token does not exist.
    int32_t special_id_or_throw(std::string_view name) const;
    // The ids that end generation: <|end_of_text|>, <|eom|>, <|eot|>.
    std::vector<int32_t> stop_tokens() const;
    const std::string& source() const { return source_; }

private:
    Tokenizer(std::vector<std::string> regular, std::vector<std::string> specials, std::string source);
    // Encode code points [a, b) of s: the chunk the reference hands to tiktoken.
    void encode_chunk(const detail::DecodedText& d, std::string_view s, size_t a, size_t b, const EncodeOptions& options,
                      std::vector<int32_t>& out) const;
    void encode_ordinary(const detail::DecodedText& d, std::string_view s, size_t a, size_t b, std::vector<int32_t>& out) const;

    RankTable ranks_;
    std::vector<std::string> special_names_;  // [n_special] name of id n_regular + i
    std::unordered_map<std::string, int32_t> special_ids_;
    std::string source_;
};

// Finds the tokenizer file in a model directory: tokenizer.model, else tokenizer.json.
// Throws scout::Error saying what to do when neither is there.
std::filesystem::path find_tokenizer_file(const std::filesystem::path& dir);

}  // namespace scout::text
