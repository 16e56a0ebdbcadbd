#include "text/rank_table.hpp"

#include <cstring>

#include "base/error.hpp"

namespace scout::text {

uint64_t RankTable::hash(std::string_view s) {
    // Keys are short (median ~6 bytes): mix 8-byte words with a multiply-xorshift.
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xFF51AFD7ED558CCDull);
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    if (i < s.size()) {
        uint64_t w = 0;
        std::memcpy(&w, s.data() + i, s.size() - i);
        h = (h ^ w) * 0x94D049BB133111EBull;
        h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

RankTable::RankTable(const std::vector<std::string>& tokens) {
    offsets_.reserve(tokens.size() + 1);
    size_t total = 0;
    for (const auto& t : tokens) total += t.size();
    data_.reserve(total);
    for (const auto& t : tokens) {
        offsets_.push_back(static_cast<uint32_t>(data_.size()));
        data_ += t;
    }
    offsets_.push_back(static_cast<uint32_t>(data_.size()));

    size_t cap = 1;
    while (cap < tokens.size() * 2 + 2) cap <<= 1;
    slots_.assign(cap, k_none);
    mask_ = cap - 1;
    for (uint32_t r = 0; r < tokens.size(); ++r) {
        const std::string_view key = bytes_of(r);
        if (key.empty()) throw Error(cat("token ", r, " has no bytes"));
        uint64_t pos = hash(key) & mask_;
        while (slots_[pos] != k_none) {
            if (bytes_of(slots_[pos]) == key)
                throw Error(cat("tokens ", slots_[pos], " and ", r, " have the same bytes; the vocabulary file is corrupt"));
            pos = (pos + 1) & mask_;
        }
        slots_[pos] = r;
    }
}

uint32_t RankTable::find(std::string_view key) const {
    if (slots_.empty()) return k_none;
    uint64_t pos = hash(key) & mask_;
    for (;;) {
        const uint32_t r = slots_[pos];
        if (r == k_none) return k_none;
        const uint32_t off = offsets_[r];
        if (offsets_[r + 1] - off == key.size() && std::memcmp(data_.data() + off, key.data(), key.size()) == 0)
            return r;
        pos = (pos + 1) & mask_;
    }
}

}  // namespace scout::text
