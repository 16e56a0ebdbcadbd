// K-quant quantizers (Q4_K, Q5_K, Q6_K): scout's own scale search.
//
// Each sub-block's scale (and, for Q4_K/Q5_K, min) is chosen by trying a small
// fan of candidate step sizes around range/nmax, rounding, and refitting the
// scale (and min) by weighted least squares; the candidate with the lowest
// weighted squared error wins. The per-sub-block scales are then quantized to
// 6 bits (Q4_K/Q5_K) or int8 (Q6_K) against one fp16 super-block scale, and the
// final quants are recomputed with the scales as stored, so that what a reader
// decodes is what the search optimised. Output is deterministic.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/dtype.hpp"
#include "quant/quant_k.hpp"

namespace scout::quant::detail {
namespace {

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

// Fits x[i] ~= scale * L[i] - neg_min with L in [0, nmax], scale >= 0, neg_min >= 0
// (the min is never above 0, as the format stores it subtracted).
// w: per-element importance weights.
void fit_affine(const float* x, const float* w, int n, int nmax, uint8_t* L, float& scale,
                float& neg_min) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    lo = std::min(lo, 0.0f);
    if (!(hi > lo)) {  // constant (or non-finite) sub-block
        std::fill(L, L + n, uint8_t{0});
        scale = 0.0f;
        neg_min = std::isfinite(lo) ? -lo : 0.0f;
        return;
    }
    uint8_t cand[kQK_K];
    float best_err = INFINITY;
    scale = (hi - lo) / static_cast<float>(nmax);
    neg_min = -lo;
    for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(std::clamp(nearest((x[i] - lo) / scale), 0, nmax));
    // Candidate inverse steps (nmax - 1 .. nmax + 1) / range in 21 steps.
    for (int step = -1; step <= 20; ++step) {
        float s = scale, m = lo;
        if (step >= 0) {
            const float iscale = (static_cast<float>(nmax) - 1.0f + 0.1f * static_cast<float>(step)) / (hi - lo);
            for (int i = 0; i < n; ++i)
                cand[i] = static_cast<uint8_t>(std::clamp(nearest(iscale * (x[i] - lo)), 0, nmax));
            // Weighted least squares for x ~= s * l + m.
            double sw = 0, sl = 0, sl2 = 0, sx = 0, sxl = 0;
            for (int i = 0; i < n; ++i) {
                const double wi = w[i], li = cand[i];
                sw += wi; sl += wi * li; sl2 += wi * li * li; sx += wi * x[i]; sxl += wi * li * x[i];
            }
            const double det = sw * sl2 - sl * sl;
            if (det <= 0) continue;
            double fs = (sw * sxl - sx * sl) / det;
            double fm = (sl2 * sx - sl * sxl) / det;
            if (fm > 0) {  // the format cannot add a positive offset: refit the scale alone
                fm = 0;
                fs = sl2 > 0 ? sxl / sl2 : 0;
            }
            if (fs <= 0) continue;
            s = static_cast<float>(fs);
            m = static_cast<float>(fm);
        } else {
            std::memcpy(cand, L, static_cast<std::size_t>(n));
        }
        double err = 0;
        for (int i = 0; i < n; ++i) {
            const double e = s * cand[i] + m - x[i];
            err += w[i] * e * e;
        }
        if (err < best_err) {
            best_err = static_cast<float>(err);
            scale = s;
            neg_min = -m;
            std::memcpy(L, cand, static_cast<std::size_t>(n));
        }
    }
}

// Shared Q4_K/Q5_K super-block step: 8 sub-blocks of 32, 6-bit scales and mins.
// Returns the final quants L[256] (0..nmax) for the stored d/dmin/scales.
void quantize_k_affine(const float* x, int nmax, uint16_t& d_out, uint16_t& dmin_out,
                       uint8_t scales_out[kKScaleBytes], uint8_t L[kQK_K]) {
    float sum_x2 = 0;
    for (int i = 0; i < kQK_K; ++i) sum_x2 += x[i] * x[i];
    const float av_x = std::sqrt(sum_x2 / kQK_K);
    float w[32], sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
        // Importance weights: larger magnitudes matter more (as ggml's K-quants weigh).
        for (int i = 0; i < 32; ++i) w[i] = av_x + std::fabs(x[32 * s + i]);
        fit_affine(x + 32 * s, w, 32, nmax, L + 32 * s, sc[s], mn[s]);
    }
    const float max_sc = *std::max_element(sc, sc + 8);
    const float max_mn = *std::max_element(mn, mn + 8);
    const float inv_sc = max_sc > 0 ? 63.0f / max_sc : 0.0f;
    const float inv_mn = max_mn > 0 ? 63.0f / max_mn : 0.0f;
    uint8_t ls[8], lm[8];
    for (int s = 0; s < 8; ++s) {
        ls[s] = static_cast<uint8_t>(std::clamp(nearest(inv_sc * sc[s]), 0, 63));
        lm[s] = static_cast<uint8_t>(std::clamp(nearest(inv_mn * mn[s]), 0, 63));
    }
    pack_scales_mins_k4(ls, lm, scales_out);
    d_out = f32_to_f16(max_sc / 63.0f);
    dmin_out = f32_to_f16(max_mn / 63.0f);
    const float d = f16_to_f32(d_out), dmin = f16_to_f32(dmin_out);
    for (int s = 0; s < 8; ++s) {
        const float dq = d * ls[s];
        const float dm = dmin * lm[s];
        for (int i = 0; i < 32; ++i) {
            const int v = dq > 0 ? nearest((x[32 * s + i] + dm) / dq) : 0;
            L[32 * s + i] = static_cast<uint8_t>(std::clamp(v, 0, nmax));
        }
    }
}

