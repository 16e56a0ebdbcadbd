// The x86 int8 kernels, written once and compiled twice (not a header: included only by
// vec_dot_avx2.cpp and vec_dot_avx512.cpp, each with its own target flags):
//   SCOUT_VNNI == 0: AVX2      u8 x s8 -> maddubs (s16 pairs) -> madd with 1 / with the scales;
//                              one float step per (row, token, block) on 8 lanes.
//   SCOUT_VNNI == 1: AVX-512   vpdpbusd (u8 x s8 -> s32) and vpdpwssd (s16 x s16 -> s32); the
//                              K-quants on 512-bit registers. Every block's integer sums are
//                              reduced exactly and then scaled in the order of the row-panel
//                              kernels (gemm_panel.hpp), which take over from a few tokens up.
// Everything here has internal linkage (anonymous namespace, intrinsics only, no std:: templates)
// so no function compiled for one ISA can be picked by the linker for code built for another.
//
// Saturation: maddubs sums two u8 x s8 products in int16. Weights are u8 <= 63 (K-quants, Q4_0)
// or |w| <= 128 (Q8_0, via sign tricks) and activations |a| <= 127 (never -128, see
// q8_activations.hpp), so a pair is at most 2 * 128 * 127 = 32512 < 32767: every int32 lane
// below is the exact integer sum.
//
// Per-token determinism: in every kernel a token's accumulators (isum[t], acc[t]) receive the
// same operations in the same order for any NT, so results do not depend on the tile width.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "backend/cpu/kernels/q8_activations.hpp"
#include "backend/cpu/kernels/vec_dot.hpp"
#include "base/simd_reduce.hpp"
#include "quant/blocks.hpp"

#ifndef SCOUT_VNNI
#error "define SCOUT_VNNI before including vec_dot_x86.inl"
#endif

