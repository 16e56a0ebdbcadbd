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
    // Tokens longer than this are left out (never allowed in constrained output): real
    // vocabularies stay far below (Llama 4's longest is 113 bytes), and a hostile vocabulary
    // must not make the walk's recursion or the per-length bitsets unbounded.
    static constexpr size_t kMaxTokenBytes = 1024;

    // token_bytes[id]: the bytes of token id; an empty string leaves that id out (never allowed).
    explicit TokenTrie(const std::vector<std::string>& token_bytes);
    // The tokenizer's regular tokens (special tokens left out).
    static TokenTrie from_tokenizer(const text::Tokenizer& tokenizer);

    struct Node {
        uint32_t first_child = 0;  // children are nodes [first_child, first_child + n_children)
        uint32_t n_children = 0;
        int32_t token = -1;        // the token whose bytes end here, or -1
        uint16_t longest = 0;      // the longest token in this subtree (this node's included), in bytes
        uint8_t byte = 0;          // the byte leading here from the parent
    };
    const std::vector<Node>& nodes() const { return nodes_; }  // nodes_[0] is the root
    size_t n_tokens() const { return n_tokens_; }
    int max_depth() const { return max_depth_; }
    // Bit t of up_to_length(n) is set when token t is in the trie and has at most n bytes
    // (0 <= n <= max_depth()); the words cover the ids given to the constructor.
    std::span<const uint64_t> up_to_length(int n) const {
        return std::span<const uint64_t>(by_length_).subspan(static_cast<size_t>(n) * n_words_, n_words_);
    }

private:
    std::vector<Node> nodes_;
    std::vector<uint64_t> by_length_;  // [max_depth + 1][n_words_]
    size_t n_words_ = 0;
    size_t n_tokens_ = 0;
    int max_depth_ = 0;
};

// Bit t of mask (64 bits per word) is set when token t keeps the output in the grammar.
// mask.size() words cover the vocabulary; ids beyond the words are never allowed. end_tokens
// are allowed exactly when matcher.can_end().
//
// The walk meets few distinct matcher states (inside a string, every prefix of whole characters
// leads to the same one), so states are interned and their transitions by byte kept: a trie node
// whose parent's state and byte were seen before costs a table lookup instead of a matcher step.
// The table lives as long as the masker (a sequence's constraint keeps it across steps) and is
// dropped when it outgrows max_states or the matcher's grammar changes; transitions are exact, so
// the masks equal the plain walk's (compute_mask_slow and the tests' fresh walks check it).
class TokenMasker {
public:
    static constexpr size_t kMaxStates = 4096;

    // max_states: the table's bound (tests shrink it to run the walk off the table).
    explicit TokenMasker(const TokenTrie& trie, size_t max_states = kMaxStates) : trie_(trie), max_states_(max_states) {}
    void compute(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask);
    // Adds to mask only the allowed tokens longer than `shorter_known` bytes, walking only the
    // subtrees that hold such tokens (the rest of the mask comes from a state known to agree on
    // the short ones). End tokens are not touched.
    void add_longer_than(const Matcher& matcher, int shorter_known, std::span<uint64_t> mask);

    size_t interned_states() const { return table_.size(); }

private:
    static constexpr int32_t kUnknown = -1, kDead = -2, kUninterned = -3;
    struct Interned {
        MatchState state;
        std::vector<int32_t> next;  // [256] interned id after each byte, kUnknown or kDead
        int32_t same_hash = -1;     // the next state with the same hash
    };
    void start(const Matcher& m);
    // The interned id of the state after `byte` from state `sid`, kDead, or kUninterned (table
    // full: the state is left in states_[depth + 1]).
    int32_t step(const Matcher& m, int32_t sid, uint8_t byte, int depth);
    int32_t intern(const MatchState& s);
    // sid: the interned state at `node`, or kUninterned with the state in states_[depth].
    void walk(const Matcher& m, uint32_t node, int depth, int32_t sid, int skip_up_to, std::span<uint64_t> mask);

    const TokenTrie& trie_;
    size_t max_states_;
    std::vector<MatchState> states_;  // [trie depth + 1] states off the table, by walk depth
    std::vector<Interned> table_;
    std::vector<int32_t> buckets_;    // [kBuckets] first interned id per hash bucket
    std::shared_ptr<const Grammar> table_grammar_;
    MatcherOptions table_options_;
};

// One sequence's constraint while it generates: the matcher, the masker and the mask buffer.
// mask() gives the allowed tokens for the next step; accept() advances by the chosen token.
// Masks of the last kCachedMasks distinct states are kept: a state the matcher returns to (inside
// an unbounded string every character leads back to the same state) costs a comparison instead
// of a walk over most of the trie. States that differ only in the counts of bounded repetitions
// (a string with maxLength: one more character, one less allowed; see ChainPosition) agree on
// every token shorter than the smallest count: when all counts exceed the longest token the
// cached mask is the answer, otherwise only the longer tokens are walked.
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
    // Full walks, masks served whole from the cache, and masks made from a cached one plus a
    // walk of the longer tokens, so far (tests, benchmarks).
    size_t walks() const { return walks_; }
    size_t cache_hits() const { return hits_; }
    size_t partial_walks() const { return partial_; }

private:
    // A state with its chain positions made canonical (`shape`) and their counts apart, in order.
    struct Key {
        std::vector<uint32_t> shape;
        std::vector<uint32_t> counts;
    };
    struct Cached {
        Key key;
        std::vector<uint64_t> mask;
        uint64_t last_use = 0;
    };
    void make_key(const MatchState& state, Key& key) const;
    std::shared_ptr<const TokenTrie> trie_;
    Matcher matcher_;
    TokenMasker masker_;
    std::vector<int32_t> end_tokens_;
    std::vector<Cached> cache_;  // at most kCachedMasks; the least recently used is replaced
    Key key_;                    // the current state's
    std::vector<uint64_t> scratch_;
    uint64_t clock_ = 0;
    size_t walks_ = 0, hits_ = 0, partial_ = 0;
};

// The slow twin: tries every token's bytes on a copy of the matcher. For tests.
void compute_mask_slow(const Matcher& matcher, const std::vector<std::string>& token_bytes,
                       std::span<const int32_t> end_tokens, std::span<uint64_t> mask);

inline bool mask_allows(std::span<const uint64_t> mask, int32_t id) {
    const auto w = static_cast<size_t>(id) / 64;
    return id >= 0 && w < mask.size() && ((mask[w] >> (id % 64)) & 1u);
}

}  // namespace scout::grammar
