#include "kv/kv_cache.hpp"

#include <cstring>

#include "base/error.hpp"

namespace scout::kv {

namespace {

constexpr int64_t kMaxTiledHeadBytes = 4096;  // a head encoded on the stack by write_k_tiled

bool element_type(KvType t) { return t == KvType::F32 || t == KvType::F16 || t == KvType::BF16; }

}  // namespace

bool k_tiles_fit(KvType type, int64_t head_dim, int64_t page_slots, bool chunked, int64_t chunk_size) {
    return element_type(type) && kv_row_bytes(type, head_dim) <= kMaxTiledHeadBytes && page_slots % kKTile == 0 &&
           (!chunked || chunk_size % kKTile == 0);
}

LayerKv::LayerKv(KvType type, int64_t row_size, int64_t head_dim, int64_t page_slots, PageStore* store,
                 KLayout k_layout)
    : type_(type), row_size_(row_size), head_dim_(head_dim), head_bytes_(kv_row_bytes(type, head_dim)),
      row_bytes_(kv_row_bytes(type, row_size)), page_slots_(page_slots), store_(store), k_layout_(k_layout) {
    check(page_slots_ > 0 && row_size_ > 0 && head_dim_ > 0 && row_size_ % head_dim_ == 0,
          "LayerKv: page, row and head sizes must be positive and the row whole heads");
    check(!store_ || store_->page_bytes() == static_cast<std::size_t>(page_slots_ * row_bytes_),
          "LayerKv: the page store's page size differs from this layer's pages");
    check(k_layout_ == KLayout::Rows || k_tiles_fit(type_, head_dim_, page_slots_, false, 0),
          "LayerKv: K tiles need an element type (f32, f16, bf16), pages of whole tiles and a head of at most "
          "4096 bytes");
}

uint8_t* LayerKv::row(std::vector<Page>& pages, int64_t slot) {
    const auto page = static_cast<std::size_t>(slot / page_slots_);
    while (pages.size() <= page) {
        const auto bytes = static_cast<std::size_t>(page_slots_ * row_bytes_);
        pages.push_back(Page(store_ ? store_->allocate() : new uint8_t[bytes], PageDeleter{store_}));
    }
    return pages[page].get() + (slot % page_slots_) * row_bytes_;
}

void LayerKv::reserve_slot(int64_t slot) {
    row(k_pages_, slot);
    row(v_pages_, slot);
}

void LayerKv::write(int64_t slot, const float* k, const float* v) {
    if (k_tiled()) write_k_tiled(slot, k);
    else kv_encode_row(type_, k, row_size_, row(k_pages_, slot));
    kv_encode_row(type_, v, row_size_, row(v_pages_, slot));
}

// Each head is encoded as a row (the same bytes per value as the row layout), then its values go
// to their lanes: value c of head g at element (g * head_dim + c) * kKTile + lane of the tile.
void LayerKv::write_k_tiled(int64_t slot, const float* k) {
    uint8_t* tile = row(k_pages_, slot - slot % kKTile);
    const int64_t lane = slot % kKTile, elem = head_bytes_ / head_dim_;
    uint8_t head[kMaxTiledHeadBytes];
    for (int64_t g = 0; g < row_size_ / head_dim_; ++g) {
        kv_encode_row(type_, k + g * head_dim_, head_dim_, head);
        uint8_t* dst = tile + (g * head_dim_ * kKTile + lane) * elem;
        for (int64_t c = 0; c < head_dim_; ++c) std::memcpy(dst + c * kKTile * elem, head + c * elem, static_cast<std::size_t>(elem));
    }
}

void LayerKv::k_head(int64_t slot, int64_t g, float* dst) const {
    if (!k_tiled()) return kv_decode_row(type_, k_raw(slot) + g * head_bytes_, head_dim_, dst);
    const int64_t lane = slot % kKTile, elem = head_bytes_ / head_dim_;
    const uint8_t* src = k_tile(slot - lane, g) + lane * elem;
    uint8_t head[kMaxTiledHeadBytes];
    for (int64_t c = 0; c < head_dim_; ++c) std::memcpy(head + c * elem, src + c * kKTile * elem, static_cast<std::size_t>(elem));
    kv_decode_row(type_, head, head_dim_, dst);
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
    for (int64_t il = 0; il < layout().n_layers(); ++il) {
        const KvType t = type_of_layer(il);
        const bool tiles = k_tiles_fit(t, head_dim, layout().page_slots(il), layout().chunked(il), layout().chunk_size());
        layers_.emplace_back(t, n_kv_heads * head_dim, head_dim, layout().page_slots(il),
                             layout().chunked(il) ? nullptr : store_.get(), tiles ? KLayout::Tiles : KLayout::Rows);
    }
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