namespace scout::cpu {
// The block layouts (src/quant/blocks.hpp) these kernels read.
using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
namespace {

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

using simd_reduce::hsum256;

// Helpers of the AVX2 kernels below (the AVX-512 level calls vpdpbusd / vpdpwssd directly).
// acc + Σ of each 4 adjacent u8 x s8 products (8 int32 lanes).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

// acc + Σ of each 2 adjacent s16 x s16 products.
inline __m256i dot_s16(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }

// u8 quants (32 x 0..63) · s8 activations, times one int16 scale per 16-element half
// (sc: int16 lanes 0-7 scale the first 16 elements, lanes 8-15 the last 16).
inline __m256i dot_scaled(__m256i acc, __m256i q, __m256i a, __m256i sc) {
    return dot_s16(acc, _mm256_maddubs_epi16(q, a), sc);
}

inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Requests the weight bytes kPrefetchAheadBytes (vec_dot.hpp) beyond block p (the rest of this
// row, then the next row, which is where a product goes next): decode reads each weight once,
// and measured on the 1b model the hardware prefetcher alone left the kernel waiting on the
// first load of each block.
// The distance: on a VM whose two cores read 72 GB/s, 8 KB gave 3-4 % more Q4_K_M generation
// than 2 KB (alternating runs; one-thread Q6_K lm_head 29-31 -> 39 GB/s) and the same for Q8_0;
// where memory is the limit (a 24-32 GB/s VM) 1-8 KB measured alike.
template <typename Block>
inline void prefetch_ahead(const Block* p) {
    const char* c = reinterpret_cast<const char*>(p) + kPrefetchAheadBytes;
    for (std::size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(c + off, _MM_HINT_T0);
}

template <class ABlock>
const ABlock* act_row(const void* a, std::size_t a_stride, int t) {
    return reinterpret_cast<const ABlock*>(static_cast<const uint8_t*>(a) + static_cast<std::size_t>(t) * a_stride);
}

// 6-bit scales and mins of a Q4_K/Q5_K super-block (blocks.hpp: unpack_scale_min_k4), as eight
// bytes each, in 32-bit word arithmetic (a byte loop was a long serial chain in the kernels):
//   sc[s] = q[s] & 63,  m[s] = q[s + 4] & 63                                    (s < 4)
//   sc[s + 4] = (q[s + 8] & 15) | (q[s] >> 6) << 4,  m[s + 4] = (q[s + 8] >> 4) | (q[s + 4] >> 6) << 4
inline void unpack_k4_words(const uint8_t* q, uint64_t& sc, uint64_t& m) {
    uint32_t w0, w1, w2;
    __builtin_memcpy(&w0, q, 4);
    __builtin_memcpy(&w1, q + 4, 4);
    __builtin_memcpy(&w2, q + 8, 4);
    constexpr uint32_t k6 = 0x3F3F3F3Fu, k4 = 0x0F0F0F0Fu, k2 = 0x03030303u;
    const uint32_t sc_hi = (w2 & k4) | (((w0 >> 6) & k2) << 4);
    const uint32_t m_hi = ((w2 >> 4) & k4) | (((w1 >> 6) & k2) << 4);
    sc = (w0 & k6) | (uint64_t{sc_hi} << 32);
    m = (w1 & k6) | (uint64_t{m_hi} << 32);
}
inline void unpack_k4(const uint8_t* q, uint8_t sc[8], uint8_t m[8]) {
    uint64_t s, mm;
    unpack_k4_words(q, s, mm);
    __builtin_memcpy(sc, &s, 8);
    __builtin_memcpy(m, &mm, 8);
}

#if SCOUT_VNNI
// AVX-512 level: the operation order of the row-panel kernels (gemm_panel.hpp), which this level
// uses from a few tokens up: per block, the exact integer sum S, then acc = fma(S, d_w * d_a, acc).
inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}
// The lane sums of u and of v at once (exact).
inline void hsum2_epi32(__m256i u, __m256i v, int32_t& su, int32_t& sv) {
    const __m256i h = _mm256_hadd_epi32(u, v);  // u01 u23 v01 v23 | u45 u67 v45 v67
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_hadd_epi32(s, s);  // Σu Σv Σu Σv
    su = _mm_cvtsi128_si32(s);
    sv = _mm_extract_epi32(s, 1);
}
#endif

#if SCOUT_VNNI
// AVX-512 level, Q8_0 and Q4_0 weights (32-element blocks, one fp16 scale) as unsigned bytes for
// vpdpbusd: Q8_0 quants biased by 128 (q + 128), Q4_0 its stored nibbles (value + 8). The
// offset comes back out exactly through the activation block's sum, Σ (q + c) a = Σ q a + c Σ a,
// as the panel kernels do it (gemm_panel_avx512.cpp).
inline __m256i weight_u8(const BlockQ8_0& w) { return _mm256_xor_si256(loadu(w.qs), _mm256_set1_epi8(-128)); }
inline __m256i weight_u8(const BlockQ4_0& w) {
    // elements 0-15: low nibbles, 16-31: high nibbles
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
}
template <class WBlock>
constexpr int kOffsetShift = std::is_same_v<WBlock, BlockQ8_0> ? 7 : 3;  // c = 128 or 8

template <class WBlock, int NT>
void vec_dot_32_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const WBlock*>(vw);
    const BlockQ8A* a[NT];
    // Two float chains per token, even and odd blocks (one chain would wait on the FMA latency
    // at every block of a decode step), kept in lanes 0 and 1 of acc[t]: y = lane 0 + lane 1.
    __m128 acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8A>(va, as, t);
        acc[t] = _mm_setzero_ps();
    }
    int64_t b = 0;
    // Four blocks at a time: their integer sums are reduced together (exact), then scaled in
    // block order: blocks b, b + 1 into lanes 0, 1, then b + 2, b + 3.
    for (; b + 4 <= nb; b += 4) {
        prefetch_ahead(w + b);
        prefetch_ahead(w + b + 2);  // four blocks span 136 (Q8_0) or 72 (Q4_0) bytes: two or three lines
        __m256i wu[4];
        for (int i = 0; i < 4; ++i) wu[i] = weight_u8(w[b + i]);
        __m128i dh = _mm_cvtsi32_si128(w[b].d);
        dh = _mm_insert_epi16(dh, w[b + 1].d, 1);
        dh = _mm_insert_epi16(dh, w[b + 2].d, 2);
        dh = _mm_insert_epi16(dh, w[b + 3].d, 3);
        const __m128 dwv = _mm_cvtph_ps(dh);
        for (int t = 0; t < NT; ++t) {
            __m256i p[4];
            for (int i = 0; i < 4; ++i) p[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu[i], loadu(a[t][b + i].qs));
            const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
            // (d, sum) of each activation block are adjacent: one 8-byte load per block
            const BlockQ8A* ab = a[t] + b;
            const __m128 ds01 = _mm_castpd_ps(_mm_loadh_pd(_mm_load_sd(reinterpret_cast<const double*>(&ab[0].d)),
                                                           reinterpret_cast<const double*>(&ab[1].d)));
            const __m128 ds23 = _mm_castpd_ps(_mm_loadh_pd(_mm_load_sd(reinterpret_cast<const double*>(&ab[2].d)),
                                                           reinterpret_cast<const double*>(&ab[3].d)));
            const __m128 da = _mm_shuffle_ps(ds01, ds23, _MM_SHUFFLE(2, 0, 2, 0));
            const __m128i sums = _mm_castps_si128(_mm_shuffle_ps(ds01, ds23, _MM_SHUFFLE(3, 1, 3, 1)));
            const __m128 sf = _mm_cvtepi32_ps(_mm_sub_epi32(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)),
                                                            _mm_slli_epi32(sums, kOffsetShift<WBlock>)));
            const __m128 sc = _mm_mul_ps(dwv, da);
            acc[t] = _mm_fmadd_ps(sf, sc, acc[t]);                                        // lanes 0, 1: blocks b, b + 1
            acc[t] = _mm_fmadd_ps(_mm_movehl_ps(sf, sf), _mm_movehl_ps(sc, sc), acc[t]);  // b + 2, b + 3
        }
    }
    for (; b < nb; ++b) {
        const __m256i wu = weight_u8(w[b]);
        const float dw = f16(w[b].d);
        const __mmask8 lane = static_cast<__mmask8>(1u << (b % 2));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8A& ab = a[t][b];
            const int32_t s = hsum_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, loadu(ab.qs))) - (ab.sum << kOffsetShift<WBlock>);
            acc[t] = _mm_mask3_fmadd_ps(_mm_set1_ps(static_cast<float>(s)), _mm_set1_ps(dw * ab.d), acc[t], lane);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = _mm_cvtss_f32(acc[t]) + _mm_cvtss_f32(_mm_movehdup_ps(acc[t]));
}
#else
template <int NT>
void vec_dot_q8_0_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ8_0*>(vw);
    const BlockQ8A* a[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8A>(va, as, t);
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        const __m256i wq = loadu(w[b].qs);
        const __m256i wabs = _mm256_sign_epi8(wq, wq);  // |w| as u8 (-128 -> 128)
        const float dw = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            const __m256i as_w = _mm256_sign_epi8(loadu(a[t][b].qs), wq);  // a * sign(w)
            const __m256i p = dot_u8s8(_mm256_setzero_si256(), wabs, as_w);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[t][b].d), _mm256_cvtepi32_ps(p), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}

