// What one forward pass computes: the engine builds it (scheduler, session, logits, bench),
// every backend reads it. Plain data: no backend types here.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_memory.hpp"

namespace scout::backend {

// One sequence's share of a batch. Its new rows sit at positions kv->n_past() ... kv->n_past() +
// tokens.size() - 1 (positions are always the sequence's next ones: KV memory is append-only
// between rewinds), and the pass advances kv by tokens.size().
struct SequenceStep {
    kv::KvMemory* kv = nullptr;       // made by the same backend (Forward::make_kv)
    std::span<const int32_t> tokens;  // one id per new row (also for rows given as embeddings)
    // Rows given as embeddings instead of token lookups (vision features at <|patch|> tokens):
    // embedding_rows[i] is the index in `tokens` of the row that takes embeddings[i * D .. + D).
    std::span<const int64_t> embedding_rows;  // increasing
    std::span<const float> embeddings;        // [embedding_rows.size(), D]
    bool all_logits = false;                  // logits for every row, else only for the last
};

// The rows of a batch, in order: sequence after sequence. Logits come back in the same order,
// tokens.size() rows for an all_logits step, else one.
using Batch = std::span<const SequenceStep>;

// Logit rows a batch produces.
int64_t batch_logit_rows(Batch batch);
// Rows (tokens) in a batch.
int64_t batch_rows(Batch batch);

}  // namespace scout::backend
