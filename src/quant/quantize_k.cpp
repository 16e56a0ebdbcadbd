// K-quant quantizers (Q4_K, Q5_K, Q6_K): scout's own scale search.
//
// Each sub-block's scale (and, for Q4_K/Q5_K, min) is chosen by trying a fan of
// candidate step sizes around range/nmax (the grid of llama.cpp's make_qkx2_quants:
// inverse steps (nmax - 1 + 0.1 k) / range, k = 0..20, plus the plain min/max fit),
// rounding, and refitting the scale (and min) by weighted least squares; the
// candidate with the lowest weighted squared error wins. The per-sub-block scales
// are then quantized to 6 bits (Q4_K/Q5_K) or int8 (Q6_K) against one fp16
// super-block scale (for Q4_K/Q5_K a few super-scales are tried, each scored by
// the super-block's error as it will decode: 1-2% lower RMS error than the plain
// max/63, which is what ggml's reference quantizer uses), and the final quants are
// recomputed with the scales as stored, so that what a reader decodes is what the
// search optimised. Output is deterministic.
//
// Speed: sub-blocks have a compile-time length (32 or 16), every per-element loop
// is branch-free float arithmetic the compiler vectorizes, and each candidate's
// error comes from the same weighted sums as its least-squares fit (one pass per
// candidate instead of three).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/dtype.hpp"
#include "quant/quant_k.hpp"

