// The allowed-token mask of a matcher state over a whole vocabulary, from a trie of the tokens'
// bytes built once per tokenizer: the walk advances the matcher byte by byte down the trie and
// drops a whole subtree at the first byte no stack accepts, so a step costs the number of
// trie nodes still alive, never n_vocab string matches. Special tokens are not in the trie: they
// are never allowed inside the structure; once the matcher can end, the end tokens are.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/matcher.hpp"

namespace scout::text {
class Tokenizer;
}

namespace scout::grammar {

class TokenTrie {
public:
    // token_bytes[id]: the bytes of token id; an empty string leaves that id out (never allowed).
    explicit TokenTrie(const std::vector<std::string>& token_bytes);
    // The tokenizer's regular tokens (special tokens left out).
    static TokenTrie from_tokenizer(const text::Tokenizer& tokenizer);

    struct Node {
        uint32_t first_child = 0;  // children are nodes [first_child, first_child + n_children)
        uint32_t n_children = 0;
        int32_t token = -1;  // the token whose bytes end here, or -1
        uint8_t byte = 0;    // the byte leading here from the parent
    };
    const std::vector<Node>& nodes() const { return nodes_; }  // nodes_[0] is the root
    size_t n_tokens() const { return n_tokens_; }
    int max_depth() const { return max_depth_; }

private:
    std::vector<Node> nodes_;
    size_t n_tokens_ = 0;
    int max_depth_ = 0;
};

// Bit t of mask (64 bits per word) is set when token t keeps the output in the grammar.
// mask.size() words cover the vocabulary; ids beyond the words are never allowed. end_tokens
// are allowed exactly when matcher.can_end().
class TokenMasker {
public:
    explicit TokenMasker(const TokenTrie& trie) : trie_(trie) {}
    void compute(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask);

private:
    void walk(const Matcher& m, uint32_t node, int depth, std::span<uint64_t> mask);
    const TokenTrie& trie_;
    std::vector<MatchState> states_;  // [trie depth + 1] the state after each prefix of the walk
};

// One sequence's constraint while it generates: the matcher, the masker and the mask buffer.
// mask() gives the allowed tokens for the next step; accept() advances by the chosen token.
// Masks of the last kCachedMasks distinct states are kept: a state the matcher returns to (inside
// an unbounded string every character leads back to the same state) costs a comparison instead
// of a walk over most of the trie.
class TokenConstraint {
public:
    static constexpr size_t kCachedMasks = 8;

    TokenConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie,
                    std::vector<int32_t> end_tokens)
        : trie_(std::move(trie)), matcher_(std::move(grammar)), masker_(*trie_), end_tokens_(std::move(end_tokens)) {
        cache_.reserve(kCachedMasks);  // the span mask() returns stays valid until the next call
    }
    std::span<const uint64_t> mask(size_t n_vocab);
    // Advances by a regular token's bytes; false when the grammar refuses them.
    bool accept(std::string_view token_bytes) { return matcher_.accept(token_bytes); }
    const Matcher& matcher() const { return matcher_; }
    // Walks done and masks served from the cache so far (tests, benchmarks).
    size_t walks() const { return walks_; }
    size_t cache_hits() const { return hits_; }

private:
    struct Cached {
        MatchState state;
        std::vector<uint64_t> mask;
        uint64_t last_use = 0;
    };
    std::shared_ptr<const TokenTrie> trie_;
    Matcher matcher_;
    TokenMasker masker_;
    std::vector<int32_t> end_tokens_;
    std::vector<Cached> cache_;  // at most kCachedMasks; the least recently used is replaced
    uint64_t clock_ = 0;
    size_t walks_ = 0, hits_ = 0;
};

// The slow twin: tries every token's bytes on a copy of the matcher. For tests.
void compute_mask_slow(const Matcher& matcher, const std::vector<std::string>& token_bytes,
                       std::span<const int32_t> end_tokens, std::span<uint64_t> mask);

inline bool mask_allows(std::span<const uint64_t> mask, int32_t id) {
    const auto w = static_cast<size_t>(id) / 64;
    return id >= 0 && w < mask.size() && ((mask[w] >> (id % 64)) & 1u);
}

}  // namespace scout::grammar
