#include "kv/kv_size.hpp"

#include <algorithm>

namespace scout::kv {

KvSize kv_size(const model::TextConfig& c, const model::LayerPlan& plan, KvType type) {
    check_kv_type_fits(type, c.head_dim);
    const int64_t row = 2 * kv_row_bytes(type, c.num_key_value_heads * c.head_dim);  // K + V
    return {plan.n_global() * row, plan.n_chunked() * row * plan.chunk_size};
}

int64_t KvSize::bytes_for(int64_t n_tokens, int64_t chunk_size) const {
    const int64_t ring_fill = chunk_size > 0 ? std::min(n_tokens, chunk_size) : 0;
    return bytes_per_token * n_tokens + (chunk_size > 0 ? chunk_ring_bytes / chunk_size * ring_fill : 0);
}

}  // namespace scout::kv