template <int NT>
void vec_dot_q4_0_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ4_0*>(vw);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const BlockQ8A* a[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8A>(va, as, t);
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
        // elements 0-15: low nibbles, 16-31: high nibbles; stored q = value + 8 in 0..15
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
        const float dw = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            const __m256i p = dot_u8s8(_mm256_setzero_si256(), q, loadu(a[t][b].qs));
            const __m256i pc = _mm256_sub_epi32(p, _mm256_setr_epi32(8 * a[t][b].sum, 0, 0, 0, 0, 0, 0, 0));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[t][b].d), _mm256_cvtepi32_ps(pc), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}
#endif

// AVX2 K-quant kernels (the AVX-512 level has 512-bit ones below).
// Q4_K (HIGH = false) and Q5_K (HIGH = true): group g of 64 elements = sub-blocks 2g (low
// nibbles of qs[32g..], activations 64g..64g+31) and 2g+1 (high nibbles, 64g+32..64g+63).
template <class WBlock, bool HIGH, int NT>
void vec_dot_k4k5_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const WBlock*>(vw);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const BlockQ8KA* a[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8KA>(va, as, t);
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        uint8_t sc[8], m[8];
        unpack_k4(w[b].scales, sc, m);
        // mins per 16-element activation sum: lanes 2s, 2s+1 hold m[s]
        __m128i m8;  // m[0..7] widened to int16, then each lane doubled
        {
            int64_t packed;
            __builtin_memcpy(&packed, m, 8);
            m8 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(packed));
        }
        const __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
        __m256i hbits = _mm256_setzero_si256();
        if constexpr (HIGH) hbits = loadu(w[b].qh);
        __m256i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
        for (int g = 0; g < 4; ++g) {
            const __m256i raw = loadu(w[b].qs + 32 * g);
            __m256i qlo = _mm256_and_si256(raw, m4);
            __m256i qhi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if constexpr (HIGH) {  // + 16 where bit 2g (2g+1) of qh[l] is set
                const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1u << (2 * g)));
                const __m256i b1 = _mm256_set1_epi8(static_cast<char>(2u << (2 * g)));
                const __m256i sixteen = _mm256_set1_epi8(16);
                qlo = _mm256_or_si256(qlo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, b0), b0), sixteen));
                qhi = _mm256_or_si256(qhi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, b1), b1), sixteen));
            }
            const __m256i sc_lo = _mm256_set1_epi16(sc[2 * g]);
            const __m256i sc_hi = _mm256_set1_epi16(sc[2 * g + 1]);
            for (int t = 0; t < NT; ++t) {
                isum[t] = dot_scaled(isum[t], qlo, loadu(a[t][b].qs + 64 * g), sc_lo);
                isum[t] = dot_scaled(isum[t], qhi, loadu(a[t][b].qs + 64 * g + 32), sc_hi);
            }
        }
        const float d = f16(w[b].d), dmin = f16(w[b].dmin);
        for (int t = 0; t < NT; ++t) {
            const __m256i msum = _mm256_madd_epi16(loadu(a[t][b].bsums), mins);
            const __m256i is = isum[t];
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[t][b].d), _mm256_cvtepi32_ps(is), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * a[t][b].d), _mm256_cvtepi32_ps(msum), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}

