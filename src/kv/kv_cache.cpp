#include "kv/kv_cache.hpp"

#include "base/error.hpp"

namespace scout::kv {

LayerKv::LayerKv(KvType type, int64_t row_size, int64_t head_dim, int64_t page_slots, PageStore* store)
    : type_(type), row_size_(row_size), head_dim_(head_dim), head_bytes_(kv_row_bytes(type, head_dim)),
      row_bytes_(kv_row_bytes(type, row_size)), page_slots_(page_slots), store_(store) {
    check(page_slots_ > 0 && row_size_ > 0 && head_dim_ > 0 && row_size_ % head_dim_ == 0,
          "LayerKv: page, row and head sizes must be positive and the row whole heads");
    check(!store_ || store_->page_bytes() == static_cast<std::size_t>(page_slots_ * row_bytes_),
          "LayerKv: the page store's page size differs from this layer's pages");
}

uint8_t* LayerKv::row(std::vector<Page>& pages, int64_t slot) {
    const auto page = static_cast<std::size_t>(slot / page_slots_);
    while (pages.size() <= page) {
        const auto bytes = static_cast<std::size_t>(page_slots_ * row_bytes_);
        pages.push_back(Page(store_ ? store_->allocate() : new uint8_t[bytes], PageDeleter{store_}));
    }
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

std::size_t LayerKv::bytes_in_file() const {
    if (!store_) return 0;
    std::size_t n = 0;
    for (const auto* pages : {&k_pages_, &v_pages_})
        for (const Page& p : *pages)
            if (store_->in_file(p.get())) n += static_cast<std::size_t>(page_slots_ * row_bytes_);
    return n;
}

void LayerKv::clear() {
    k_pages_.clear();
    v_pages_.clear();
}

SequenceKv::SequenceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, KvOptions options)
    : KvMemory(KvLayout(plan, options.page_size), options.type, options.global_type.value_or(options.type)),
      store_(std::move(options.store)) {
    check_kv_type_fits(type(), head_dim);
    check_kv_type_fits(global_type(), head_dim, "--kv-type-global");
    layers_.reserve(plan.layers.size());
    for (int64_t il = 0; il < layout().n_layers(); ++il)
        layers_.emplace_back(type_of_layer(il), n_kv_heads * head_dim, head_dim, layout().page_slots(il),
                             layout().chunked(il) ? nullptr : store_.get());
}

std::size_t SequenceKv::bytes_in_file() const {
    std::size_t n = 0;
    for (const auto& l : layers_) n += l.bytes_in_file();
    return n;
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