// Symmetric fit for Q6_K: x ~= scale * l with l in [-32, 31]; weights x^2.
float fit_symmetric(const float* x, int n, int8_t* L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (!(amax > 1e-30f) || !std::isfinite(amax)) {
        std::fill(L, L + n, int8_t{0});
        return 0.0f;
    }
    float best_scale = 0;
    double best = -1;
    int8_t cand[16];
    // The largest element maps to -32 (the wider side of [-32, 31]) or nearby steps.
    for (int step = -9; step <= 9; ++step) {
        const float iscale = -(32.0f + 0.1f * static_cast<float>(step)) / max;
        double slx = 0, sl2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest(iscale * x[i]), -32, 31);
            cand[i] = static_cast<int8_t>(l);
            const double w = static_cast<double>(x[i]) * x[i];
            slx += w * x[i] * l;
            sl2 += w * l * l;
        }
        // Weighted error with the LS scale slx/sl2 is sum(w x^2) - slx^2/sl2: maximise slx^2/sl2.
        if (sl2 > 0 && slx * slx / sl2 > best) {
            best = slx * slx / sl2;
            best_scale = static_cast<float>(slx / sl2);
            std::memcpy(L, cand, static_cast<std::size_t>(n));
        }
    }
    return best_scale;
}

}  // namespace

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_k_affine(x, 15, y[i].d, y[i].dmin, y[i].scales, L);
        for (int g = 0; g < 4; ++g)
            for (int l = 0; l < 32; ++l)
                y[i].qs[32 * g + l] = static_cast<uint8_t>(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
    }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_k_affine(x, 31, y[i].d, y[i].dmin, y[i].scales, L);
        std::memset(y[i].qh, 0, sizeof(y[i].qh));
        for (int g = 0; g < 4; ++g) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t a = L[64 * g + l], b = L[64 * g + 32 + l];
                y[i].qs[32 * g + l] = static_cast<uint8_t>((a & 0x0F) | ((b & 0x0F) << 4));
                y[i].qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * g)) | ((b >> 4) << (2 * g + 1)));
            }
        }
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
    int8_t Ls[kQK_K];
    uint8_t L[kQK_K];
    float sc[16];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max_abs = 0, max_sc = 0;
        for (int s = 0; s < 16; ++s) {
            sc[s] = fit_symmetric(x + 16 * s, 16, Ls + 16 * s);
            if (std::fabs(sc[s]) > max_abs) {
                max_abs = std::fabs(sc[s]);
                max_sc = sc[s];
            }
        }
        if (max_abs == 0) {
            std::memset(&y[i], 0, sizeof(y[i]));
            continue;  // all quants 0 with d = 0 decode to 0 whatever q is
        }
        // The largest |scale| maps to -128 so the full int8 range is used.
        const float iscale = -128.0f / max_sc;
        y[i].d = f32_to_f16(1.0f / iscale);
        for (int s = 0; s < 16; ++s) y[i].scales[s] = static_cast<int8_t>(std::clamp(nearest(iscale * sc[s]), -128, 127));
        const float d = f16_to_f32(y[i].d);
        for (int s = 0; s < 16; ++s) {
            const float dq = d * y[i].scales[s];
            for (int k = 0; k < 16; ++k) {
                const int v = dq != 0 ? std::clamp(nearest(x[16 * s + k] / dq), -32, 31) : 0;
                L[16 * s + k] = static_cast<uint8_t>(v + 32);
            }
        }
        for (int h = 0; h < 2; ++h) {
            const uint8_t* q = L + 128 * h;
            for (int l = 0; l < 32; ++l) {
                y[i].ql[64 * h + l] = static_cast<uint8_t>((q[l] & 0x0F) | ((q[l + 64] & 0x0F) << 4));
                y[i].ql[64 * h + l + 32] = static_cast<uint8_t>((q[l + 32] & 0x0F) | ((q[l + 96] & 0x0F) << 4));
                y[i].qh[32 * h + l] = static_cast<uint8_t>((q[l] >> 4) | ((q[l + 32] >> 4) << 2) |
                                                           ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
            }
        }
    }
}

}  // namespace scout::quant::detail
