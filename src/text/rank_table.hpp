// Byte string <-> rank table for the 200,000 regular tokens (rank = token id).
// Open addressing over one contiguous byte buffer: BPE does millions of lookups of short keys,
// so this avoids std::unordered_map's per-node allocation and std::string hashing.
#pragma once

#include <cstdint>
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

    std::string data_;               // all token bytes, concatenated in rank order
    std::vector<uint32_t> offsets_;  // [n_tokens + 1] start of each token in data_
    std::vector<uint32_t> slots_;    // [power of two] rank or k_none
    uint64_t mask_ = 0;
};

}  // namespace scout::text