// Q6_K: per half h, ql[0..31] (v0 low, v2 high nibbles), ql[32..63] (v1, v3), qh bit pairs
// 0-1 / 2-3 / 4-5 / 6-7 for v0..v3; v_k covers activations 128h + 32k .. +31 with scales
// 8h + 2k (first 16) and 8h + 2k + 1 (last 16). Stored q = value + 32: the offset is taken off
// once per block as 32 * Σ_j sc[j] * bsums[j].
template <int NT>
void vec_dot_q6_k_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ6_K*>(vw);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    const __m256i m2_4 = _mm256_set1_epi8(0x30);
    const BlockQ8KA* a[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8KA>(va, as, t);
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        const int8_t* sc = w[b].scales;
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        __m256i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q0 = loadu(w[b].ql + 64 * h);
            const __m256i q1 = loadu(w[b].ql + 64 * h + 32);
            const __m256i hb = loadu(w[b].qh + 32 * h);
            __m256i v[4];
            v[0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
            v[1] = _mm256_or_si256(_mm256_and_si256(q1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
            v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_and_si256(hb, m2_4));
            v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(hb, 2), m2_4));
            for (int k = 0; k < 4; k += 2) {
                const int j = 8 * h + 2 * k;
                const __m256i s0 = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
                const __m256i s1 = _mm256_set_m128i(_mm_set1_epi16(sc[j + 3]), _mm_set1_epi16(sc[j + 2]));
                for (int t = 0; t < NT; ++t) {
                    const int8_t* aq = a[t][b].qs + 128 * h + 32 * k;
                    isum[t] = dot_scaled(isum[t], v[k], loadu(aq), s0);
                    isum[t] = dot_scaled(isum[t], v[k + 1], loadu(aq + 32), s1);
                }
            }
        }
        const float d = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(loadu(a[t][b].bsums), sc16), 5);
            const __m256i is = _mm256_sub_epi32(isum[t], off);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[t][b].d), _mm256_cvtepi32_ps(is), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}

#if SCOUT_VNNI
// AVX-512 K-quant row kernels on 512-bit registers (the 256-bit ones above serve AVX2): one
// instruction covers two 32-element sub-blocks (a 64-byte activation slice), and each token's
// super-block sums are reduced exactly before the float step, in the row panels' order.

// A false positive of GCC's own AVX-512 headers, silenced for these 512-bit kernels only (up to
// the matching pop below): GCC 12 reports "'__Y' may be used uninitialized" (and "is used
// uninitialized") inside avx512fintrin.h wherever an intrinsic such as _mm512_inserti64x4,
// _mm512_extracti64x4_epi64, _mm512_cvtepi32_ps or _mm512_permutexvar_epi32 is inlined. Those
// intrinsics call a masked builtin with an all-ones mask and _mm512_undefined_epi32() (the
// deliberately self-initialized `__m512i __Y = __Y;`) as its pass-through operand, which the
// all-ones mask never reads: GCC bug 105593. Nothing in this code reads an uninitialized value
// (the kernels are checked against the portable reference with NaN-poisoned outputs).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
// Two 256-bit halves as one register: lo in lanes 0-7, hi in 8-15.
inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
inline __m256i fold(__m512i v) { return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)); }

