// CpuForward::fill_kv_random: K/V rows for `scout bench --depth N --fill random`, written straight
// into a sequence's host KV memory instead of running N tokens of prefill (quadratic in N, hours
// on two cores at 256K). Only the attention cost at that depth matters there, not the values.
#include <algorithm>
#include <vector>

#include "backend/cpu/forward_cpu.hpp"
#include "base/error.hpp"

namespace scout::cpu {

namespace {

// splitmix64: a fast, well-mixed stream; one 64-bit draw gives two values.
uint64_t next(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform on [-sqrt(3), sqrt(3)): mean 0, variance 1, like K after QK norm and V of a normed input.
void fill_row(uint64_t& state, std::vector<float>& row) {
    constexpr float kScale = 1.7320508f / 2147483648.0f;
    for (std::size_t i = 0; i < row.size(); i += 2) {
        const uint64_t r = next(state);
        row[i] = static_cast<float>(static_cast<int32_t>(r)) * kScale;
        if (i + 1 < row.size()) row[i + 1] = static_cast<float>(static_cast<int32_t>(r >> 32)) * kScale;
    }
}

}  // namespace

void CpuForward::fill_kv_random(kv::KvMemory& m, int64_t n, uint64_t seed) {
    auto* seq = dynamic_cast<kv::SequenceKv*>(&m);
    check(seq != nullptr, "fill_kv_random: this KV memory was not made by the CPU backend");
    check(n >= 0, "fill_kv_random: the number of positions must be >= 0");
    const kv::KvLayout& layout = seq->layout();
    const int64_t from = seq->n_past(), to = from + n;
    const int64_t row_size = config_.num_key_value_heads * config_.head_dim;
    // One task per layer; each layer's rows come from its own stream, so the result does not
    // depend on the thread count. Blocks of positions: after each, KV pages in a --kv-ram file
    // leave the process, as they do after each layer of a real prefill.
    std::vector<uint64_t> states(static_cast<std::size_t>(layout.n_layers()));
    for (int64_t il = 0; il < layout.n_layers(); ++il)
        states[static_cast<std::size_t>(il)] = seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(il + 1));
    constexpr int64_t kBlock = 4096;
    for (int64_t block = from; block < to; block += kBlock) {
        const int64_t block_end = std::min(to, block + kBlock);
        pool_.parallel_for(layout.n_layers(), [&](int64_t b, int64_t e, int) {
            std::vector<float> k(static_cast<std::size_t>(row_size)), v(k.size());
            for (int64_t il = b; il < e; ++il) {
                uint64_t& state = states[static_cast<std::size_t>(il)];
                // A chunk ring keeps only the last chunk: earlier positions would be overwritten.
                const int64_t start = layout.chunked(il) ? std::max(block, to - layout.chunk_size()) : block;
                for (int64_t pos = start; pos < block_end; ++pos) {
                    fill_row(state, k);
                    fill_row(state, v);
                    seq->layer(il).write(layout.slot(il, pos), k.data(), v.data());
                }
            }
        });
        if (kv_store_) kv_store_->drop_resident();
    }
    seq->advance(n);
}

}  // namespace scout::cpu
