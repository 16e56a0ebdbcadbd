#include "kv/kv_cache.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace scout::kv {

LayerKv::LayerKv(bool chunked, int64_t chunk_size, int64_t row_size, int64_t page_size)
    : chunked_(chunked), chunk_size_(chunk_size), row_size_(row_size),
      page_size_(chunked ? std::min(chunk_size, page_size) : page_size) {
    check(page_size_ > 0 && row_size_ > 0, "LayerKv: page and row sizes must be positive");
}

float* LayerKv::row(std::vector<std::unique_ptr<float[]>>& pages, int64_t pos) {
    const int64_t s = slot(pos);
    const auto page = static_cast<std::size_t>(s / page_size_);
    while (pages.size() <= page) pages.push_back(std::make_unique<float[]>(static_cast<std::size_t>(page_size_ * row_size_)));
    return pages[page].get() + (s % page_size_) * row_size_;
}

std::size_t LayerKv::bytes_allocated() const {
    return (k_pages_.size() + v_pages_.size()) * static_cast<std::size_t>(page_size_ * row_size_) * sizeof(float);
}

void LayerKv::clear() {
    k_pages_.clear();
    v_pages_.clear();
}

SequenceKv::SequenceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, KvOptions options) {
    layers_.reserve(plan.layers.size());
    for (const auto& rule : plan.layers) {
        layers_.emplace_back(rule.chunked, plan.chunk_size, n_kv_heads * head_dim, options.page_size);
        if (rule.chunked) chunk_size_ = plan.chunk_size;
    }
}

int64_t SequenceKv::rewind(int64_t n) {
    check(n >= 0 && n <= n_past_, cat("rewind to ", n, " outside [0, ", n_past_, "]"));
    if (n == n_past_) return n;
    int64_t resume = n;
    if (chunk_size_ > 0 && n % chunk_size_ != 0 && (n - 1) / chunk_size_ != (n_past_ - 1) / chunk_size_)
        resume = (n - 1) / chunk_size_ * chunk_size_;
    n_past_ = resume;
    return resume;
}

void SequenceKv::clear() {
    for (auto& l : layers_) l.clear();
    n_past_ = 0;
}

std::size_t SequenceKv::bytes_allocated() const {
    std::size_t n = 0;
    for (const auto& l : layers_) n += l.bytes_allocated();
    return n;
}

}  // namespace scout::kv
