#include "vision/encoder_cpu.hpp"

#include <algorithm>
#include <cmath>

#include "backend/cpu/ops/matmul.hpp"
#include "base/error.hpp"
#include "vision/rope_2d.hpp"

namespace scout::vision {
namespace {

cpu::WeightMatrix f32_matrix(const std::vector<float>& w, int64_t rows, int64_t cols) {
    return cpu::WeightMatrix{w.data(), DType::F32, rows, cols, cols};
}

// y[T, b.size()] += b on every row.
void add_bias(float* y, int64_t T, const std::vector<float>& b, ThreadPool& pool) {
    const int64_t n = static_cast<int64_t>(b.size());
    pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t)
            for (int64_t o = 0; o < n; ++o) y[t * n + o] += b[o];
    });
}

// y[T, out] = x[T, in] · W[out, in]ᵀ + b
void linear(const float* x, int64_t T, const std::vector<float>& w, int64_t out, int64_t in, const std::vector<float>* b,
            float* y, ThreadPool& pool) {
    cpu::matmul_nt(x, T, f32_matrix(w, out, in), y, pool);
    if (b) add_bias(y, T, *b, pool);
}

// LayerNorm of every row of x [T, D] into y (mean and biased variance in double, as the twin).
void layer_norm(const float* x, int64_t T, int64_t D, const std::vector<float>& w, const std::vector<float>& b, double eps,
                float* y, ThreadPool& pool) {
    pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t) {
            const float* xr = x + t * D;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < D; ++i) mean += xr[i];
            mean /= static_cast<double>(D);
            for (int64_t i = 0; i < D; ++i) var += (xr[i] - mean) * (xr[i] - mean);
            var /= static_cast<double>(D);
            const float inv = static_cast<float>(1.0 / std::sqrt(var + eps)), m = static_cast<float>(mean);
            float* yr = y + t * D;
            for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - m) * inv * w[i] + b[i];
        }
    });
}

// Exact (erf) GELU in place over n values.
void gelu(float* x, int64_t n, ThreadPool& pool) {
    pool.parallel_for(n, [&](int64_t i0, int64_t i1, int) {
        for (int64_t i = i0; i < i1; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
    });
}

// Turns the interleaved pairs of every head of the rows of x [T, H*hd].
void apply_rope(float* x, int64_t T, int64_t H, int64_t hd, const std::vector<float>& cos_t, const std::vector<float>& sin_t,
                ThreadPool& pool) {
    const int64_t half = hd / 2;
    pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t)
            for (int64_t h = 0; h < H; ++h) {
                float* v = x + (t * H + h) * hd;
                for (int64_t j = 0; j < half; ++j) {
                    const float c = cos_t[t * half + j], s = sin_t[t * half + j];
                    const float a = v[2 * j], b = v[2 * j + 1];
                    v[2 * j] = a * c - b * s;
                    v[2 * j + 1] = a * s + b * c;
                }
            }
    });
}

// Bidirectional attention, one head per task: q, k, v [T, H*hd] -> out [T, H*hd]. Each head is
// two products on the SIMD kernels, run on the task's own thread (an inline pool of one):
// scores [T, T] = Q_h · K_hᵀ, softmax per row, then P · V_h, divided by the row's sum.
void attention(const float* q, const float* k, const float* v, int64_t T, int64_t H, int64_t hd, float* out,
               ThreadPool& pool) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    pool.parallel_for(H, [&](int64_t h0, int64_t h1, int) {
        ThreadPool inline_pool(1);
        std::vector<float> qh(static_cast<size_t>(T * hd)), kh(qh.size()), vh(qh.size()), oh(qh.size()),
            scores(static_cast<size_t>(T * T)), total(static_cast<size_t>(T));
        for (int64_t h = h0; h < h1; ++h) {
            for (int64_t j = 0; j < T; ++j) {
                std::copy_n(q + (j * H + h) * hd, hd, qh.data() + j * hd);
                std::copy_n(k + (j * H + h) * hd, hd, kh.data() + j * hd);
                std::copy_n(v + (j * H + h) * hd, hd, vh.data() + j * hd);
            }
            cpu::matmul_nt(qh.data(), T, cpu::WeightMatrix{kh.data(), DType::F32, T, hd, hd}, scores.data(), inline_pool);
            for (int64_t i = 0; i < T; ++i) {
                float* row = scores.data() + i * T;
                float mx = -INFINITY;
                for (int64_t j = 0; j < T; ++j) mx = std::max(mx, row[j]);
                float sum = 0;
                for (int64_t j = 0; j < T; ++j) sum += (row[j] = std::exp((row[j] - mx) * scale));
                total[i] = sum;
            }
            cpu::matmul_nn(scores.data(), T, cpu::WeightMatrix{vh.data(), DType::F32, T, hd, hd}, oh.data(), inline_pool);
            for (int64_t i = 0; i < T; ++i) {
                const float inv = 1.0f / total[i];
                float* o = out + (i * H + h) * hd;
                for (int64_t d = 0; d < hd; ++d) o[d] = oh[i * hd + d] * inv;
            }
        }
    });
}

}  // namespace

