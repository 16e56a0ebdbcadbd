#include "backend/cpu/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/ops/attention_kernel.hpp"
#include "backend/cpu/ops/matmul.hpp"
#include "base/error.hpp"
#include "kv/attn_mask.hpp"

namespace scout::cpu {

namespace {

attn::TaskFn task_fn(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return attn::task_avx512;
        case SimdLevel::Avx2: return attn::task_avx2;
        case SimdLevel::Portable: break;
    }
    return attn::task_portable;
}

}  // namespace

void attention(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
               const AttentionShape& sh, float* out, ThreadPool& pool) {
    attention(q, positions, kv, sh, out, pool, default_simd_level());
}

void attention(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
               const AttentionShape& sh, float* out, ThreadPool& pool, SimdLevel level) {
    check(simd_level_supported(level), "attention: SIMD level not supported by this processor");
    const int64_t S = static_cast<int64_t>(positions.size());
    if (S == 0) return;
    const int64_t Hkv = sh.n_kv_heads, group = sh.n_heads / sh.n_kv_heads;
    // Tasks: kv head x head split x query block. A block of kBlock queries (x the group's heads)
    // shares each K/V tile load; when that leaves fewer tasks than threads (decode, short
    // prompts), the group's heads are split too (a row's result does not depend on its task).
    constexpr int64_t kBlock = 32;
    const int64_t n_blocks = (S + kBlock - 1) / kBlock;
    int64_t n_split = 1;
    while (n_split < group && Hkv * n_blocks * n_split < pool.n_threads() && group % (n_split * 2) == 0) n_split *= 2;
    const int64_t heads_per = group / n_split;
    const int64_t n_tasks = Hkv * n_split * n_blocks;
    const attn::TaskFn fn = task_fn(level);
    // Tasks are claimed one at a time by whichever thread is free (a task's result does not
    // depend on its thread), latest query block first: a late block sees the most keys, so the
    // costly tasks start first and the short early blocks fill the gaps at the end.
    pool.for_each_claimed(n_tasks, [&](int64_t task, int) {
        // Per-thread scratch, kept between calls (grown, never cleared: the kernel initialises what
        // it uses; stale values only reach masked score lanes, which are overwritten).
        thread_local std::vector<float> fs;
        thread_local std::vector<int64_t> is;
        thread_local std::vector<const uint8_t*> ps;
        thread_local std::vector<float> kvs;
        const int64_t block_q = std::min(S, kBlock), rows = block_q * heads_per;
        const auto grow = [](auto& v, int64_t n) {
            if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
        };
        grow(fs, attn::scratch_floats(sh.head_dim, rows));
        grow(is, attn::scratch_ints(block_q, rows));
        grow(ps, 2 * attn::kTile);
        if (kv.type() != kv::KvType::F32) grow(kvs, attn::kv_scratch_floats(sh.head_dim));
        const int64_t zb = task / (Hkv * n_split), gs = task % (Hkv * n_split);
        const int64_t b = n_blocks - 1 - zb;
        attn::TaskArgs a;
        a.q = q;
        a.positions = positions.data();
        a.i0 = b * kBlock;
        a.i1 = std::min(S, a.i0 + kBlock);
        a.g = gs / n_split;
        a.h0 = a.g * group + (gs % n_split) * heads_per;
        a.h1 = a.h0 + heads_per;
        a.kv = &kv;
        a.shape = &sh;
        a.out = out;
        a.fscratch = fs.data();
        a.iscratch = is.data();
        a.pscratch = ps.data();
        a.kvscratch = kvs.data();
        fn(a);
    });
}

void attention_ref(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
                   const AttentionShape& sh, float* out) {
    const int64_t H = sh.n_heads, d = sh.head_dim, group = sh.n_heads / sh.n_kv_heads;
    for (std::size_t i = 0; i < positions.size(); ++i) {
        const int64_t a = positions[i];
        for (int64_t h = 0; h < H; ++h) {
            const int64_t g = h / group;
            const float* qh = q + (static_cast<int64_t>(i) * H + h) * d;
            std::vector<double> w;
            std::vector<int64_t> keys;
            std::vector<float> row(static_cast<std::size_t>(d));
            const auto slot = [&](int64_t t) { return sh.chunked ? t % sh.chunk_size : t; };
            for (int64_t t = 0; t <= a; ++t) {
                if (!kv::key_visible(a, t, sh.chunked, sh.chunk_size)) continue;
                kv.k_head(slot(t), g, row.data());
                double s = 0.0;
                for (int64_t c = 0; c < d; ++c) s += static_cast<double>(qh[c]) * row[static_cast<std::size_t>(c)];
                w.push_back(s * sh.scale);
                keys.push_back(t);
            }
            const double m = *std::max_element(w.begin(), w.end());
            double z = 0.0;
            for (double& x : w) z += (x = std::exp(x - m));
            std::vector<double> o(static_cast<std::size_t>(d), 0.0);
            for (std::size_t j = 0; j < keys.size(); ++j) {
                kv.v_head(slot(keys[j]), g, row.data());
                for (int64_t c = 0; c < d; ++c) o[static_cast<std::size_t>(c)] += w[j] / z * row[static_cast<std::size_t>(c)];
            }
            for (int64_t c = 0; c < d; ++c) out[(static_cast<int64_t>(i) * H + h) * d + c] = static_cast<float>(o[static_cast<std::size_t>(c)]);
        }
    }
}

}  // namespace scout::cpu
