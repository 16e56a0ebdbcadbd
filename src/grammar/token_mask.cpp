// Token trie and the mask walk: see token_mask.hpp.
#include "grammar/token_mask.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <memory>

#include "base/error.hpp"
#include "text/tokenizer.hpp"

namespace scout::grammar {

TokenTrie::TokenTrie(const std::vector<std::string>& token_bytes) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < token_bytes.size(); ++i)
        if (!token_bytes[i].empty() && token_bytes[i].size() <= kMaxTokenBytes) ids.push_back(static_cast<int32_t>(i));
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
        return token_bytes[a] != token_bytes[b] ? token_bytes[a] < token_bytes[b] : a < b;
    });
    n_tokens_ = ids.size();
    nodes_.emplace_back();
    // Breadth-first over (node, sorted id range sharing a prefix of `depth` bytes): children of a
    // node are contiguous.
    struct Work {
        uint32_t node;
        size_t lo, hi;
        int depth;
    };
    std::vector<Work> queue{{0, 0, ids.size(), 0}};
    std::vector<int> depth_of{0};  // [node]
    for (size_t q = 0; q < queue.size(); ++q) {
        const Work w = queue[q];
        size_t i = w.lo;
        const auto d = static_cast<size_t>(w.depth);
        // Tokens ending here come first in sorted order (a prefix sorts before its extensions).
        while (i < w.hi && token_bytes[ids[i]].size() == d) {
            if (nodes_[w.node].token < 0) nodes_[w.node].token = ids[i];  // duplicates: lowest id
            ++i;
        }
        nodes_[w.node].first_child = static_cast<uint32_t>(nodes_.size());
        while (i < w.hi) {
            const auto b = static_cast<uint8_t>(token_bytes[ids[i]][d]);
            size_t j = i;
            while (j < w.hi && static_cast<uint8_t>(token_bytes[ids[j]][d]) == b) ++j;
            Node n;
            n.byte = b;
            nodes_.push_back(n);
            depth_of.push_back(w.depth + 1);
            queue.push_back({static_cast<uint32_t>(nodes_.size() - 1), i, j, w.depth + 1});
            max_depth_ = std::max(max_depth_, w.depth + 1);
            ++nodes_[w.node].n_children;
            i = j;
        }
    }
    // Children come after their parent: one backward pass gives each subtree's longest token.
    n_words_ = (token_bytes.size() + 63) / 64;
    by_length_.assign(static_cast<size_t>(max_depth_ + 1) * n_words_, 0);
    for (size_t i = nodes_.size(); i-- > 0;) {
        Node& n = nodes_[i];
        if (n.token >= 0) {
            n.longest = std::max<uint16_t>(n.longest, static_cast<uint16_t>(depth_of[i]));
            by_length_[static_cast<size_t>(depth_of[i]) * n_words_ + static_cast<size_t>(n.token) / 64] |=
                uint64_t{1} << (n.token % 64);
        }
        for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) n.longest = std::max(n.longest, nodes_[c].longest);
    }
    for (int d = 1; d <= max_depth_; ++d)  // rows of exact lengths -> rows of lengths up to d
        for (size_t w = 0; w < n_words_; ++w)
            by_length_[static_cast<size_t>(d) * n_words_ + w] |= by_length_[static_cast<size_t>(d - 1) * n_words_ + w];
}

TokenTrie TokenTrie::from_tokenizer(const text::Tokenizer& tokenizer) {
    std::vector<std::string> bytes(static_cast<size_t>(tokenizer.n_vocab()));
    for (int32_t id = 0; id < tokenizer.n_regular(); ++id) bytes[static_cast<size_t>(id)] = std::string(tokenizer.token_bytes(id));
    return TokenTrie(bytes);
}

namespace {

void allow_end_tokens(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask) {
    if (!matcher.can_end()) return;
    for (int32_t t : end_tokens) {
        const auto w = static_cast<size_t>(t) / 64;
        if (t >= 0 && w < mask.size()) mask[w] |= uint64_t{1} << (t % 64);
    }
}

constexpr size_t kBuckets = 8192;

uint64_t hash_state(const MatchState& s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the words
    for (uint32_t w : s.buf) h = (h ^ w) * 1099511628211ull;
    return h;
}

}  // namespace

void TokenMasker::start(const Matcher& m) {
    states_.resize(static_cast<size_t>(trie_.max_depth()) + 1);
    const bool same_grammar = table_grammar_ == m.grammar_ptr() && table_options_.max_depth == m.options().max_depth &&
                              table_options_.max_stacks == m.options().max_stacks;
    if (!same_grammar || table_.size() > max_states_ / 2) {
        table_.clear();
        buckets_.assign(kBuckets, -1);
        table_grammar_ = m.grammar_ptr();
        table_options_ = m.options();
    }
}

int32_t TokenMasker::intern(const MatchState& s) {
    const size_t b = hash_state(s) % kBuckets;
    for (int32_t id = buckets_[b]; id >= 0; id = table_[static_cast<size_t>(id)].same_hash)
        if (table_[static_cast<size_t>(id)].state == s) return id;
    if (table_.size() >= max_states_) return kUninterned;
    Interned& e = table_.emplace_back();
    e.state = s;
    e.next.assign(256, kUnknown);
    e.same_hash = buckets_[b];
    buckets_[b] = static_cast<int32_t>(table_.size() - 1);
    return buckets_[b];
}