// int16 lanes 0-15 = lane i, 16-31 = lane j of a vector of int16 scales (for vpermw).
inline __m512i scale_pick2(int i, int j) { return join(_mm256_set1_epi16(static_cast<short>(i)), _mm256_set1_epi16(static_cast<short>(j))); }
// int16 lanes 8k..8k+7 = lane i + k (k = 0..3): four 16-element scale groups in a row.
inline __m512i scale_pick4(int i) {
    return join(_mm256_set_m128i(_mm_set1_epi16(static_cast<short>(i + 1)), _mm_set1_epi16(static_cast<short>(i))),
                _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(i + 3)), _mm_set1_epi16(static_cast<short>(i + 2))));
}

// Scale lanes for packs(p_2h, p_2h+1) (k4k5_block_sums_1): int16 lanes of 128-bit lane k =
// [sc_a x4, sc_b x4] with (a, b) = (4h, 4h + 2) for k = 0, 1 and (4h + 1, 4h + 3) for k = 2, 3.
inline __m512i pack_scale_pick(int h) {
    const auto lane = [](int a, int b) { return _mm_setr_epi16(a, a, a, a, b, b, b, b); };
    const __m256i lo = _mm256_set_m128i(lane(4 * h, 4 * h + 2), lane(4 * h, 4 * h + 2));
    const __m256i hi = _mm256_set_m128i(lane(4 * h + 1, 4 * h + 3), lane(4 * h + 1, 4 * h + 3));
    return join(lo, hi);
}

// Constants of the one-token Q4_K/Q5_K kernel, built once per call.
struct K4Consts {
    __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512i pick[2] = {pack_scale_pick(0), pack_scale_pick(1)};
    __m256i pick_mins = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    // a group's 32 bytes broadcast to both halves, shifted by 4 in the upper half: its low
    // nibbles in bytes 0-31, its high nibbles in 32-63 (after the mask)
    __m512i nibble_shift = join(_mm256_setzero_si256(), _mm256_set1_epi16(4));
};

// The first 16 bytes of a Q4_K/Q5_K block (d, dmin, the 12 scale bytes q[0..11] at bytes
// 4..15) unpacked in one register, the vector form of unpack_k4_words: int16 lanes 0-7 are
// sc[0..7], lanes 8-15 m[0..7].
//   x = [q0..q3, q8..q11, q4..q7, q8..q11]   low 6 bits of sc[0..3] / m[0..3]; the low (sc[4..7])
//                                              and high (m[4..7]) nibbles of q8..q11
//   y = [0 x4, q0..q3, 0 x4, q4..q7]          whose top two bits are bits 4-5 of sc[4..7] / m[4..7]
inline __m256i unpack_k4_vec(__m128i head) {
    const __m128i x = _mm_shuffle_epi8(head, _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m128i y = _mm_shuffle_epi8(head, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
    // bytes 12-15 take the high nibble (a 16-bit shift moves the neighbour's bits only into the
    // masked-off upper nibble)
    __m128i lo = _mm_mask_blend_epi8(static_cast<__mmask16>(0xF000), x, _mm_srli_epi16(x, 4));
    lo = _mm_and_si128(lo, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(y, 2), _mm_set1_epi8(0x30));  // (q >> 6) << 4
    return _mm256_cvtepu8_epi16(_mm_or_si128(lo, hi));
}

// One Q4_K/Q5_K super-block against one token's activation block (the decode kernel below):
// isum (16 int32 lanes summing to S = Σ_j sc_j Σ q a), the mins as int16 pairs (lanes 2s, 2s + 1
// = m[s], for vpmaddwd with the activations' 16-value sums) and [d, dmin] in lanes 0-1.
//
// Each group's products are taken unscaled first, p_g = vpdpbusd(q_g, a_g): int32 lanes 0-7
// hold four-product sums of sub-block 2g, lanes 8-15 of 2g + 1, each |p| <= 4 * 31 * 127 < 2^15.
// Two groups packed to int16 (vpackssdw: exact, interleaved per 128-bit lane) meet their scales
// in one vpmaddwd. The four vpdpbusd are independent, where the many-token kernel's vpmaddubsw ->
// vpdpwssd chain through the four groups makes a lone token's sums wait ~20 cycles.
template <class WBlock, bool HIGH>
inline void k4k5_block_sums_1(const K4Consts& k, const WBlock& w, const BlockQ8KA& a, __m512i& isum, __m256i& mins,
                              __m128& d_dmin) {
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&w));
    d_dmin = _mm_cvtph_ps(head);
    const __m256i sm16 = unpack_k4_vec(head);
    mins = _mm256_permutexvar_epi16(k.pick_mins, sm16);
    __m512i hbits = _mm512_setzero_si512();
    if constexpr (HIGH) hbits = _mm512_broadcast_i64x4(loadu(w.qh));
    __m512i p[4];
    for (int g = 0; g < 4; ++g) {
        // sub-block 2g (low nibbles) in bytes 0-31, 2g + 1 (high nibbles) in 32-63
        const __m512i raw = _mm512_broadcast_i64x4(loadu(w.qs + 32 * g));
        __m512i q = _mm512_and_si512(_mm512_srlv_epi16(raw, k.nibble_shift), k.m4);
        if constexpr (HIGH) {  // + 16 where bit 2g (low half) / 2g + 1 (high half) of qh[l] is set
            const __m512i bit = join(_mm256_set1_epi8(static_cast<char>(1u << (2 * g))),
                                     _mm256_set1_epi8(static_cast<char>(2u << (2 * g))));
            q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hbits, bit), q, _mm512_set1_epi8(16));
        }
        p[g] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, load512(a.qs + 64 * g));
    }
    const __m512i sc16 = _mm512_castsi256_si512(sm16);
    const __m512i sc01 = _mm512_permutexvar_epi16(k.pick[0], sc16);
    const __m512i sc23 = _mm512_permutexvar_epi16(k.pick[1], sc16);
    isum = _mm512_add_epi32(_mm512_madd_epi16(_mm512_packs_epi32(p[0], p[1]), sc01),
                            _mm512_madd_epi16(_mm512_packs_epi32(p[2], p[3]), sc23));
}

