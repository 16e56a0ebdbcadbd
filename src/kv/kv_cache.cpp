#include "kv/kv_cache.hpp"

#include "base/error.hpp"

namespace scout::kv {

LayerKv::LayerKv(KvType type, int64_t row_size, int64_t head_dim, int64_t page_slots)
    : type_(type), row_size_(row_size), head_dim_(head_dim), head_bytes_(kv_row_bytes(type, head_dim)),
      row_bytes_(kv_row_bytes(type, row_size)), page_slots_(page_slots) {
    check(page_slots_ > 0 && row_size_ > 0 && head_dim_ > 0 && row_size_ % head_dim_ == 0,
          "LayerKv: page, row and head sizes must be positive and the row whole heads");
}

uint8_t* LayerKv::row(std::vector<std::unique_ptr<uint8_t[]>>& pages, int64_t slot) {
    const auto page = static_cast<std::size_t>(slot / page_slots_);
    while (pages.size() <= page) pages.push_back(std::make_unique<uint8_t[]>(static_cast<std::size_t>(page_slots_ * row_bytes_)));
    return pages[page].get() + (slot % page_slots_) * row_bytes_;
}

void LayerKv::write(int64_t slot, const float* k, const float* v) {
    kv_encode_row(type_, k, row_size_, row(k_pages_, slot));
    kv_encode_row(type_, v, row_size_, row(v_pages_, slot));
}

void LayerKv::k_head(int64_t slot, int64_t g, float* dst) const {
    kv_decode_row(type_, k_raw(slot) + g * head_bytes_, head_dim_, dst);
}

void LayerKv::v_head(int64_t slot, int64_t g, float* dst) const {
    kv_decode_row(type_, v_raw(slot) + g * head_bytes_, head_dim_, dst);
}

std::size_t LayerKv::bytes_allocated() const {
    return (k_pages_.size() + v_pages_.size()) * static_cast<std::size_t>(page_slots_ * row_bytes_);
}

void LayerKv::clear() {
    k_pages_.clear();
    v_pages_.clear();
}

SequenceKv::SequenceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, KvOptions options)
    : KvMemory(KvLayout(plan, options.page_size), options.type) {
    check_kv_type_fits(options.type, head_dim);
    layers_.reserve(plan.layers.size());
    for (int64_t il = 0; il < layout().n_layers(); ++il)
        layers_.emplace_back(options.type, n_kv_heads * head_dim, head_dim, layout().page_slots(il));
}

void SequenceKv::release() {
    for (auto& l : layers_) l.clear();
}

std::size_t SequenceKv::bytes_allocated() const {
    std::size_t n = 0;
    for (const auto& l : layers_) n += l.bytes_allocated();
    return n;
}

}  // namespace scout::kv
