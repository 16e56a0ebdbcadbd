// Causal attention of new queries against one layer's KV memory, with GQA and the
// chunk-local mask. Keys for a query at position a are first_visible_key(a) .. a; the
// caller guarantees those rows are present in the LayerKv (see forward_cpu.cpp).
#pragma once

#include <cstdint>
#include <span>

#include "base/cpu_features.hpp"
#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"

namespace scout::cpu {

struct AttentionShape {
    int64_t n_heads = 0;     // H
    int64_t n_kv_heads = 0;  // Hkv; q head h reads kv head h / (H / Hkv)
    int64_t head_dim = 0;    // d
    bool chunked = false;
    int64_t chunk_size = 0;
    float scale = 1.0f;      // 1/sqrt(d)
};

// q: [S, H, d] for queries at `positions` (S entries); out: [S, H, d].
// Tiled over 64-key tiles aligned to absolute positions, with an online softmax; a query's output
// is bit-identical whatever other queries it is computed with and whatever the thread count
// (so decode matches prefill). See attention_kernel.hpp.
void attention(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
               const AttentionShape& shape, float* out, ThreadPool& pool);
// The same with a forced SIMD variant (tests); the processor must support it.
void attention(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
               const AttentionShape& shape, float* out, ThreadPool& pool, SimdLevel level);

// Plain twin: materialises the scores per query with double accumulation.
void attention_ref(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
                   const AttentionShape& shape, float* out);

}  // namespace scout::cpu
