// KV memory of one sequence, shaped for long context:
//  - global (full-attention) layers keep every position, in pages of `page_size`
//    positions allocated as the sequence grows (no reallocation, no copy);
//  - chunked layers keep only the current chunk: a ring of `chunk_size` slots, slot
//    = pos % chunk_size. Positions of earlier chunks are never visible again.
// Rows are float32 [n_kv_heads * head_dim], stored after RoPE and QK norm.
// Addressing is the same for both: slot s (= pos, or pos % C) lives in page s / page_size.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/layer_plan.hpp"

namespace scout::kv {

class LayerKv {
public:
    LayerKv(bool chunked, int64_t chunk_size, int64_t row_size, int64_t page_size);

    bool chunked() const { return chunked_; }
    int64_t row_size() const { return row_size_; }

    // Pointers to the K / V rows of absolute position pos (allocating pages as needed).
    float* k_row(int64_t pos) { return row(k_pages_, pos); }
    float* v_row(int64_t pos) { return row(v_pages_, pos); }
    // Read access to an already written position.
    const float* k_at(int64_t pos) const { return at(k_pages_, pos); }
    const float* v_at(int64_t pos) const { return at(v_pages_, pos); }

    std::size_t bytes_allocated() const;
    void clear();

private:
    int64_t slot(int64_t pos) const { return chunked_ ? pos % chunk_size_ : pos; }
    float* row(std::vector<std::unique_ptr<float[]>>& pages, int64_t pos);
    const float* at(const std::vector<std::unique_ptr<float[]>>& pages, int64_t pos) const {
        const int64_t s = slot(pos);
        return pages[static_cast<std::size_t>(s / page_size_)].get() + (s % page_size_) * row_size_;
    }

    bool chunked_;
    int64_t chunk_size_;
    int64_t row_size_;
    int64_t page_size_;
    std::vector<std::unique_ptr<float[]>> k_pages_, v_pages_;
};

struct KvOptions {
    int64_t page_size = 256;  // positions per page (global layers; chunk rings use min(C, page_size))
};

// All layers of one sequence, plus how many positions have been processed.
class SequenceKv {
public:
    SequenceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, KvOptions options = {});

    LayerKv& layer(int64_t il) { return layers_[static_cast<std::size_t>(il)]; }
    const LayerKv& layer(int64_t il) const { return layers_[static_cast<std::size_t>(il)]; }
    int64_t n_past() const { return n_past_; }
    void advance(int64_t n) { n_past_ += n; }

    // Prefix reuse: keep positions [0, n) and forget the rest. Global layers keep every position,
    // but a chunk ring holds only the chunk of position n_past-1; if position n-1 lies in an
    // earlier chunk, the chunked layers lack its chunk and the positions [start of that chunk, n)
    // must be fed again. Returns where the caller must resume feeding tokens: n itself, or the
    // start of n-1's chunk — at most one chunk of recomputation (none when n is a chunk edge,
    // since a new chunk never looks back).
    int64_t rewind(int64_t n);
    void clear();
    std::size_t bytes_allocated() const;

private:
    std::vector<LayerKv> layers_;
    int64_t n_past_ = 0;
    int64_t chunk_size_ = 0;  // 0 when no layer is chunked
};

}  // namespace scout::kv
