// Token trie and the mask walk: see token_mask.hpp.
#include "grammar/token_mask.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "base/error.hpp"
#include "text/tokenizer.hpp"

namespace scout::grammar {

TokenTrie::TokenTrie(const std::vector<std::string>& token_bytes) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < token_bytes.size(); ++i)
        if (!token_bytes[i].empty()) ids.push_back(static_cast<int32_t>(i));
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

}  // namespace

void TokenMasker::walk(const Matcher& m, uint32_t node, int depth, int skip_up_to, std::span<uint64_t> mask) {
    const TokenTrie::Node& n = trie_.nodes()[node];
    for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) {
        const TokenTrie::Node& child = trie_.nodes()[c];
        if (child.longest <= skip_up_to) continue;  // only tokens the caller knows already
        if (!m.advance(states_[static_cast<size_t>(depth)], child.byte, states_[static_cast<size_t>(depth) + 1])) continue;
        if (child.token >= 0 && depth + 1 > skip_up_to) {
            const auto w = static_cast<size_t>(child.token) / 64;
            if (w < mask.size()) mask[w] |= uint64_t{1} << (child.token % 64);
        }
        walk(m, c, depth + 1, skip_up_to, mask);
    }
}

void TokenMasker::compute(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask) {
    std::fill(mask.begin(), mask.end(), 0);
    states_.resize(static_cast<size_t>(trie_.max_depth()) + 1);
    states_[0] = matcher.state();
    walk(matcher, 0, 0, 0, mask);
    allow_end_tokens(matcher, end_tokens, mask);
}

void TokenMasker::add_longer_than(const Matcher& matcher, int shorter_known, std::span<uint64_t> mask) {
    states_.resize(static_cast<size_t>(trie_.max_depth()) + 1);
    states_[0] = matcher.state();
    walk(matcher, 0, 0, shorter_known, mask);
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