std::vector<float> encode_tiles(const VisionConfig& c, const VisionWeights& w, std::span<const float> pixels, int64_t tiles,
                                ThreadPool& pool) {
    const int64_t S = c.image_size, p = c.patch_size, C = c.num_channels, D = c.hidden_size, g = c.grid();
    const int64_t N = c.patches(), T = N + 1, H = c.num_heads, hd = c.head_dim(), P = c.projector_output_dim;
    const int64_t F = c.intermediate_size, R = c.tokens_per_tile();
    if (tiles < 0 || pixels.size() != static_cast<size_t>(tiles * C * S * S))
        throw Error(cat("vision encoder: ", pixels.size(), " pixel values are not ", tiles, " tiles of ", C, "x", S, "x", S));
    std::vector<float> cos_t, sin_t;
    rope_2d_tables(c, cos_t, sin_t);
    // Per-tile buffers, reused: h [T, D] the residual stream, x [T, D] normed, q/k/v/a [T, D], m [T, F].
    std::vector<float> patches(static_cast<size_t>(N * c.patch_dim())), h(static_cast<size_t>(T * D)), x(h.size()),
        q(h.size()), k(h.size()), v(h.size()), a(h.size()), m(static_cast<size_t>(T * F));
    std::vector<float> shuffled(static_cast<size_t>(R * 4 * D)), a1(static_cast<size_t>(R * P));
    std::vector<float> out(static_cast<size_t>(tiles * R * P));
    for (int64_t tile = 0; tile < tiles; ++tile) {
        const float* px = pixels.data() + tile * C * S * S;
        // Unfold: patch n = py*g + px, vector index c*p*p + ky*p + kx.
        pool.parallel_for(N, [&](int64_t n0, int64_t n1, int) {
            for (int64_t n = n0; n < n1; ++n)
                for (int64_t ch = 0; ch < C; ++ch)
                    for (int64_t ky = 0; ky < p; ++ky)
                        std::copy_n(px + ch * S * S + ((n / g) * p + ky) * S + (n % g) * p, p,
                                    patches.data() + n * c.patch_dim() + ch * p * p + ky * p);
        });
        linear(patches.data(), N, w.patch_embed, D, c.patch_dim(), nullptr, x.data(), pool);  // [N, D]
        std::copy_n(w.class_embedding.data(), D, x.data() + N * D);                         // class token last
        for (size_t i = 0; i < h.size(); ++i) x[i] += w.positions[i];
        layer_norm(x.data(), T, D, w.ln_pre_w, w.ln_pre_b, c.layer_norm_eps, h.data(), pool);
        for (const VisionLayerWeights& L : w.layers) {
            layer_norm(h.data(), T, D, L.ln1_w, L.ln1_b, c.layer_norm_eps, x.data(), pool);
            const cpu::MatmulOut qkv[3] = {{f32_matrix(L.wq, D, D), q.data()}, {f32_matrix(L.wk, D, D), k.data()},
                                           {f32_matrix(L.wv, D, D), v.data()}};
            cpu::matmul_nt_group(x.data(), T, qkv, pool);  // one pass over x for the three
            add_bias(q.data(), T, L.bq, pool);
            add_bias(k.data(), T, L.bk, pool);
            add_bias(v.data(), T, L.bv, pool);
            apply_rope(q.data(), T, H, hd, cos_t, sin_t, pool);
            apply_rope(k.data(), T, H, hd, cos_t, sin_t, pool);
            attention(q.data(), k.data(), v.data(), T, H, hd, a.data(), pool);
            linear(a.data(), T, L.wo, D, D, &L.bo, x.data(), pool);
            for (size_t i = 0; i < h.size(); ++i) h[i] += x[i];
            layer_norm(h.data(), T, D, L.ln2_w, L.ln2_b, c.layer_norm_eps, x.data(), pool);
            linear(x.data(), T, L.fc1_w, F, D, &L.fc1_b, m.data(), pool);
            gelu(m.data(), T * F, pool);
            linear(m.data(), T, L.fc2_w, D, F, &L.fc2_b, x.data(), pool);
            for (size_t i = 0; i < h.size(); ++i) h[i] += x[i];
        }
        layer_norm(h.data(), T, D, w.ln_post_w, w.ln_post_b, c.layer_norm_eps, x.data(), pool);
        // Pixel shuffle (the class token dropped): token i*(g/2)+j = [in(2i,2j), in(2i,2j+1), in(2i+1,2j), in(2i+1,2j+1)].
        const int64_t half = g / 2;
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < half; ++j)
                for (int64_t q4 = 0; q4 < 4; ++q4)
                    std::copy_n(x.data() + ((2 * i + q4 / 2) * g + 2 * j + q4 % 2) * D, D,
                                shuffled.data() + ((i * half + j) * 4 + q4) * D);
        linear(shuffled.data(), R, w.adapter_fc1, P, 4 * D, nullptr, a1.data(), pool);
        gelu(a1.data(), R * P, pool);
        float* o = out.data() + tile * R * P;
        linear(a1.data(), R, w.adapter_fc2, P, P, nullptr, o, pool);
        gelu(o, R * P, pool);
    }
    return out;
}

std::vector<float> project_features(const VisionConfig& c, const VisionWeights& w, std::span<const float> features,
                                    ThreadPool& pool) {
    const int64_t P = c.vision_output_dim;
    if (features.size() % static_cast<size_t>(P) != 0)
        throw Error(cat("vision projector: ", features.size(), " values are not rows of ", P));
    const int64_t rows = static_cast<int64_t>(features.size()) / P;
    std::vector<float> out(static_cast<size_t>(rows * c.text_hidden_size));
    linear(features.data(), rows, w.projector, c.text_hidden_size, P, nullptr, out.data(), pool);
    return out;
}

}  // namespace scout::vision
