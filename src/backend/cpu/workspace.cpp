#include "backend/cpu/workspace.hpp"

namespace scout::cpu {

void Workspace::reserve(const model::TextConfig& c, int64_t rows) {
    max_rows = rows;
    const auto R = static_cast<std::size_t>(rows);
    const auto D = static_cast<std::size_t>(c.hidden_size), Hd = static_cast<std::size_t>(c.num_attention_heads * c.head_dim),
               Kd = static_cast<std::size_t>(c.num_key_value_heads * c.head_dim), half = static_cast<std::size_t>(c.head_dim / 2);
    tokens.assign(R, 0);
    positions.assign(R, 0);
    row_begin.assign(R + 1, 0);
    out_rows.assign(R, 0);
    for (auto* v : {&h, &xn, &branch}) v->assign(R * D, 0.0f);
    q.assign(R * Hd, 0.0f);
    attn.assign(R * Hd, 0.0f);
    k.assign(R * Kd, 0.0f);
    v.assign(R * Kd, 0.0f);
    router.assign(R * static_cast<std::size_t>(c.num_local_experts), 0.0f);
    shared_expert.assign(R * static_cast<std::size_t>(c.hidden_size), 0.0f);
    rope.cos.reserve(R * half);
    rope.sin.reserve(R * half);
}

uint64_t Workspace::bytes() const {
    uint64_t n = (tokens.size()) * sizeof(int32_t) + (positions.size() + row_begin.size() + out_rows.size()) * sizeof(int64_t);
    for (const auto* v : {&h, &xn, &branch, &q, &k, &this->v, &attn, &router, &shared_expert, &rope.cos, &rope.sin}) n += v->capacity() * sizeof(float);
    return n;
}

}  // namespace scout::cpu
