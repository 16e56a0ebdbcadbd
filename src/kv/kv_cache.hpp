// KV memory of one sequence in host memory (the storage the CPU backend makes): typed rows in
// pages, addressed by the shared layout (kv_layout.hpp). A row is [n_kv_heads * head_dim]
// values of one position, stored after RoPE and QK norm, encoded as the KvType says
// (kv_type.hpp); a head's values are a contiguous piece of the row.
//
// K may instead be stored in tiles (KLayout::Tiles): each run of kKTile slots that starts at a
// multiple of kKTile keeps its K rows transposed per head, [head][c][lane] (lane = slot % kKTile),
// which is the layout the attention kernel's Q·Kᵀ reads (one key per vector lane): stored so, a
// decode step at depth no longer transposes every K tile it reads (on the 1.3 B model's shape
// that transpose was a third of the kernel's time). Same bytes per page; V stays in rows (P·V
// reads a key's row). Only for element types (f32 / f16 / bf16: no blocks along the head) and
// pages of whole tiles.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kv/kv_memory.hpp"
#include "kv/page_store.hpp"

namespace scout::kv {

inline constexpr int64_t kKTile = 64;  // slots per K tile (the CPU attention kernel's key tile)

enum class KLayout { Rows, Tiles };

// Whether K of a layer can be stored in tiles: an element type, a head of at most 4 KiB, pages of
// whole tiles, and (for a chunk ring, slot = pos % chunk_size) chunks of whole tiles, so that a
// tile of kKTile positions aligned to a multiple of kKTile is one stored tile.
bool k_tiles_fit(KvType type, int64_t head_dim, int64_t page_slots, bool chunked, int64_t chunk_size);

class LayerKv {
public:
    // store: where pages come from (nullptr: the heap); it must outlive this object.
    LayerKv(KvType type, int64_t row_size, int64_t head_dim, int64_t page_slots, PageStore* store = nullptr,
            KLayout k_layout = KLayout::Rows);

    KvType type() const { return type_; }
    int64_t row_size() const { return row_size_; }
    int64_t row_bytes() const { return row_bytes_; }
    int64_t head_bytes() const { return head_bytes_; }  // one head's piece of a row
    bool k_tiled() const { return k_layout_ == KLayout::Tiles; }

    // Encodes the float32 rows k, v [row_size] into slot `slot` (allocating pages as needed).
    // Once reserve_slot(slot) has run, writes of distinct slots may run on several threads at
    // once (they touch distinct bytes, K tiles included, and allocate nothing).
    void write(int64_t slot, const float* k, const float* v);
    // Allocates the pages that slot's K and V live in (single-threaded).
    void reserve_slot(int64_t slot);
    // Raw rows of an already written slot (row_bytes() bytes each); K only when !k_tiled().
    const uint8_t* k_raw(int64_t slot) const { return at(k_pages_, slot); }
    const uint8_t* v_raw(int64_t slot) const { return at(v_pages_, slot); }
    // K of head g for the tile of slots [slot0, slot0 + kKTile) (slot0 % kKTile == 0, k_tiled(),
    // at least one slot of it written): [head_dim][kKTile] values, value (c, lane) at element
    // c * kKTile + lane. Lanes of unwritten slots hold whatever the page held.
    const uint8_t* k_tile(int64_t slot0, int64_t g) const {
        return at(k_pages_, slot0) + g * kKTile * head_bytes_;
    }
    // Decodes head g of a slot's K / V row into dst [head_dim].
    void k_head(int64_t slot, int64_t g, float* dst) const;
    void v_head(int64_t slot, int64_t g, float* dst) const;

    std::size_t bytes_allocated() const;
    std::size_t bytes_in_file() const;  // of bytes_allocated(): pages the store put in its file
    void clear();

private:
    // Gives a page back where it came from.
    struct PageDeleter {
        PageStore* store = nullptr;
        void operator()(uint8_t* p) const {
            if (store) store->release(p);
            else delete[] p;
        }
    };
    using Page = std::unique_ptr<uint8_t[], PageDeleter>;
    const uint8_t* at(const std::vector<Page>& pages, int64_t slot) const {
        return pages[static_cast<std::size_t>(slot / page_slots_)].get() + (slot % page_slots_) * row_bytes_;
    }
    uint8_t* row(std::vector<Page>& pages, int64_t slot);
    void write_k_tiled(int64_t slot, const float* k);

    KvType type_;
    int64_t row_size_;   // values per row
    int64_t head_dim_;
    int64_t head_bytes_;
    int64_t row_bytes_;
    int64_t page_slots_;
    PageStore* store_;
    KLayout k_layout_;
    std::vector<Page> k_pages_, v_pages_;
};

struct KvOptions {
    KvType type = kDefaultKvType;
    int64_t page_size = 256;  // positions per page (global layers; chunk rings use min(C, page_size))
    // Where the global layers' pages come from (--kv-ram / --kv-dir); its page_bytes must be
    // page_size rows. nullptr: the heap. Chunk rings are always on the heap (small and fixed).
    std::shared_ptr<PageStore> store = nullptr;
    // The global layers' type (--kv-type-global); unset: `type`, like the chunk rings.
    std::optional<KvType> global_type = std::nullopt;
};

// All layers of one sequence.
class SequenceKv final : public KvMemory {
public:
    SequenceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, KvOptions options = {});

    LayerKv& layer(int64_t il) { return layers_[static_cast<std::size_t>(il)]; }
    const LayerKv& layer(int64_t il) const { return layers_[static_cast<std::size_t>(il)]; }
    std::size_t bytes_allocated() const override;
    std::size_t bytes_in_file() const override;

private:
    void release() override;
    std::shared_ptr<PageStore> store_;  // before layers_: destroyed after their pages went back
    std::vector<LayerKv> layers_;
};

}  // namespace scout::kv
