#include "text/bpe.hpp"

#include <queue>

namespace scout::text {
namespace {

constexpr uint32_t k_none = RankTable::k_none;
constexpr size_t k_small_max = 128;  // longest piece for the array form (fixed-size buffers)

// Short pieces: tiktoken's array form. O(n^2) but n is small and it stays in cache.
void merge_small(const RankTable& ranks, std::string_view piece, std::vector<int32_t>& out) {
    const size_t n = piece.size();
    // starts[k] = byte start of part k; rank[k] = rank of parts k and k+1 joined.
    uint32_t starts[130];
    uint32_t rank[130];
    uint32_t part_rank[130];  // rank of part k itself, kept so the result needs no lookups
    size_t n_parts = n;
    for (size_t k = 0; k <= n; ++k) starts[k] = static_cast<uint32_t>(k);
    for (size_t k = 0; k < n; ++k) part_rank[k] = ranks.find(piece.substr(k, 1));
    auto pair_rank = [&](size_t k) -> uint32_t {
        if (k + 2 > n_parts) return k_none;
        return ranks.find(piece.substr(starts[k], starts[k + 2] - starts[k]));
    };
    for (size_t k = 0; k + 1 < n_parts; ++k) rank[k] = pair_rank(k);
    while (n_parts > 1) {
        uint32_t best = k_none;
        size_t at = 0;
        for (size_t k = 0; k + 1 < n_parts; ++k) {
            if (rank[k] < best) {
                best = rank[k];
                at = k;
            }
        }
        if (best == k_none) break;
        // Remove the boundary at+1.
        part_rank[at] = best;
        for (size_t k = at + 1; k < n_parts; ++k) starts[k] = starts[k + 1];
        for (size_t k = at + 1; k + 1 < n_parts; ++k) part_rank[k] = part_rank[k + 1];
        for (size_t k = at + 1; k + 1 < n_parts; ++k) rank[k] = rank[k + 1];
        --n_parts;
        rank[at] = pair_rank(at);
        if (at > 0) rank[at - 1] = pair_rank(at - 1);
    }
    for (size_t k = 0; k < n_parts; ++k) out.push_back(static_cast<int32_t>(part_rank[k]));
}

// Long pieces: a doubly linked list of parts and a min-heap of candidate merges ordered by
// (rank, start). Entries are invalidated lazily: one is stale when its part has been merged away
// or its right neighbour changed since it was pushed. O(n log n).
void merge_large(const RankTable& ranks, std::string_view piece, std::vector<int32_t>& out) {
    const uint32_t n = static_cast<uint32_t>(piece.size());
    std::vector<uint32_t> next(n), prev(n);
    std::vector<uint32_t> end(n);  // end byte of the part starting at k (valid while alive)
    std::vector<uint8_t> alive(n, 1);
    std::vector<uint32_t> part_rank(n);  // rank of the part starting at k (valid while alive)
    for (uint32_t k = 0; k < n; ++k) {
        next[k] = k + 1;
        prev[k] = k == 0 ? k_none : k - 1;
        end[k] = k + 1;
        part_rank[k] = ranks.find(piece.substr(k, 1));
    }
    struct Cand {
        uint32_t rank, start, right_end;
        bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : start > o.start; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](uint32_t k) {
        if (k == k_none || next[k] >= n) return;
        const uint32_t r_end = end[next[k]];
        const uint32_t r = ranks.find(piece.substr(k, r_end - k));
        if (r != k_none) heap.push({r, k, r_end});
    };
    for (uint32_t k = 0; k + 1 < n; ++k) push(k);
    while (!heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        const uint32_t k = c.start;
        if (!alive[k] || next[k] >= n || end[next[k]] != c.right_end) continue;
        const uint32_t right = next[k];
        alive[right] = 0;
        part_rank[k] = c.rank;
        end[k] = end[right];
        next[k] = next[right];
        if (next[k] < n) prev[next[k]] = k;
        push(k);
        push(prev[k]);
    }
    for (uint32_t k = 0; k < n; k = next[k]) out.push_back(static_cast<int32_t>(part_rank[k]));
}

}  // namespace

void bpe_encode(const RankTable& ranks, std::string_view piece, std::vector<int32_t>& out, BpeMode mode) {
    if (piece.empty()) return;
    if (mode == BpeMode::heap_only) return merge_large(ranks, piece, out);
    if (mode == BpeMode::array_only && piece.size() <= k_small_max) return merge_small(ranks, piece, out);
    const uint32_t whole = ranks.find(piece);
    if (whole != k_none) {
        out.push_back(static_cast<int32_t>(whole));
        return;
    }
    if (piece.size() <= k_small_max)
        merge_small(ranks, piece, out);
    else
        merge_large(ranks, piece, out);
}

}  // namespace scout::text
