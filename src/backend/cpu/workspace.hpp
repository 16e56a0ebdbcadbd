// The CPU forward pass's activations, sized once for the largest batch (max_batch_rows) when the
// backend is made, so that a decode step performs no heap allocation (what a CUDA graph will need
// of the GPU backend, and what keeps the CPU path's steady state free of allocator traffic).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cpu/ops/rope.hpp"
#include "base/thread_pool.hpp"
#include "model/config.hpp"

namespace scout::cpu {

// An allocator whose resize leaves new floats unwritten, so that a buffer's pages are placed
// (first touch) by the threads that write them first, not by the thread that made it.
template <typename T>
struct NoInitAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
        using other = NoInitAllocator<U>;
    };
    NoInitAllocator() = default;
    template <typename U>
    NoInitAllocator(const NoInitAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
    template <typename U>
    void construct(U* p) {
        ::new (static_cast<void*>(p)) U;  // default-initialised: no write
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
using ActivationBuffer = std::vector<float, NoInitAllocator<float>>;

struct Workspace {
    int64_t max_rows = 0;            // R
    std::vector<int32_t> tokens;     // [R]
    std::vector<int64_t> positions;  // [R]
    std::vector<int64_t> row_begin;  // [n_steps + 1] (n_steps <= R)
    std::vector<int64_t> out_rows;   // [R] rows whose logits are wanted
    ActivationBuffer h;              // [R, D] residual stream
    ActivationBuffer xn;             // [R, D] normed input of a block
    ActivationBuffer branch;         // [R, D] a block's output
    ActivationBuffer q;              // [R, H*d]
    ActivationBuffer k;              // [R, Hkv*d]
    ActivationBuffer v;              // [R, Hkv*d]
    ActivationBuffer attn;           // [R, H*d]
    RopeTable rope;                  // cos/sin [R, d/2]
    std::vector<float> router;         // [R, E] router logits (only filled for activation dumps)
    std::vector<float> shared_expert;  // [R, D] the shared expert's output (only filled for activation dumps)

    // Sizes every buffer for `rows` rows; the row buffers are first written (zeroed) by the pool's
    // threads, each its share of rows as the row passes (norms, RoPE) split them, so that on a
    // machine with several memory nodes each thread's rows sit in its own node's memory.
    void reserve(const model::TextConfig& c, int64_t rows, ThreadPool& pool);
    uint64_t bytes() const;
};

}  // namespace scout::cpu
