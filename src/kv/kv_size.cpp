#include "kv/kv_size.hpp"

#include <algorithm>

namespace scout::kv {

KvSize kv_size(const model::TextConfig& c, const model::LayerPlan& plan, KvType type) {
    return kv_size(c, plan, type, type);
}

KvSize kv_size(const model::TextConfig& c, const model::LayerPlan& plan, KvType chunked, KvType global) {
    check_kv_type_fits(chunked, c.head_dim);
    check_kv_type_fits(global, c.head_dim, "--kv-type-global");
    const int64_t values = c.num_key_value_heads * c.head_dim;
    const int64_t chunked_row = 2 * kv_row_bytes(chunked, values), global_row = 2 * kv_row_bytes(global, values);  // K + V
    return {plan.n_global() * global_row, plan.n_chunked() * chunked_row * plan.chunk_size};
}

int64_t KvSize::bytes_for(int64_t n_tokens, int64_t chunk_size) const {
    const int64_t ring_fill = chunk_size > 0 ? std::min(n_tokens, chunk_size) : 0;
    return bytes_per_token * n_tokens + (chunk_size > 0 ? chunk_ring_bytes / chunk_size * ring_fill : 0);
}

int64_t KvSize::bytes_allocated_for(int64_t n_tokens, int64_t chunk_size, int64_t page_size) const {
    const auto round_up = [](int64_t n, int64_t page) { return (n + page - 1) / page * page; };
    int64_t bytes = bytes_per_token * round_up(n_tokens, page_size);
    if (chunk_size > 0) {
        const int64_t ring_page = std::min(chunk_size, page_size);
        bytes += chunk_ring_bytes / chunk_size * round_up(std::min(n_tokens, chunk_size), ring_page);
    }
    return bytes;
}

}  // namespace scout::kv
