// The x86 int8 kernels, written once and compiled twice (not a header: included only by
// vec_dot_avx2.cpp and vec_dot_avx512.cpp, each with its own target flags):
//   SCOUT_VNNI == 0: AVX2      u8 x s8 -> maddubs (s16 pairs) -> madd with 1 / with the scales
//   SCOUT_VNNI == 1: AVX-512   the same with vpdpbusd (u8 x s8 -> s32) and vpdpwssd (s16 x s16 -> s32),
//                              on 256-bit registers (AVX-512 VL), one instruction per step.
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

#include "base/simd_reduce.hpp"
#include "quant/blocks.hpp"
#include "quant/q8_activations.hpp"
#include "quant/vec_dot.hpp"

#ifndef SCOUT_VNNI
#error "define SCOUT_VNNI before including vec_dot_x86.inl"
#endif

namespace scout::quant {
namespace {

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

using simd_reduce::hsum256;

// acc + Σ of each 4 adjacent u8 x s8 products (8 int32 lanes).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if SCOUT_VNNI
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// VNNI: vpdpwssd both multiplies and accumulates, so a token's K-quant sum is one chain of
// dependent instructions; two accumulators halve it (integer sums are exact: no result changes).
// AVX2 adds the madd results with a 1-cycle add, and has only 16 registers: one accumulator.
constexpr bool kSplitChains = SCOUT_VNNI != 0;

// acc + Σ of each 2 adjacent s16 x s16 products.
inline __m256i dot_s16(__m256i acc, __m256i a, __m256i b) {
#if SCOUT_VNNI
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

// u8 quants (32 x 0..63) · s8 activations, times one int16 scale per 16-element half
// (sc: int16 lanes 0-7 scale the first 16 elements, lanes 8-15 the last 16).
inline __m256i dot_scaled(__m256i acc, __m256i q, __m256i a, __m256i sc) {
    return dot_s16(acc, _mm256_maddubs_epi16(q, a), sc);
}

inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Requests the weight bytes kAheadBytes beyond block p (the rest of this row, then the next row,
// which is where a product goes next): decode reads each weight once, and measured on the 1b
// model the hardware prefetcher alone left the kernel waiting on the first load of each block.
constexpr int kAheadBytes = 2048;
template <typename Block>
inline void prefetch_ahead(const Block* p) {
    const char* c = reinterpret_cast<const char*>(p) + kAheadBytes;
    for (std::size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(c + off, _MM_HINT_T0);
}

template <class ABlock>
const ABlock* act_row(const void* a, std::size_t a_stride, int t) {
    return reinterpret_cast<const ABlock*>(static_cast<const uint8_t*>(a) + static_cast<std::size_t>(t) * a_stride);
}

// 6-bit scales and mins of a Q4_K/Q5_K super-block (blocks.hpp: unpack_scale_min_k4).
inline void unpack_k4(const uint8_t* q, uint8_t sc[8], uint8_t m[8]) {
    for (int s = 0; s < 4; ++s) {
        sc[s] = q[s] & 63;
        m[s] = q[s + 4] & 63;
        sc[s + 4] = static_cast<uint8_t>((q[s + 8] & 0x0F) | ((q[s] >> 6) << 4));
        m[s + 4] = static_cast<uint8_t>((q[s + 8] >> 4) | ((q[s + 4] >> 6) << 4));
    }
}

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
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
        // elements 0-15: low nibbles, 16-31: high nibbles; stored q = value + 8 in 0..15
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
        const float dw = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            __m256i p = dot_u8s8(_mm256_setzero_si256(), q, loadu(a[t][b].qs));
            p = _mm256_sub_epi32(p, _mm256_setr_epi32(8 * a[t][b].sum, 0, 0, 0, 0, 0, 0, 0));  // Σ (q - 8) a
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[t][b].d), _mm256_cvtepi32_ps(p), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}

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
        __m256i isum[NT], isum2[NT];  // low / high nibble sub-blocks (kSplitChains)
        for (int t = 0; t < NT; ++t) isum[t] = isum2[t] = _mm256_setzero_si256();
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
                __m256i& second = kSplitChains ? isum2[t] : isum[t];
                second = dot_scaled(second, qhi, loadu(a[t][b].qs + 64 * g + 32), sc_hi);
            }
        }
        const float d = f16(w[b].d), dmin = f16(w[b].dmin);
        for (int t = 0; t < NT; ++t) {
            const __m256i msum = _mm256_madd_epi16(loadu(a[t][b].bsums), mins);
            const __m256i is = _mm256_add_epi32(isum[t], isum2[t]);
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
        __m256i isum[NT], isum2[NT];  // even / odd k (kSplitChains)
        for (int t = 0; t < NT; ++t) isum[t] = isum2[t] = _mm256_setzero_si256();
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
                    __m256i& second = kSplitChains ? isum2[t] : isum[t];
                    second = dot_scaled(second, v[k + 1], loadu(aq + 32), s1);
                }
            }
        }
        const float d = f16(w[b].d);
        for (int t = 0; t < NT; ++t) {
            const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(loadu(a[t][b].bsums), sc16), 5);
            const __m256i is = _mm256_sub_epi32(_mm256_add_epi32(isum[t], isum2[t]), off);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[t][b].d), _mm256_cvtepi32_ps(is), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) y[t * ys] = hsum256(acc[t]);
}

constexpr VecDotKernels kQ8_0{{vec_dot_q8_0_q8<1>, vec_dot_q8_0_q8<2>, vec_dot_q8_0_q8<3>, vec_dot_q8_0_q8<4>}};
constexpr VecDotKernels kQ4_0{{vec_dot_q4_0_q8<1>, vec_dot_q4_0_q8<2>, vec_dot_q4_0_q8<3>, vec_dot_q4_0_q8<4>}};
constexpr VecDotKernels kQ4_K{{vec_dot_k4k5_q8<BlockQ4_K, false, 1>, vec_dot_k4k5_q8<BlockQ4_K, false, 2>,
                               vec_dot_k4k5_q8<BlockQ4_K, false, 3>, vec_dot_k4k5_q8<BlockQ4_K, false, 4>}};
constexpr VecDotKernels kQ5_K{{vec_dot_k4k5_q8<BlockQ5_K, true, 1>, vec_dot_k4k5_q8<BlockQ5_K, true, 2>,
                               vec_dot_k4k5_q8<BlockQ5_K, true, 3>, vec_dot_k4k5_q8<BlockQ5_K, true, 4>}};
constexpr VecDotKernels kQ6_K{{vec_dot_q6_k_q8<1>, vec_dot_q6_k_q8<2>, vec_dot_q6_k_q8<3>, vec_dot_q6_k_q8<4>}};

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
}  // namespace scout::quant
