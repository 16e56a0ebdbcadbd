// Byte string <-> rank table for the 200,000 regular tokens (rank = token id).
// Open addressing over one contiguous byte buffer: BPE does millions of lookups of short keys,
// so this avoids std::unordered_map's per-node allocation and std::string hashing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scout::text {

class RankTable {
public:
    static constexpr uint32_t k_none = 0xFFFFFFFFu;

    // tokens[i] holds the bytes of rank i. Throws scout::Error on duplicates or empty tokens.
    explicit RankTable(const std::vector<std::string>& tokens);
    RankTable() = default;

    uint32_t size() const { return static_cast<uint32_t>(offsets_.empty() ? 0 : offsets_.size() - 1); }
    // Rank of the byte string, or k_none.
    uint32_t find(std::string_view bytes) const;
    std::string_view bytes_of(uint32_t rank) const {
        return std::string_view(data_).substr(offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
    }

private:
    static uint64_t hash(std::string_view s);

    // A slot holds the first 8 key bytes inline, so a probe touches one cache line: keys of up
    // to 8 bytes (most lookups, and nearly all failed BPE pair lookups) never read data_.
    struct Slot {
        uint64_t head = 0;        // first min(len, 8) bytes, zero padded
        uint32_t rank = k_none;   // k_none = empty
        uint32_t len_tag = 0;     // key length (low 8 bits, capped at 255) | hash bits << 8
    };
    static uint64_t head_of(std::string_view s);
    static size_t short_index(std::string_view s) {
        const auto b0 = static_cast<uint8_t>(s[0]);
        return s.size() == 1 ? 65536 + b0 : (static_cast<size_t>(b0) << 8 | static_cast<uint8_t>(s[1]));
    }
    static uint32_t len_tag_of(std::string_view s, uint64_t h);

    std::string data_;               // all token bytes, concatenated in rank order
    std::vector<uint32_t> offsets_;  // [n_tokens + 1] start of each token in data_
    struct FreeSlots {
        void operator()(Slot* p) const;
    };
    std::shared_ptr<Slot[]> slots_;  // [mask_ + 1] keys of 3+ bytes; huge-page backed where possible
    // Blocked Bloom filter over keys of 3+ bytes: about half of BPE's lookups are pairs that are
    // not tokens, and this answers most of them from 256 KiB instead of the 8 MiB slot table.
    static constexpr size_t k_bloom_blocks = 4096;  // 64-byte blocks
    std::vector<uint64_t> bloom_;    // [k_bloom_blocks * 8]
    bool bloom_may_contain(uint64_t h) const {
        const uint64_t* block = &bloom_[((h >> 52) & (k_bloom_blocks - 1)) * 8];
        for (int i = 0; i < 4; ++i) {
            const uint32_t bit = static_cast<uint32_t>(h >> (i * 9)) & 511u;
            if (!(block[bit >> 6] >> (bit & 63) & 1)) return false;
        }
        return true;
    }
    std::vector<uint32_t> short_;    // [65536 + 256] rank of each 2-byte key, then each 1-byte key:
                                     // BPE's first round looks up every byte pair, so these stay in cache
    uint64_t mask_ = 0;
};

}  // namespace scout::text