template <class WBlock, bool HIGH, int NT>
void vec_dot_k4k5_q8_zmm(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const WBlock*>(vw);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const BlockQ8KA* a[NT];
    float acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8KA>(va, as, t);
        acc[t] = 0.0f;
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        uint64_t packed_sc, packed_m;
        unpack_k4_words(w[b].scales, packed_sc, packed_m);
        const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(packed_sc))));
        const __m128i m8 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(packed_m)));
        const __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
        __m512i hbits = _mm512_setzero_si512();
        if constexpr (HIGH) hbits = _mm512_broadcast_i64x4(loadu(w[b].qh));
        __m512i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
        for (int g = 0; g < 4; ++g) {
            // sub-block 2g (low nibbles) in bytes 0-31, 2g + 1 (high nibbles) in 32-63
            const __m256i raw = loadu(w[b].qs + 32 * g);
            __m512i q = _mm512_and_si512(join(raw, _mm256_srli_epi16(raw, 4)), m4);
            if constexpr (HIGH) {  // + 16 where bit 2g (low half) / 2g + 1 (high half) of qh[l] is set
                const __m512i bit = join(_mm256_set1_epi8(static_cast<char>(1u << (2 * g))),
                                         _mm256_set1_epi8(static_cast<char>(2u << (2 * g))));
                q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hbits, bit), q, _mm512_set1_epi8(16));
            }
            const __m512i scg = _mm512_permutexvar_epi16(scale_pick2(2 * g, 2 * g + 1), sc16);
            for (int t = 0; t < NT; ++t)
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(q, load512(a[t][b].qs + 64 * g)), scg);
        }
        // The row-panel kernels' order (gemm_panel.hpp): the super-block's exact integer sums
        // S = Σ_j sc_j Σ q a and M = Σ_j m_j Σ a, then acc = fma(S, d d_a, acc) and
        // acc = fnmadd(M, dmin d_a, acc).
        const float d = f16(w[b].d), dmin = f16(w[b].dmin);
        for (int t = 0; t < NT; ++t) {
            int32_t S, M;
            hsum2_epi32(fold(isum[t]), _mm256_madd_epi16(loadu(a[t][b].bsums), mins), S, M);
            acc[t] = __builtin_fmaf(static_cast<float>(S), d * a[t][b].d, acc[t]);
            acc[t] = __builtin_fmaf(-static_cast<float>(M), dmin * a[t][b].d, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = acc[t];
}

// Decode (one token): two super-blocks per step, so that their independent integer work is in
// flight together, and their four exact sums S_b, M_b, S_b+1, M_b+1 reduced in one tree. The
// float steps stay in block order, the operations vec_dot_k4k5_q8_zmm gives each token: the
// results are bit-identical to it and to the row panels (RowResultsDoNotDependOnBatch).
template <class WBlock, bool HIGH>
void vec_dot_k4k5_q8_zmm_1(int64_t nb, const void* vw, const void* va, std::size_t, float* y, int64_t) {
    const auto* w = static_cast<const WBlock*>(vw);
    const auto* a = static_cast<const BlockQ8KA*>(va);
    const K4Consts k;
    __m128 acc = _mm_setzero_ps();  // lane 0
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        prefetch_ahead(w + b);
        prefetch_ahead(w + b + 1);
        __m512i isum[2];
        __m256i mins[2];
        __m128 d_dmin[2];
        k4k5_block_sums_1<WBlock, HIGH>(k, w[b], a[b], isum[0], mins[0], d_dmin[0]);
        k4k5_block_sums_1<WBlock, HIGH>(k, w[b + 1], a[b + 1], isum[1], mins[1], d_dmin[1]);
        // [S_b, M_b, S_b+1, M_b+1], exact
        const __m256i h0 = _mm256_hadd_epi32(fold(isum[0]), _mm256_madd_epi16(loadu(a[b].bsums), mins[0]));
        const __m256i h1 = _mm256_hadd_epi32(fold(isum[1]), _mm256_madd_epi16(loadu(a[b + 1].bsums), mins[1]));
        const __m256i h = _mm256_hadd_epi32(h0, h1);
        const __m128 f = _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
        // [d_b d_a,b, dmin_b d_a,b, d_b+1 d_a,b+1, dmin_b+1 d_a,b+1]
        const __m128 c = _mm_mul_ps(_mm_movelh_ps(d_dmin[0], d_dmin[1]),
                                    _mm_setr_ps(a[b].d, a[b].d, a[b + 1].d, a[b + 1].d));
        acc = _mm_fmadd_ss(f, c, acc);
        acc = _mm_fnmadd_ss(_mm_movehdup_ps(f), _mm_movehdup_ps(c), acc);
        const __m128 f2 = _mm_movehl_ps(f, f), c2 = _mm_movehl_ps(c, c);
        acc = _mm_fmadd_ss(f2, c2, acc);
        acc = _mm_fnmadd_ss(_mm_movehdup_ps(f2), _mm_movehdup_ps(c2), acc);
    }
    float last = _mm_cvtss_f32(acc);
    if (b < nb) {  // an odd last super-block
        __m512i isum;
        __m256i mins;
        __m128 d_dmin;
        k4k5_block_sums_1<WBlock, HIGH>(k, w[b], a[b], isum, mins, d_dmin);
        int32_t S, M;
        hsum2_epi32(fold(isum), _mm256_madd_epi16(loadu(a[b].bsums), mins), S, M);
        const __m128 c = _mm_mul_ps(d_dmin, _mm_set1_ps(a[b].d));
        last = __builtin_fmaf(static_cast<float>(S), _mm_cvtss_f32(c), last);
        last = __builtin_fmaf(-static_cast<float>(M), _mm_cvtss_f32(_mm_movehdup_ps(c)), last);
    }
    y[0] = last;
}

