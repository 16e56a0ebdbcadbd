// Where each position of a sequence lives in KV memory: the pure rules, shared by every
// backend's storage and unit-tested on their own (tests/unit/test_kv_layout.cpp).
//
//  - global (full-attention) layers keep every position: slot = pos, in pages of page_size
//    slots allocated as the sequence grows (no reallocation, no copy);
//  - chunked layers keep only the current chunk: a ring of chunk_size slots, slot = pos % C,
//    in pages of min(C, page_size) slots. Positions of earlier chunks are never visible again.
//  - rewinding to a prefix may need up to one chunk recomputed (rewind()).
#pragma once

#include <cstdint>
#include <vector>

#include "model/layer_plan.hpp"

namespace scout::kv {

class KvLayout {
public:
    KvLayout() = default;
    KvLayout(const model::LayerPlan& plan, int64_t page_size = 256);

    int64_t n_layers() const { return static_cast<int64_t>(chunked_.size()); }
    bool chunked(int64_t il) const { return chunked_[static_cast<std::size_t>(il)]; }
    int64_t chunk_size() const { return chunk_size_; }
    // Slots per page of layer il.
    int64_t page_slots(int64_t il) const { return chunked(il) ? ring_page_ : page_size_; }
    int64_t slot(int64_t il, int64_t pos) const { return chunked(il) ? pos % chunk_size_ : pos; }
    int64_t page_of(int64_t il, int64_t pos) const { return slot(il, pos) / page_slots(il); }
    int64_t offset_in_page(int64_t il, int64_t pos) const { return slot(il, pos) % page_slots(il); }
    // Pages layer il needs to hold positions [0, n_positions).
    int64_t pages_needed(int64_t il, int64_t n_positions) const;

    int64_t n_past() const { return n_past_; }
    void advance(int64_t n) { n_past_ += n; }
    // Prefix reuse: keep positions [0, n) and forget the rest. Global layers keep every position,
    // but a chunk ring holds only the chunk of position n_past-1; if position n-1 lies in an
    // earlier chunk, the chunked layers lack its chunk and the positions [start of that chunk, n)
    // must be fed again. Returns where the caller must resume feeding tokens: n itself, or the
    // start of n-1's chunk — at most one chunk of recomputation (none when n is a chunk edge,
    // since a new chunk never looks back).
    int64_t rewind(int64_t n);
    void reset() { n_past_ = 0; }

private:
    std::vector<bool> chunked_;  // per layer
    int64_t chunk_size_ = 0;     // C (0 when no layer is chunked)
    int64_t page_size_ = 256;    // slots per page of a global layer
    int64_t ring_page_ = 256;    // slots per page of a chunk ring: min(C, page_size)
    int64_t n_past_ = 0;
};

}  // namespace scout::kv
