#include "backend/cpu/workspace.hpp"

#include <algorithm>

namespace scout::cpu {

void Workspace::reserve(const model::TextConfig& c, int64_t rows, ThreadPool& pool) {
    max_rows = rows;
    const auto R = static_cast<std::size_t>(rows);
    const auto D = static_cast<std::size_t>(c.hidden_size), Hd = static_cast<std::size_t>(c.num_attention_heads * c.head_dim),
               Kd = static_cast<std::size_t>(c.num_key_value_heads * c.head_dim), half = static_cast<std::size_t>(c.head_dim / 2);
    tokens.assign(R, 0);
    positions.assign(R, 0);
    row_begin.assign(R + 1, 0);
    out_rows.assign(R, 0);
    struct RowBuffer {
        ActivationBuffer* buffer;
        std::size_t width;
    };
    const RowBuffer row_buffers[] = {{&h, D}, {&xn, D}, {&branch, D}, {&q, Hd}, {&attn, Hd}, {&k, Kd}, {&this->v, Kd}};
    for (const RowBuffer& b : row_buffers) b.buffer->resize(R * b.width);  // allocated, not yet written
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
        for (const RowBuffer& b : row_buffers)
            std::fill(b.buffer->begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r0) * b.width),
                      b.buffer->begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r1) * b.width), 0.0f);
    });
    router.assign(R * static_cast<std::size_t>(c.num_local_experts), 0.0f);
    shared_expert.assign(R * static_cast<std::size_t>(c.hidden_size), 0.0f);
    rope.cos.reserve(R * half);
    rope.sin.reserve(R * half);
}

uint64_t Workspace::bytes() const {
    uint64_t n = (tokens.size()) * sizeof(int32_t) + (positions.size() + row_begin.size() + out_rows.size()) * sizeof(int64_t);
    for (const auto* b : {&h, &xn, &branch, &q, &k, &this->v, &attn}) n += b->capacity() * sizeof(float);
    for (const auto* b : {&router, &shared_expert, &rope.cos, &rope.sin}) n += b->capacity() * sizeof(float);
    return n;
}

}  // namespace scout::cpu
