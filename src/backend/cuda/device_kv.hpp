// KV memory on the device: kv::KvLayout's slots (chunk rings for chunked layers, growing pages
// for global layers) stored in device pages of the backend's KvType, plus a device page table
// per sequence that the kernels read (ops.hpp: KvView).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/cuda/device_buffer.hpp"
#include "kv/kv_memory.hpp"
#include "model/layer_plan.hpp"

namespace scout::cuda {

// Device pages of fixed sizes, cut from large slabs (one cudaMalloc per slab, not per page) and
// recycled between sequences. Shared by the backend and every DeviceKv it made (shared_ptr), so
// pages stay valid whichever is destroyed first. Pages are never given back to the driver before
// the pool dies.
class PagePool {
public:
    explicit PagePool(std::size_t slab_bytes = std::size_t{64} << 20) : slab_bytes_(slab_bytes) {}
    void* take(std::size_t page_bytes);
    void give(void* page, std::size_t page_bytes);
    // Bytes of slabs held (in use or free).
    std::size_t bytes_reserved() const;

private:
    std::size_t slab_bytes_;
    mutable std::mutex mu_;
    std::vector<DeviceBuffer> slabs_;
    std::map<std::size_t, std::vector<void*>> free_;  // by page size
};

class DeviceKv final : public kv::KvMemory {
public:
    DeviceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, kv::KvType type, int64_t page_size,
             std::shared_ptr<PagePool> pool);
    ~DeviceKv() override;

    // Gives every layer the pages positions [0, n_positions) need and, when the table changed,
    // copies it to the device on `stream` (ordered before the kernels that read it).
    void reserve(int64_t n_positions, cudaStream_t stream);

    // The device page table: entry [(il * 2 + kind) * capacity() + page] (kind 0 = K, 1 = V).
    void* const* device_table() const { return table_.as<void* const>(); }
    int32_t capacity() const { return cap_; }
    int64_t n_kv_heads() const { return n_kv_heads_; }
    int64_t head_dim() const { return head_dim_; }
    // Bytes of one page of layer il.
    std::size_t page_bytes(int64_t il) const;

    std::size_t bytes_allocated() const override;

protected:
    void release() override;

private:
    int64_t n_kv_heads_, head_dim_;
    std::shared_ptr<PagePool> pool_;
    std::vector<std::vector<void*>> pages_;  // [n_layers * 2] (K, V of each layer)
    DeviceBuffer table_;                     // [n_layers * 2 * cap_] page pointers
    int32_t cap_ = 0;
    bool dirty_ = false;
};

}  // namespace scout::cuda
