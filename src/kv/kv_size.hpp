// KV memory a model needs per KV type, as the storage really allocates it (kv_cache.hpp: rows of
// kv_row_bytes, global layers per position, chunk rings of chunk_size slots once full). What
// `scout info` prints and the server's admission arithmetic uses.
#pragma once

#include <cstdint>

#include "kv/kv_type.hpp"
#include "model/config.hpp"
#include "model/layer_plan.hpp"

namespace scout::kv {

struct KvSize {
    int64_t bytes_per_token = 0;   // K+V of the global (full-attention) layers per position
    int64_t chunk_ring_bytes = 0;  // K+V of the chunked layers once their rings are full (fixed)
    int64_t bytes_for(int64_t n_tokens, int64_t chunk_size) const;  // a sequence of n_tokens
    // What the storage allocates for n_tokens: whole pages of page_size positions (global layers)
    // and of min(chunk_size, page_size) slots (chunk rings), as kv_layout.hpp lays them out. The
    // scheduler's KV budget reserves this.
    int64_t bytes_allocated_for(int64_t n_tokens, int64_t chunk_size, int64_t page_size) const;
};

// Throws scout::Error when the type cannot store this model's heads (q8_0 with head_dim % 32).
KvSize kv_size(const model::TextConfig& config, const model::LayerPlan& plan, KvType type);
// Chunk rings in `chunked`, global layers in `global` (--kv-type, --kv-type-global).
KvSize kv_size(const model::TextConfig& config, const model::LayerPlan& plan, KvType chunked, KvType global);

}  // namespace scout::kv
