#include "vision/encoder_reference.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"
#include "vision/rope_2d.hpp"

namespace scout::vision {
namespace {

// y[n, out] = x[n, in] · W[out, in]ᵀ (+ b[out])
std::vector<float> linear(std::span<const float> x, int64_t n, int64_t in, const std::vector<float>& w, int64_t out,
                          const std::vector<float>* bias = nullptr) {
    std::vector<float> y(static_cast<size_t>(n * out));
    for (int64_t r = 0; r < n; ++r) {
        const float* xr = x.data() + r * in;
        for (int64_t o = 0; o < out; ++o) {
            const float* wo = w.data() + o * in;
            double acc = 0;
            for (int64_t i = 0; i < in; ++i) acc += double(xr[i]) * wo[i];
            y[r * out + o] = static_cast<float>(acc + (bias ? (*bias)[o] : 0.0f));
        }
    }
    return y;
}

// LayerNorm over the last dimension (biased variance, as torch).
std::vector<float> layer_norm(const std::vector<float>& x, int64_t n, int64_t d, const std::vector<float>& w,
                              const std::vector<float>& b, double eps) {
    std::vector<float> y(x.size());
    for (int64_t r = 0; r < n; ++r) {
        const float* xr = x.data() + r * d;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < d; ++i) mean += xr[i];
        mean /= d;
        for (int64_t i = 0; i < d; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        var /= d;
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < d; ++i) y[r * d + i] = static_cast<float>((xr[i] - mean) * inv * w[i] + b[i]);
    }
    return y;
}

void gelu_erf(std::vector<float>& x) {
    for (float& v : x) v = static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
}

// Rotates interleaved pairs (2j, 2j+1) of every head of q/k rows [tokens, H*hd].
void apply_rope(std::vector<float>& x, int64_t tokens, int64_t heads, int64_t hd, const std::vector<float>& cos_t,
                const std::vector<float>& sin_t) {
    const int64_t half = hd / 2;
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t h = 0; h < heads; ++h) {
            float* v = x.data() + (t * heads + h) * hd;
            for (int64_t j = 0; j < half; ++j) {
                const float c = cos_t[t * half + j], s = sin_t[t * half + j];
                const float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = a * c - b * s;
                v[2 * j + 1] = a * s + b * c;
            }
        }
}

// Bidirectional multi-head attention over all tokens of one tile: q, k, v [T, H*hd] -> [T, H*hd].
std::vector<float> attention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                             int64_t T, int64_t H, int64_t hd) {
    std::vector<float> out(q.size());
    std::vector<double> score(static_cast<size_t>(T));
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < T; ++i) {
            const float* qi = q.data() + (i * H + h) * hd;
            double mx = -INFINITY;
            for (int64_t j = 0; j < T; ++j) {
                const float* kj = k.data() + (j * H + h) * hd;
                double s = 0;
                for (int64_t e = 0; e < hd; ++e) s += double(qi[e]) * kj[e];
                score[j] = s * scale;
                mx = std::max(mx, score[j]);
            }
            double total = 0;
            for (int64_t j = 0; j < T; ++j) total += (score[j] = std::exp(score[j] - mx));
            float* o = out.data() + (i * H + h) * hd;
            for (int64_t e = 0; e < hd; ++e) {
                double acc = 0;
                for (int64_t j = 0; j < T; ++j) acc += score[j] * v[(j * H + h) * hd + e];
                o[e] = static_cast<float>(acc / total);
            }
        }
    return out;
}

}  // namespace

