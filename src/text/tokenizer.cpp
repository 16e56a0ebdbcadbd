#include "text/tokenizer.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "text/bpe.hpp"
#include "text/pretokenizer.hpp"
#include "text/special_tokens.hpp"
#include "text/unicode_tables.hpp"
#include "text/utf8.hpp"

namespace scout::text {
namespace {

// llama-models' Tokenizer.encode limits (tokenizer.md §2.2), counted in code points.
constexpr size_t k_max_encode_chars = 400'000;
constexpr size_t k_max_same_class_chars = 25'000;

}  // namespace

// The text as code points with flags and byte offsets; input must be valid UTF-8.
struct detail::DecodedText {
    std::vector<uint32_t> cps;
    std::vector<uint8_t> flags;
    std::vector<uint32_t> offsets;  // [n + 1] byte offset of each code point
};

namespace {

void decode_valid(std::string_view s, detail::DecodedText& d) {
    d.cps.clear();
    d.flags.clear();
    d.offsets.clear();
    d.cps.reserve(s.size());
    d.flags.reserve(s.size());
    d.offsets.reserve(s.size() + 1);
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<uint8_t>(s[i]);
        const size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        const uint32_t cp = len == 1 ? b : utf8::decode_at(s, i, len);
        d.cps.push_back(cp);
        d.flags.push_back(unicode::flags_of(cp));
        d.offsets.push_back(static_cast<uint32_t>(i));
        i += len;
    }
    d.offsets.push_back(static_cast<uint32_t>(s.size()));
}

}  // namespace

Tokenizer::Tokenizer(std::vector<std::string> regular, std::vector<std::string> specials, std::string source)
    : ranks_(regular), special_names_(std::move(specials)), source_(std::move(source)) {
    for (size_t i = 0; i < special_names_.size(); ++i)
        special_ids_.emplace(special_names_[i], static_cast<int32_t>(ranks_.size() + i));
    // Every byte must be a token so BPE can always finish.
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        if (ranks_.find(std::string_view(&c, 1)) == RankTable::k_none)
            throw Error(cat(source_, ": byte ", b, " is not a token; the vocabulary is incomplete"));
    }
}

std::optional<int32_t> Tokenizer::special_id(std::string_view name) const {
    const auto it = special_ids_.find(std::string(name));
    if (it == special_ids_.end()) return std::nullopt;
    return it->second;
}

int32_t Tokenizer::special_id_or_throw(std::string_view name) const {
    const auto id = special_id(name);
    check(id.has_value(), cat("unknown special token ", std::string(name)));
    return *id;
}

std::vector<int32_t> Tokenizer::stop_tokens() const { return {token::eos, token::eom, token::eot}; }

std::vector<int32_t> Tokenizer::bpe(std::string_view bytes, BpeMode mode) const {
    std::vector<int32_t> out;
    bpe_encode(ranks_, bytes, out, mode);
    return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
    std::vector<int32_t> out;
    encode_append(text, options, out);
    return out;
}

void Tokenizer::encode_append(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const {
    if (options.allow_special == AllowSpecial::set) {
        for (const auto& name : options.allowed)
            check(special_ids_.count(name) > 0,
                  cat("'", name, "' is not a special token of this tokenizer; allowed specials must be names such as <|eot|>"));
    }
    if (options.bos) out.push_back(token::bos);

    const std::string owned = utf8::is_valid(text) ? std::string() : utf8::sanitize(text);
    const std::string_view s = owned.empty() ? text : std::string_view(owned);

    detail::DecodedText d;
    decode_valid(s, d);
    const size_t n = d.cps.size();
    // 400k-code-point slices, then cut runs of one Python-isspace class every 25k code points.
    for (size_t a = 0; a < n; a += k_max_encode_chars) {
        const size_t b = std::min(n, a + k_max_encode_chars);
        size_t cut = a;
        bool cls = (d.flags[a] & unicode::k_py_space) != 0;
        size_t run = 0;
        for (size_t i = a; i < b; ++i) {
            const bool c = (d.flags[i] & unicode::k_py_space) != 0;
            if (c != cls) {
                cls = c;
                run = 1;
            } else if (++run > k_max_same_class_chars) {
                encode_chunk(d, s, cut, i, options, out);
                cut = i;
                run = 1;
            }
        }
        encode_chunk(d, s, cut, b, options, out);
    }
    if (options.eos) out.push_back(token::eos);
}

void Tokenizer::encode_chunk(const detail::DecodedText& d, std::string_view s, size_t a, size_t b, const EncodeOptions& options,
                             std::vector<int32_t>& out) const {
    if (options.allow_special == AllowSpecial::none) {
        encode_ordinary(d, s, a, b, out);
        return;
    }
    // Leftmost allowed special-token text; no special is a prefix of another, and names never
    // contain "|>", so a candidate runs from "<|" to the next "|>".
    const std::string_view chunk = s.substr(0, d.offsets[b]);
    const auto cp_index = [&](size_t byte) {
        return static_cast<size_t>(std::lower_bound(d.offsets.begin() + a, d.offsets.begin() + b + 1, byte) -
                                   d.offsets.begin());
    };
    size_t start = a;
    size_t search = d.offsets[a];
    while (true) {
        const size_t p = chunk.find("<|", search);
        if (p == std::string_view::npos) break;
        const size_t q = chunk.find("|>", p + 2);
        if (q == std::string_view::npos) break;
        const auto it = special_ids_.find(std::string(chunk.substr(p, q + 2 - p)));
        const bool allowed =
            it != special_ids_.end() &&
            (options.allow_special == AllowSpecial::all ||
             std::find(options.allowed.begin(), options.allowed.end(), it->first) != options.allowed.end());
        if (!allowed) {
            search = p + 1;
            continue;
        }
        encode_ordinary(d, s, start, cp_index(p), out);
        out.push_back(it->second);
        start = cp_index(q + 2);
        search = q + 2;
    }
    encode_ordinary(d, s, start, b, out);
}

void Tokenizer::encode_ordinary(const detail::DecodedText& d, std::string_view s, size_t a, size_t b,
                                std::vector<int32_t>& out) const {
    const CodePointSpan span{d.cps.data() + a, d.flags.data() + a, b - a};
    const uint32_t* offsets = d.offsets.data() + a;
    size_t i = 0;
    while (i < span.n) {
        const size_t len = match_piece(span, i);
        bpe_encode(ranks_, s.substr(offsets[i], offsets[i + len] - offsets[i]), out);
        i += len;
    }
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= n_vocab())
        throw Error(cat("token id ", id, " is out of range: this tokenizer has ids 0..", n_vocab() - 1));
    if (id < n_regular()) return ranks_.bytes_of(static_cast<uint32_t>(id));
    return special_names_[id - n_regular()];
}

std::string Tokenizer::decode_bytes(std::span<const int32_t> ids) const {
    std::string out;
    for (const int32_t id : ids) out += token_bytes(id);
    return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const { return utf8::sanitize(decode_bytes(ids)); }

}  // namespace scout::text
