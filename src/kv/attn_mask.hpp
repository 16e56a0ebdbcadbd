// Which keys a query may attend to — the pure visibility rule, unit-tested at chunk edges.
//   full causal (global layers):  keys 0 .. a
//   chunked causal (RoPE layers): keys C*floor(a/C) .. a   (a query at a chunk start sees only itself)
#pragma once

#include <cstdint>

namespace scout::kv {

// First visible key position for a query at absolute position `pos`.
inline int64_t first_visible_key(int64_t pos, bool chunked, int64_t chunk_size) {
    return (chunked && chunk_size > 0) ? (pos / chunk_size) * chunk_size : 0;
}

inline bool key_visible(int64_t query_pos, int64_t key_pos, bool chunked, int64_t chunk_size) {
    return key_pos <= query_pos && key_pos >= first_visible_key(query_pos, chunked, chunk_size);
}

}  // namespace scout::kv