int32_t TokenMasker::step(const Matcher& m, int32_t sid, uint8_t byte, int depth) {
    MatchState& out = states_[static_cast<size_t>(depth) + 1];
    if (sid == kUninterned) return m.advance(states_[static_cast<size_t>(depth)], byte, out) ? kUninterned : kDead;
    const int32_t known = table_[static_cast<size_t>(sid)].next[byte];
    if (known != kUnknown) return known;
    if (!m.advance(table_[static_cast<size_t>(sid)].state, byte, out)) {
        table_[static_cast<size_t>(sid)].next[byte] = kDead;
        return kDead;
    }
    const int32_t id = intern(out);  // may grow table_: index it afresh below
    if (id != kUninterned) table_[static_cast<size_t>(sid)].next[byte] = id;
    return id;
}

void TokenMasker::walk(const Matcher& m, uint32_t node, int depth, int32_t sid, int skip_up_to, std::span<uint64_t> mask) {
    const TokenTrie::Node& n = trie_.nodes()[node];
    for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) {
        const TokenTrie::Node& child = trie_.nodes()[c];
        if (child.longest <= skip_up_to) continue;  // only tokens the caller knows already
        const int32_t next = step(m, sid, child.byte, depth);
        if (next == kDead) continue;
        if (child.token >= 0 && depth + 1 > skip_up_to) {
            const auto w = static_cast<size_t>(child.token) / 64;
            if (w < mask.size()) mask[w] |= uint64_t{1} << (child.token % 64);
        }
        walk(m, c, depth + 1, next, skip_up_to, mask);
    }
}

void TokenMasker::compute(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask) {
    std::fill(mask.begin(), mask.end(), 0);
    add_longer_than(matcher, 0, mask);
    allow_end_tokens(matcher, end_tokens, mask);
}

void TokenMasker::add_longer_than(const Matcher& matcher, int shorter_known, std::span<uint64_t> mask) {
    start(matcher);
    states_[0] = matcher.state();
    const int32_t root = intern(matcher.state());
    walk(matcher, 0, 0, root, shorter_known, mask);
}

void TokenConstraint::make_key(const MatchState& state, Key& key) const {
    const Grammar& g = matcher_.grammar();
    key.shape.clear();
    key.counts.clear();
    const auto& b = state.buf;
    for (size_t i = 0; i < b.size();) {
        const uint32_t len = b[i];
        key.shape.push_back(len);
        key.shape.push_back(b[i + 1]);
        for (uint32_t f = 0; f < len; ++f) {
            const ChainPosition cp = g.chain_position(b[i + 2 + f]);
            if (cp.index != 0) {
                key.shape.push_back(cp.canonical);
                key.counts.push_back(cp.index);
            } else {
                key.shape.push_back(b[i + 2 + f]);
            }
        }
        i += 2 + len;
    }
}

std::span<const uint64_t> TokenConstraint::mask(size_t n_vocab) {
    const size_t words = (n_vocab + 63) / 64;
    ++clock_;
    make_key(matcher_.state(), key_);
    // The cached state agreeing with this one on the most tokens: on all of them (the same state,
    // or counts beyond the longest token) it is the answer; otherwise tokens of up to best_len
    // bytes are taken from it and only the longer ones walked.
    const auto longest = static_cast<uint32_t>(trie_->max_depth());
    Cached* best = nullptr;
    uint32_t best_len = 0;
    for (Cached& c : cache_) {
        if (c.mask.size() != words || c.key.shape != key_.shape) continue;
        uint32_t agree = UINT32_MAX;  // tokens of up to this many bytes are allowed alike
        for (size_t i = 0; i < key_.counts.size(); ++i)
            if (c.key.counts[i] != key_.counts[i]) agree = std::min(agree, std::min(c.key.counts[i], key_.counts[i]) - 1);
        if (agree >= longest) {
            c.last_use = clock_;
            ++hits_;
            return c.mask;
        }
        if (agree > best_len) best = &c, best_len = agree;
    }
    scratch_.resize(words);
    if (best != nullptr) {
        const auto shorter = trie_->up_to_length(static_cast<int>(best_len));
        for (size_t w = 0; w < words; ++w) scratch_[w] = w < shorter.size() ? best->mask[w] & shorter[w] : 0;
        masker_.add_longer_than(matcher_, static_cast<int>(best_len), scratch_);
        allow_end_tokens(matcher_, end_tokens_, scratch_);
        ++partial_;
    } else {
        masker_.compute(matcher_, end_tokens_, scratch_);
        ++walks_;
    }
    Cached* slot;
    if (cache_.size() < kCachedMasks) {
        slot = &cache_.emplace_back();
    } else {
        slot = &*std::min_element(cache_.begin(), cache_.end(),
                                  [](const Cached& a, const Cached& b) { return a.last_use < b.last_use; });
    }
    slot->key = key_;
    slot->mask.swap(scratch_);
    slot->last_use = clock_;
    return slot->mask;
}

void compute_mask_slow(const Matcher& matcher, const std::vector<std::string>& token_bytes,
                       std::span<const int32_t> end_tokens, std::span<uint64_t> mask) {
    std::fill(mask.begin(), mask.end(), 0);
    for (size_t id = 0; id < token_bytes.size() && id / 64 < mask.size(); ++id) {
        if (token_bytes[id].empty()) continue;
        Matcher copy = matcher;
        if (copy.accept(token_bytes[id])) mask[id / 64] |= uint64_t{1} << (id % 64);
    }
    if (matcher.can_end())
        for (int32_t t : end_tokens)
            if (t >= 0 && static_cast<size_t>(t) / 64 < mask.size()) mask[static_cast<size_t>(t) / 64] |= uint64_t{1} << (t % 64);
}

}  // namespace scout::grammar