std::vector<float> encode_tiles_reference(const VisionConfig& c, const VisionWeights& w, std::span<const float> pixels,
                                          int64_t tiles) {
    const int64_t S = c.image_size, p = c.patch_size, C = c.num_channels, D = c.hidden_size, g = c.grid();
    const int64_t N = c.patches(), T = N + 1, H = c.num_heads, hd = c.head_dim(), P = c.projector_output_dim;
    if (tiles < 0 || pixels.size() != static_cast<size_t>(tiles * C * S * S))
        throw Error(cat("vision encoder: ", pixels.size(), " pixel values are not ", tiles, " tiles of ", C, "x", S, "x", S));
    std::vector<float> cos_t, sin_t;
    rope_2d_tables(c, cos_t, sin_t);
    std::vector<float> out;
    out.reserve(static_cast<size_t>(tiles * c.tokens_per_tile() * P));
    for (int64_t tile = 0; tile < tiles; ++tile) {
        const float* px = pixels.data() + tile * C * S * S;
        // Unfold: patch n = py*g + px, vector index c*p*p + ky*p + kx.
        std::vector<float> patches(static_cast<size_t>(N * c.patch_dim()));
        for (int64_t n = 0; n < N; ++n)
            for (int64_t ch = 0; ch < C; ++ch)
                for (int64_t ky = 0; ky < p; ++ky)
                    for (int64_t kx = 0; kx < p; ++kx)
                        patches[n * c.patch_dim() + ch * p * p + ky * p + kx] =
                            px[ch * S * S + ((n / g) * p + ky) * S + (n % g) * p + kx];
        std::vector<float> h = linear(patches, N, c.patch_dim(), w.patch_embed, D);  // [N, D]
        h.insert(h.end(), w.class_embedding.begin(), w.class_embedding.end());      // [T, D], class token last
        for (size_t i = 0; i < h.size(); ++i) h[i] += w.positions[i];
        h = layer_norm(h, T, D, w.ln_pre_w, w.ln_pre_b, c.layer_norm_eps);
        for (const VisionLayerWeights& L : w.layers) {
            const std::vector<float> x = layer_norm(h, T, D, L.ln1_w, L.ln1_b, c.layer_norm_eps);
            std::vector<float> q = linear(x, T, D, L.wq, D, &L.bq);
            std::vector<float> k = linear(x, T, D, L.wk, D, &L.bk);
            const std::vector<float> v = linear(x, T, D, L.wv, D, &L.bv);
            apply_rope(q, T, H, hd, cos_t, sin_t);
            apply_rope(k, T, H, hd, cos_t, sin_t);
            const std::vector<float> attn = linear(attention(q, k, v, T, H, hd), T, D, L.wo, D, &L.bo);
            for (size_t i = 0; i < h.size(); ++i) h[i] += attn[i];
            std::vector<float> m = linear(layer_norm(h, T, D, L.ln2_w, L.ln2_b, c.layer_norm_eps), T, D, L.fc1_w,
                                          c.intermediate_size, &L.fc1_b);
            gelu_erf(m);
            const std::vector<float> mlp = linear(m, T, c.intermediate_size, L.fc2_w, D, &L.fc2_b);
            for (size_t i = 0; i < h.size(); ++i) h[i] += mlp[i];
        }
        h = layer_norm(h, T, D, w.ln_post_w, w.ln_post_b, c.layer_norm_eps);
        // Pixel shuffle (drop the class token): token i*(g/2)+j = [in(2i,2j), in(2i,2j+1), in(2i+1,2j), in(2i+1,2j+1)].
        const int64_t half = g / 2, R = c.tokens_per_tile();
        std::vector<float> shuffled(static_cast<size_t>(R * 4 * D));
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < half; ++j)
                for (int64_t q4 = 0; q4 < 4; ++q4) {
                    const int64_t src = (2 * i + q4 / 2) * g + 2 * j + q4 % 2;
                    std::copy_n(h.data() + src * D, D, shuffled.data() + ((i * half + j) * 4 + q4) * D);
                }
        std::vector<float> a = linear(shuffled, R, 4 * D, w.adapter_fc1, P);
        gelu_erf(a);
        a = linear(a, R, P, w.adapter_fc2, P);
        gelu_erf(a);
        out.insert(out.end(), a.begin(), a.end());
    }
    return out;
}

std::vector<float> project_features_reference(const VisionConfig& c, const VisionWeights& w, std::span<const float> features) {
    const int64_t P = c.vision_output_dim;
    if (features.size() % static_cast<size_t>(P) != 0)
        throw Error(cat("vision projector: ", features.size(), " values are not rows of ", P));
    return linear(features, static_cast<int64_t>(features.size()) / P, P, w.projector, c.text_hidden_size);
}

}  // namespace scout::vision
