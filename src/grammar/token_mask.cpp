// Token trie and the mask walk: see token_mask.hpp.
#include "grammar/token_mask.hpp"

#include <algorithm>
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
            queue.push_back({static_cast<uint32_t>(nodes_.size() - 1), i, j, w.depth + 1});
            max_depth_ = std::max(max_depth_, w.depth + 1);
            ++nodes_[w.node].n_children;
            i = j;
        }
    }
}

TokenTrie TokenTrie::from_tokenizer(const text::Tokenizer& tokenizer) {
    std::vector<std::string> bytes(static_cast<size_t>(tokenizer.n_vocab()));
    for (int32_t id = 0; id < tokenizer.n_regular(); ++id) bytes[static_cast<size_t>(id)] = std::string(tokenizer.token_bytes(id));
    return TokenTrie(bytes);
}

void TokenMasker::walk(const Matcher& m, uint32_t node, int depth, std::span<uint64_t> mask) {
    const TokenTrie::Node& n = trie_.nodes()[node];
    for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) {
        const TokenTrie::Node& child = trie_.nodes()[c];
        if (!m.advance(states_[static_cast<size_t>(depth)], child.byte, states_[static_cast<size_t>(depth) + 1])) continue;
        if (child.token >= 0) {
            const auto w = static_cast<size_t>(child.token) / 64;
            if (w < mask.size()) mask[w] |= uint64_t{1} << (child.token % 64);
        }
        walk(m, c, depth + 1, mask);
    }
}

void TokenMasker::compute(const Matcher& matcher, std::span<const int32_t> end_tokens, std::span<uint64_t> mask) {
    std::fill(mask.begin(), mask.end(), 0);
    states_.resize(static_cast<size_t>(trie_.max_depth()) + 1);
    states_[0] = matcher.state();
    walk(matcher, 0, 0, mask);
    if (matcher.can_end())
        for (int32_t t : end_tokens) {
            const auto w = static_cast<size_t>(t) / 64;
            if (t >= 0 && w < mask.size()) mask[w] |= uint64_t{1} << (t % 64);
        }
}

std::span<const uint64_t> TokenConstraint::mask(size_t n_vocab) {
    const size_t words = (n_vocab + 63) / 64;
    ++clock_;
    for (Cached& c : cache_)
        if (c.mask.size() == words && c.state == matcher_.state()) {
            c.last_use = clock_;
            ++hits_;
            return c.mask;
        }
    Cached* slot;
    if (cache_.size() < kCachedMasks) {
        slot = &cache_.emplace_back();
    } else {
        slot = &*std::min_element(cache_.begin(), cache_.end(),
                                  [](const Cached& a, const Cached& b) { return a.last_use < b.last_use; });
    }
    slot->state = matcher_.state();
    slot->mask.resize(words);
    slot->last_use = clock_;
    masker_.compute(matcher_, end_tokens_, slot->mask);
    ++walks_;
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
