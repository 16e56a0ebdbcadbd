#include "kv/kv_layout.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace scout::kv {

KvLayout::KvLayout(const model::LayerPlan& plan, int64_t page_size) : page_size_(page_size) {
    check(page_size > 0, "KV page size must be positive");
    for (const auto& rule : plan.layers) {
        chunked_.push_back(rule.chunked);
        if (rule.chunked) chunk_size_ = plan.chunk_size;
    }
    if (chunk_size_ > 0) {
        check(plan.chunk_size > 0, "chunked layers need a positive chunk size");
        ring_page_ = std::min(chunk_size_, page_size_);
    }
}

int64_t KvLayout::pages_needed(int64_t il, int64_t n_positions) const {
    const int64_t slots = chunked(il) ? std::min(n_positions, chunk_size_) : n_positions;
    return (slots + page_slots(il) - 1) / page_slots(il);
}

int64_t KvLayout::rewind(int64_t n) {
    check(n >= 0 && n <= n_past_, cat("rewind to ", n, " outside [0, ", n_past_, "]"));
    if (n == n_past_) return n;
    int64_t resume = n;
    if (chunk_size_ > 0 && n % chunk_size_ != 0 && (n - 1) / chunk_size_ != (n_past_ - 1) / chunk_size_)
        resume = (n - 1) / chunk_size_ * chunk_size_;
    n_past_ = resume;
    return resume;
}

}  // namespace scout::kv