// Q6_K: per half h, the 64 bytes ql[64h..] give v0 | v1 (low nibbles) and v2 | v3 (high
// nibbles), each pair covering 64 consecutive activations (128h + 0..63, 128h + 64..127).
template <int NT>
void vec_dot_q6_k_q8_zmm(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ6_K*>(vw);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i m2 = _mm512_set1_epi8(0x03);
    const __m512i m2_4 = _mm512_set1_epi8(0x30);
    const BlockQ8KA* a[NT];
    float acc[NT];
    for (int t = 0; t < NT; ++t) {
        a[t] = act_row<BlockQ8KA>(va, as, t);
        acc[t] = 0.0f;
    }
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead(w + b);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
        const __m512i sc16z = _mm512_castsi256_si512(sc16);
        __m512i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
            const __m512i q = load512(w[b].ql + 64 * h);
            const __m256i hb = loadu(w[b].qh + 32 * h);
            const __m512i hbits = join(hb, _mm256_srli_epi16(hb, 2));  // bits of v0 | v1 at 0-1, of v2 | v3 at 4-5
            const __m512i v01 = _mm512_or_si512(_mm512_and_si512(q, m4), _mm512_slli_epi16(_mm512_and_si512(hbits, m2), 4));
            const __m512i v23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4), _mm512_and_si512(hbits, m2_4));
            const __m512i s01 = _mm512_permutexvar_epi16(scale_pick4(8 * h), sc16z);
            const __m512i s23 = _mm512_permutexvar_epi16(scale_pick4(8 * h + 4), sc16z);
            for (int t = 0; t < NT; ++t) {
                const int8_t* aq = a[t][b].qs + 128 * h;
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(v01, load512(aq)), s01);
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(v23, load512(aq + 64)), s23);
            }
        }
        // The row-panel order (gemm_panel.hpp): the super-block's exact integer sum
        // S = Σ_j sc_j Σ q a - 32 Σ_j sc_j Σ a, then acc = fma(S, d d_a, acc).
        const float d = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            int32_t qa, off;
            hsum2_epi32(fold(isum[t]), _mm256_madd_epi16(loadu(a[t][b].bsums), sc16), qa, off);
            acc[t] = __builtin_fmaf(static_cast<float>(qa - 32 * off), d * a[t][b].d, acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = acc[t];
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop  // GCC bug 105593, see the push above
#endif
#endif  // SCOUT_VNNI

// The tables: tile[k] = the kernel instantiated for k + 1 tokens.
template <int... I>
struct Widths {};
template <template <int> class K, int... I>
constexpr VecDotKernels table_of(Widths<I...>, int tile_tokens) {
    return {{K<I + 1>::fn...}, tile_tokens};
}
template <template <int> class K>
constexpr VecDotKernels table(int tile_tokens) {
    return table_of<K>(Widths<0, 1, 2, 3, 4, 5, 6, 7>{}, tile_tokens);
}
#if SCOUT_VNNI
// One token takes the decode kernel; the many-token kernel is not instantiated for it.
template <class WBlock, bool HIGH, int NT>
constexpr VecDotTileFn k4k5_kernel() {
    if constexpr (NT == 1)
        return vec_dot_k4k5_q8_zmm_1<WBlock, HIGH>;
    else
        return vec_dot_k4k5_q8_zmm<WBlock, HIGH, NT>;
}
template <int NT>
struct Q4_KFn {
    static constexpr VecDotTileFn fn = k4k5_kernel<BlockQ4_K, false, NT>();
};
template <int NT>
struct Q5_KFn {
    static constexpr VecDotTileFn fn = k4k5_kernel<BlockQ5_K, true, NT>();
};
template <int NT>
struct Q6_KFn {
    static constexpr VecDotTileFn fn = vec_dot_q6_k_q8_zmm<NT>;
};
constexpr int kTileTokens = 8;
#else
template <int NT>
struct Q4_KFn {
    static constexpr VecDotTileFn fn = vec_dot_k4k5_q8<BlockQ4_K, false, NT>;
};
template <int NT>
struct Q5_KFn {
    static constexpr VecDotTileFn fn = vec_dot_k4k5_q8<BlockQ5_K, true, NT>;
};
template <int NT>
struct Q6_KFn {
    static constexpr VecDotTileFn fn = vec_dot_q6_k_q8<NT>;
};
constexpr int kTileTokens = 4;
#endif
#if SCOUT_VNNI
template <int NT>
struct Q8_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_32_q8<BlockQ8_0, NT>;
};
template <int NT>
struct Q4_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_32_q8<BlockQ4_0, NT>;
};
#else
template <int NT>
struct Q8_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_q8_0_q8<NT>;
};
template <int NT>
struct Q4_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_q4_0_q8<NT>;
};
#endif
constexpr VecDotKernels kQ8_0 = table<Q8_0Fn>(kTileTokens);
constexpr VecDotKernels kQ4_0 = table<Q4_0Fn>(kTileTokens);
constexpr VecDotKernels kQ4_K = table<Q4_KFn>(kTileTokens);
constexpr VecDotKernels kQ5_K = table<Q5_KFn>(kTileTokens);
constexpr VecDotKernels kQ6_K = table<Q6_KFn>(kTileTokens);

const VecDotKernels* x86_table(DType weight) {
    switch (weight) {
        case DType::Q8_0: return &kQ8_0;
        case DType::Q4_0: return &kQ4_0;
        case DType::Q4_K: return &kQ4_K;
        case DType::Q5_K: return &kQ5_K;
        case DType::Q6_K: return &kQ6_K;
        default: return nullptr;
    }
}

}  // namespace
}  // namespace scout::cpu
