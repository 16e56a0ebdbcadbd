#include "backend/cpu/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/ops/matmul.hpp"
#include "kv/attn_mask.hpp"

namespace scout::cpu {

void attention(const float* q, std::span<const int64_t> positions, const kv::LayerKv& kv,
               const AttentionShape& sh, float* out, ThreadPool& pool) {
    const int64_t S = static_cast<int64_t>(positions.size());
    const int64_t H = sh.n_heads, d = sh.head_dim, group = sh.n_heads / sh.n_kv_heads;
    // One task per (query, head); scores are kept in a per-thread buffer of the visible length.
    pool.parallel_for(S * H, [&](int64_t begin, int64_t end, int) {
        std::vector<float> scores;
        std::vector<float> acc(static_cast<std::size_t>(d));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t i = task / H, h = task % H, g = h / group;
            const int64_t a = positions[static_cast<std::size_t>(i)];
            const int64_t lo = kv::first_visible_key(a, sh.chunked, sh.chunk_size);
            const int64_t n_keys = a - lo + 1;
            scores.resize(static_cast<std::size_t>(n_keys));
            const float* qh = q + (i * H + h) * d;
            float max_score = -std::numeric_limits<float>::infinity();
            for (int64_t t = lo; t <= a; ++t) {
                const float s = dot_f32(qh, kv.k_at(t) + g * d, d) * sh.scale;
                scores[static_cast<std::size_t>(t - lo)] = s;
                max_score = std::max(max_score, s);
            }
            float sum = 0.0f;
            for (float& s : scores) {
                s = std::exp(s - max_score);
                sum += s;
            }
            const float inv_sum = 1.0f / sum;
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int64_t t = lo; t <= a; ++t) {
                const float p = scores[static_cast<std::size_t>(t - lo)] * inv_sum;
                const float* vrow = kv.v_at(t) + g * d;
                for (int64_t c = 0; c < d; ++c) acc[static_cast<std::size_t>(c)] += p * vrow[c];
            }
            std::copy(acc.begin(), acc.end(), out + (i * H + h) * d);
        }
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
            for (int64_t t = 0; t <= a; ++t) {
                if (!kv::key_visible(a, t, sh.chunked, sh.chunk_size)) continue;
                double s = 0.0;
                for (int64_t c = 0; c < d; ++c) s += static_cast<double>(qh[c]) * kv.k_at(t)[g * d + c];
                w.push_back(s * sh.scale);
                keys.push_back(t);
            }
            const double m = *std::max_element(w.begin(), w.end());
            double z = 0.0;
            for (double& x : w) z += (x = std::exp(x - m));
            for (int64_t c = 0; c < d; ++c) {
                double o = 0.0;
                for (std::size_t j = 0; j < keys.size(); ++j) o += w[j] / z * kv.v_at(keys[j])[g * d + c];
                out[(static_cast<int64_t>(i) * H + h) * d + c] = static_cast<float>(o);
            }
        }
    }
}

}  // namespace scout::cpu
