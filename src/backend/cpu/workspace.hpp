// The CPU forward pass's activations, sized once for the largest batch (max_batch_rows) when the
// backend is made, so that a decode step performs no heap allocation (what a CUDA graph will need
// of the GPU backend, and what keeps the CPU path's steady state free of allocator traffic).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/ops/rope.hpp"
#include "model/config.hpp"

namespace scout::cpu {

struct Workspace {
    int64_t max_rows = 0;            // R
    std::vector<int32_t> tokens;     // [R]
    std::vector<int64_t> positions;  // [R]
    std::vector<int64_t> row_begin;  // [n_steps + 1] (n_steps <= R)
    std::vector<int64_t> out_rows;   // [R] rows whose logits are wanted
    std::vector<float> h;            // [R, D] residual stream
    std::vector<float> xn;           // [R, D] normed input of a block
    std::vector<float> branch;       // [R, D] a block's output
    std::vector<float> q;            // [R, H*d]
    std::vector<float> k;            // [R, Hkv*d]
    std::vector<float> v;            // [R, Hkv*d]
    std::vector<float> attn;         // [R, H*d]
    RopeTable rope;                  // cos/sin [R, d/2]
    std::vector<float> router;         // [R, E] router logits (only filled for activation dumps)
    std::vector<float> shared_expert;  // [R, D] the shared expert's output (only filled for activation dumps)

    void reserve(const model::TextConfig& c, int64_t rows);
    uint64_t bytes() const;
};

}  // namespace scout::cpu