namespace scout::quant::detail {
namespace {

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

// Fits x[i] ~= scale * l[i] - neg_min with integer l in [0, nmax], scale >= 0, neg_min >= 0
// (the min is never above 0, as the format stores it subtracted).
// w: per-element importance weights (> 0). The quants themselves are recomputed by the
// caller once the scales are stored, so only the scale and min are returned.
template <int N>
void fit_affine(const float* x, const float* w, int nmax, float& scale, float& neg_min) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < N; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    lo = std::min(lo, 0.0f);
    if (!(hi > lo)) {  // constant (or non-finite) sub-block
        scale = 0.0f;
        neg_min = std::isfinite(lo) ? -lo : 0.0f;
        return;
    }
    // Candidate-independent weighted sums (of x shifted by lo: y = x - lo >= 0, which keeps
    // the sums well conditioned; the fit y ~= s * l + c maps back to m = c + lo).
    float y[N];
    float sw = 0, sy = 0, sy2 = 0;
    for (int i = 0; i < N; ++i) {
        y[i] = x[i] - lo;
        sw += w[i];
        sy += w[i] * y[i];
        sy2 += w[i] * y[i] * y[i];
    }
    const float nmaxf = static_cast<float>(nmax);
    const float range = hi - lo;
    // Candidate k: k = 0 the plain min/max grid (inverse step nmax / range, min lo, no refit);
    // k = 1..21 inverse steps (nmax - 1 + 0.1 (k - 1)) / range, refit; 22, 23 pad the vectors.
    constexpr int kCand = 24, kUsed = 22;
    float isc[kCand];
    for (int k = 0; k < kCand; ++k)
        isc[k] = k == 0 ? nmaxf / range : (nmaxf - 1.0f + 0.1f * static_cast<float>(std::min(k, kUsed - 1) - 1)) / range;
    // Weighted sums per candidate, accumulated element by element (vectorized across candidates).
    float sl[kCand] = {}, sl2[kCand] = {}, syl[kCand] = {};
    for (int i = 0; i < N; ++i) {
        const float yi = y[i], wi = w[i], wyi = w[i] * y[i];
        for (int k = 0; k < kCand; ++k) {
            const float l = std::min(nmaxf, std::nearbyint(isc[k] * yi));
            sl[k] += wi * l;
            sl2[k] += wi * l * l;
            syl[k] += wyi * l;
        }
    }
    // Weighted least squares y ~= s * l + c per candidate, with m = c + lo <= 0 (the format cannot
    // add a positive offset: then m = 0 and the scale alone is refitted), and its weighted squared
    // error sum w (s l + c - y)^2 from the same sums. Invalid fits (det <= 0, s <= 0) get +inf.
    double err[kCand], fs[kCand], fc[kCand];
    const double dsw = sw, dsy = sy, dsy2 = sy2, dlo = lo;
    auto error = [&](double s, double c, double l1, double l2, double yl) {
        return s * s * l2 + c * c * dsw + dsy2 + 2 * s * c * l1 - 2 * s * yl - 2 * c * dsy;
    };
    for (int k = 0; k < kCand; ++k) {
        const double l1 = sl[k], l2 = sl2[k], yl = syl[k];
        const double det = dsw * l2 - l1 * l1;
        const double s_free = (dsw * yl - dsy * l1) / det, c_free = (l2 * dsy - l1 * yl) / det;
        const bool zero_min = c_free + dlo > 0;
        const double s = zero_min ? (yl + dlo * l1) / l2 : s_free;
        const double c = zero_min ? -dlo : c_free;
        const bool ok = (det > 0) & (s > 0);
        err[k] = ok ? error(s, c, l1, l2, yl) : INFINITY;
        fs[k] = s;
        fc[k] = c;
    }
    // Candidate 0 keeps the min/max grid's own scale and min (no refit).
    fs[0] = static_cast<double>(range) / nmaxf;
    fc[0] = 0.0;
    err[0] = error(fs[0], fc[0], sl[0], sl2[0], syl[0]);
    int best = 0;
    for (int k = 1; k < kUsed; ++k)
        if (err[k] < err[best]) best = k;
    scale = static_cast<float>(fs[best]);
    neg_min = -(static_cast<float>(fc[best]) + lo);
}

// Shared Q4_K/Q5_K super-block step: 8 sub-blocks of 32, 6-bit scales and mins.
// Returns the final quants L[256] (0..nmax) for the stored d/dmin/scales.
// Weighted squared error of super-block x decoded with super-scales d, dmin and 6-bit ls, lm
// (quants rounded to nearest for those values, as the final step does).
float affine_block_error(const float* x, const float* wall, int nmax, float d, float dmin, const uint8_t ls[8],
                         const uint8_t lm[8]) {
    const float nmaxf = static_cast<float>(nmax);
    float err = 0;
    for (int s = 0; s < 8; ++s) {
        const float dq = d * ls[s], dm = dmin * lm[s];
        const float idq = dq > 0 ? 1.0f / dq : 0.0f;
        float e[16] = {};
        for (int i0 = 0; i0 < 32; i0 += 16)
            for (int k = 0; k < 16; ++k) {
                const float xi = x[32 * s + i0 + k];
                const float l = std::clamp(std::nearbyint((xi + dm) * idq), 0.0f, nmaxf);
                const float diff = dq * l - dm - xi;
                e[k] += wall[32 * s + i0 + k] * diff * diff;
            }
        for (int k = 0; k < 16; ++k) err += e[k];
    }
    return err;
}

// Shared Q4_K/Q5_K super-block step: 8 sub-blocks of 32, 6-bit scales and mins.
// Returns the final quants L[256] (0..nmax) for the stored d/dmin/scales.
void quantize_k_affine(const float* x, int nmax, uint16_t& d_out, uint16_t& dmin_out,
                       uint8_t scales_out[kKScaleBytes], uint8_t L[kQK_K]) {
    float sum_x2 = 0;
    for (int i = 0; i < kQK_K; ++i) sum_x2 += x[i] * x[i];
    const float av_x = std::sqrt(sum_x2 / kQK_K);
    float wall[kQK_K], sc[8], mn[8];
    // Importance weights: larger magnitudes matter more (as ggml's K-quants weigh).
    for (int i = 0; i < kQK_K; ++i) wall[i] = av_x + std::fabs(x[i]);
    for (int s = 0; s < 8; ++s) fit_affine<32>(x + 32 * s, wall + 32 * s, nmax, sc[s], mn[s]);
    const float max_sc = *std::max_element(sc, sc + 8);
    const float max_mn = *std::max_element(mn, mn + 8);
    // The 6-bit scales and mins: the largest maps to 63 - 0.25 k (k = 0 is the plain choice); each
    // candidate super-scale is scored by the super-block's weighted error as it will decode
    // (first d with the plain dmin, then dmin with the chosen d).
    uint8_t ls[8], lm[8], best_ls[8], best_lm[8];
    auto set = [](const float* v, float mx, float top, uint8_t* out) {
        const float inv = mx > 0 ? top / mx : 0.0f;
        for (int s = 0; s < 8; ++s) out[s] = static_cast<uint8_t>(std::clamp(nearest(inv * v[s]), 0, 63));
    };
    auto stored = [](float v) { return f16_to_f32(f32_to_f16(v)); };
    set(mn, max_mn, 63.0f, best_lm);
    float best_dmin = stored(max_mn / 63.0f), best_d = 0, best_err = INFINITY;
    for (int k = 0; k < 8; ++k) {
        const float top = 63.0f - 0.25f * static_cast<float>(k);
        set(sc, max_sc, top, ls);
        const float d = stored(max_sc / top);
        const float e = affine_block_error(x, wall, nmax, d, best_dmin, ls, best_lm);
        if (e < best_err) {
            best_err = e;
            best_d = d;
            std::memcpy(best_ls, ls, 8);
        }
    }
    for (int k = 1; k < 4; ++k) {
        const float top = 63.0f - 0.25f * static_cast<float>(k);
        set(mn, max_mn, top, lm);
        const float dmin = stored(max_mn / top);
        const float e = affine_block_error(x, wall, nmax, best_d, dmin, best_ls, lm);
        if (e < best_err) {
            best_err = e;
            best_dmin = dmin;
            std::memcpy(best_lm, lm, 8);
        }
    }
    pack_scales_mins_k4(best_ls, best_lm, scales_out);
    d_out = f32_to_f16(best_d);
    dmin_out = f32_to_f16(best_dmin);
    const float d = f16_to_f32(d_out), dmin = f16_to_f32(dmin_out);
    const float nmaxf = static_cast<float>(nmax);
    for (int s = 0; s < 8; ++s) {
        const float dq = d * best_ls[s];
        const float dm = dmin * best_lm[s];
        const float idq = dq > 0 ? 1.0f / dq : 0.0f;  // 0: every quant 0 (the sub-block decodes to -dm)
        for (int i = 0; i < 32; ++i) {
            const float v = std::clamp(std::nearbyint((x[32 * s + i] + dm) * idq), 0.0f, nmaxf);
            L[32 * s + i] = static_cast<uint8_t>(v);
        }
    }
}

// Symmetric fit for Q6_K: x ~= scale * l with integer l in [-32, 31]; weights x^2.
// Returns the scale (0 for an all-zero sub-block); the caller recomputes the quants.
template <int N>
float fit_symmetric(const float* x) {
    float amax = 0, max = 0;
    for (int i = 0; i < N; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (!(amax > 1e-30f) || !std::isfinite(amax)) return 0.0f;
    // Candidates: the largest element maps to -(32 + 0.1 k), k = -9..9 (the wider side of
    // [-32, 31]); 19 used, padded to 24 for the vectors. Weights x^2, accumulated element by
    // element (vectorized across candidates).
    constexpr int kCand = 24, kUsed = 19;
    float isc[kCand], slx[kCand] = {}, sl2[kCand] = {};
    for (int k = 0; k < kCand; ++k) isc[k] = -(32.0f + 0.1f * static_cast<float>(std::min(k, kUsed - 1) - 9)) / max;
    for (int i = 0; i < N; ++i) {
        const float xi = x[i], wi = x[i] * x[i], wxi = wi * x[i];
        for (int k = 0; k < kCand; ++k) {
            const float l = std::clamp(std::nearbyint(isc[k] * xi), -32.0f, 31.0f);
            slx[k] += wxi * l;
            sl2[k] += wi * l * l;
        }
    }
    // Weighted error with the LS scale slx/sl2 is sum(w x^2) - slx^2/sl2: maximise slx^2/sl2.
    float best_scale = 0;
    double best = -1;
    for (int k = 0; k < kUsed; ++k) {
        if (!(sl2[k] > 0)) continue;
        const double gain = static_cast<double>(slx[k]) * slx[k] / sl2[k];
        if (gain > best) {
            best = gain;
            best_scale = slx[k] / sl2[k];
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
    uint8_t L[kQK_K];
    float sc[16];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max_abs = 0, max_sc = 0;
        for (int s = 0; s < 16; ++s) {
            sc[s] = fit_symmetric<16>(x + 16 * s);
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
            const float idq = dq != 0 ? 1.0f / dq : 0.0f;
            for (int k = 0; k < 16; ++k) {
                const float v = std::clamp(std::nearbyint(x[16 * s + k] * idq), -32.0f, 31.0f);
                L[16 * s + k] = static_cast<uint8_t>(static_cast<int>(v) + 32);
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
