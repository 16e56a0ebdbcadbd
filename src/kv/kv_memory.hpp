// One sequence's KV memory as the engine sees it: the layout (positions, rewind rules) plus
// storage that a backend owns (host pages on the CPU, device pages on a GPU). The engine only
// moves the position (rewind, clear) and reads the byte counts; the backend that made it
// (backend::Forward::make_kv) is the only one that reads or writes rows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kv/kv_layout.hpp"
#include "kv/kv_type.hpp"

namespace scout::kv {

class KvMemory {
public:
    KvMemory(const KvLayout& layout, KvType type) : KvMemory(layout, type, type) {}
    // Chunked layers in `type`, global layers in `global_type` (--kv-type-global).
    KvMemory(const KvLayout& layout, KvType type, KvType global_type)
        : layout_(layout), type_(type), global_type_(global_type) {}
    virtual ~KvMemory() = default;
    KvMemory(const KvMemory&) = delete;
    KvMemory& operator=(const KvMemory&) = delete;

    KvType type() const { return type_; }                // the chunked layers' type
    KvType global_type() const { return global_type_; }  // the global layers' (usually the same)
    KvType type_of_layer(int64_t il) const { return layout_.chunked(il) ? type_ : global_type_; }
    const KvLayout& layout() const { return layout_; }
    int64_t n_past() const { return layout_.n_past(); }
    // Called by the backend once a forward pass has written n new positions.
    void advance(int64_t n) { layout_.advance(n); }
    // See KvLayout::rewind. Storage is kept (later writes overwrite it).
    int64_t rewind(int64_t n) { return layout_.rewind(n); }
    // Forgets every position and gives the storage back.
    void clear() {
        layout_.reset();
        release();
    }
    // Bytes of storage held now (what `scout info`, `/metrics` and the scheduler report).
    virtual std::size_t bytes_allocated() const = 0;
    // Of those, bytes kept in a file rather than RAM (--kv-ram; 0 without a budget).
    virtual std::size_t bytes_in_file() const { return 0; }

protected:
    virtual void release() = 0;

private:
    KvLayout layout_;
    KvType type_;
    KvType global_type_;
};

}  // namespace scout::kv
