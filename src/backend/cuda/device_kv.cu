#include "backend/cuda/device_kv.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace scout::cuda {

void* PagePool::take(std::size_t page_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = free_[page_bytes];
    if (list.empty()) {
        // A new slab of whole pages (at least one); pages 256-byte aligned for vector access.
        const std::size_t stride = (page_bytes + 255) / 256 * 256;
        const std::size_t n = std::max<std::size_t>(1, slab_bytes_ / stride);
        slabs_.emplace_back(n * stride);
        auto* base = slabs_.back().as<uint8_t>();
        for (std::size_t i = n; i-- > 0;) list.push_back(base + i * stride);
    }
    void* p = list.back();
    list.pop_back();
    return p;
}

void PagePool::give(void* page, std::size_t page_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[page_bytes].push_back(page);
}

std::size_t PagePool::bytes_reserved() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& s : slabs_) n += s.bytes();
    return n;
}

DeviceKv::DeviceKv(const model::LayerPlan& plan, int64_t n_kv_heads, int64_t head_dim, kv::KvType type,
                   int64_t page_size, std::shared_ptr<PagePool> pool)
    : kv::KvMemory(kv::KvLayout(plan, page_size), type), n_kv_heads_(n_kv_heads), head_dim_(head_dim),
      pool_(std::move(pool)), pages_(static_cast<std::size_t>(plan.n_layers() * 2)) {
    kv::check_kv_type_fits(type, head_dim);
}

DeviceKv::~DeviceKv() { release(); }

std::size_t DeviceKv::page_bytes(int64_t il) const {
    return static_cast<std::size_t>(layout().page_slots(il) * n_kv_heads_ * kv::kv_row_bytes(type(), head_dim_));
}

void DeviceKv::reserve(int64_t n_positions, cudaStream_t stream) {
    const int64_t L = layout().n_layers();
    int64_t need_cap = cap_;
    for (int64_t il = 0; il < L; ++il) {
        const int64_t need = layout().pages_needed(il, n_positions);
        need_cap = std::max(need_cap, need);
        for (int kind = 0; kind < 2; ++kind) {
            auto& list = pages_[static_cast<std::size_t>(il * 2 + kind)];
            while (static_cast<int64_t>(list.size()) < need) {
                list.push_back(pool_->take(page_bytes(il)));
                dirty_ = true;
            }
        }
    }
    if (need_cap > cap_) {
        // Grow geometrically so a long generation re-uploads the table O(log n) times. Freeing the
        // old table synchronizes with kernels still reading it (cudaFree waits for the device).
        cap_ = static_cast<int32_t>(std::max<int64_t>(need_cap, 2 * static_cast<int64_t>(cap_)));
        table_.resize(static_cast<std::size_t>(L * 2 * cap_) * sizeof(void*));
        dirty_ = true;
    }
    if (!dirty_) return;
    std::vector<void*> host(static_cast<std::size_t>(L * 2 * cap_), nullptr);
    for (std::size_t lk = 0; lk < pages_.size(); ++lk)
        std::copy(pages_[lk].begin(), pages_[lk].end(), host.begin() + static_cast<std::ptrdiff_t>(lk * cap_));
    // From pageable memory the copy is staged before the call returns, so `host` may die after it;
    // on `stream` it is ordered after the kernels of earlier passes that read the old entries.
    SCOUT_CUDA_CHECK(cudaMemcpyAsync(table_.get(), host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice, stream));
    dirty_ = false;
}

std::size_t DeviceKv::bytes_allocated() const {
    std::size_t n = table_.bytes();
    for (std::size_t lk = 0; lk < pages_.size(); ++lk) n += pages_[lk].size() * page_bytes(static_cast<int64_t>(lk / 2));
    return n;
}

void DeviceKv::release() {
    for (std::size_t lk = 0; lk < pages_.size(); ++lk) {
        for (void* p : pages_[lk]) pool_->give(p, page_bytes(static_cast<int64_t>(lk / 2)));
        pages_[lk].clear();
    }
    table_.reset();
    cap_ = 0;
    dirty_ = false;
}

}  // namespace scout::cuda
