// AVX-512 VNNI row-panel kernels (gemm_panel.hpp), compiled with the AVX-512 target flags
// (CMakeLists.txt); handed out only when the processor has them.
//
// Every panel holds, per weight block, vectors of "4 consecutive quants of each of the 16 rows",
// so one vpdpbusd with 4 broadcast activation bytes advances all 16 rows' sums. Packing reads the
// rows one after the other (one memory stream at a time, which the prefetcher follows); rows
// past `rows` repeat the last row and are never stored. (An in-register 16 x 16 transposition
// instead of the 4-byte scatter stores made no measurable difference to a prompt.)
//
// Q8_0 / Q4_0 panel, per weight block b (kBlockBytes of scratch):
//   8 vectors k4 = 0..7: bytes 4r..4r+3 = unsigned quants 4k4..4k4+3 of row r (r < 16)
//   16 floats: d of each row's block
// Q8_0 quants are stored + 128 and Q4_0 quants as their nibbles (value + 8), both unsigned, as
// vpdpbusd's first factor must be; the offset comes back out exactly through the activation
// block's integer sum:  Σ (q + c) a = Σ q a + c Σ a.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/kernels/gemm_panel.hpp"
#include "backend/cpu/kernels/q8_activations.hpp"
#include "quant/blocks.hpp"

namespace scout::cpu {
// The block layouts (src/quant/blocks.hpp) these kernels read.
using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;

// GCC 12 reports "'__Y' may be used uninitialized" inside its own avx512fintrin.h wherever
// intrinsics like _mm512_inserti64x4 or _mm512_cvtepi32_ps are inlined: they pass the
// deliberately self-initialized _mm512_undefined_epi32() to a masked builtin whose all-ones mask
// never reads it (GCC bug 105593; details in vec_dot_x86.inl). A false positive, silenced for the
// panel kernels of this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace {

constexpr std::size_t kBlockBytes = 8 * 64 + 64;
constexpr int kTileTokens = 8;

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// 4 activation bytes at p in every 32-bit lane, loaded straight into the vector register (as
// int32 through a general register, GCC spent two extra instructions on each broadcast).
inline __m512i bcast4(const int8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return _mm512_castps_si512(_mm512_set1_ps(f));
}

// Row r's 32 unsigned quants of a block, in element order, and its scale.
template <DType D>
inline __m256i block_quants(const uint8_t* row, int64_t b, float& d) {
    if constexpr (D == DType::Q8_0) {
        const auto* blk = reinterpret_cast<const BlockQ8_0*>(row) + b;
        d = f16(blk->d);
        return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs)), _mm256_set1_epi8(-128));
    } else {
        const auto* blk = reinterpret_cast<const BlockQ4_0*>(row) + b;
        d = f16(blk->d);
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs));
        const __m128i m4 = _mm_set1_epi8(0x0F);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
    }
}

template <DType D>
void pack_panel(int64_t nb, const uint8_t* w, std::size_t w_stride, int rows, uint8_t* out) {
    for (int r = 0; r < kPanelRows; ++r) {
        const uint8_t* row = w + static_cast<std::size_t>(std::min(r, rows - 1)) * w_stride;
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* blk = out + static_cast<std::size_t>(b) * kBlockBytes;
            float d;
            alignas(32) uint32_t q[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(q), block_quants<D>(row, b, d));
            auto* dst = reinterpret_cast<uint32_t*>(blk) + r;
            for (int k4 = 0; k4 < 8; ++k4) dst[16 * k4] = q[k4];
            reinterpret_cast<float*>(blk + 512)[r] = d;
        }
    }
}

// NT tokens against the packed panel.
template <int C, int NT>
void panel_tile(int64_t nb, const uint8_t* packed, const uint8_t* a, std::size_t a_stride, int rows, float* y,
                int64_t ys) {
    const BlockQ8A* ar[NT];
    __m512 acc[NT][2];  // even / odd blocks
    for (int t = 0; t < NT; ++t) {
        ar[t] = reinterpret_cast<const BlockQ8A*>(a + static_cast<std::size_t>(t) * a_stride);
        acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = packed + static_cast<std::size_t>(b) * kBlockBytes;
        __m512i wq[8];
        for (int k4 = 0; k4 < 8; ++k4) wq[k4] = _mm512_load_si512(blk + 64 * k4);
        const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(blk + 512));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8A& ab = ar[t][b];
            // two chains of four: integer sums, so the split changes nothing
            __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[0], bcast4(ab.qs));
            __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[1], bcast4(ab.qs + 4));
            for (int k4 = 2; k4 < 8; k4 += 2) {
                p0 = _mm512_dpbusd_epi32(p0, wq[k4], bcast4(ab.qs + 4 * k4));
                p1 = _mm512_dpbusd_epi32(p1, wq[k4 + 1], bcast4(ab.qs + 4 * k4 + 4));
            }
            const __m512i s = _mm512_sub_epi32(_mm512_add_epi32(p0, p1), _mm512_set1_epi32(C * ab.sum));
            acc[t][b % 2] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(ab.d)), acc[t][b % 2]);
        }
    }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1u);
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ys, keep, _mm512_add_ps(acc[t][0], acc[t][1]));
}

// A tile kernel: NT tokens against a packed panel, y[t * ys + r] for r < rows.
using TileFn = void (*)(int64_t nb, const uint8_t* packed, const uint8_t* a, std::size_t a_stride, int rows, float* y,
                        int64_t ys);

// T tokens over a packed panel, kTileTokens at a time (tiles[n - 1] takes n tokens).
void run_tiles(const TileFn* tiles, int64_t nb, const uint8_t* packed, const void* a, std::size_t a_stride, int64_t T,
               int rows, float* y, int64_t ys) {
    const auto* ab = static_cast<const uint8_t*>(a);
    for (int64_t t = 0; t < T; t += kTileTokens) {
        const int nt = static_cast<int>(std::min<int64_t>(kTileTokens, T - t));
        tiles[nt - 1](nb, packed, ab + static_cast<std::size_t>(t) * a_stride, a_stride, rows, y + t * ys, ys);
    }
}

template <int C, int... I>
constexpr TileFn kQ8Tiles[] = {panel_tile<C, I + 1>...};

template <DType D>
void panel(int64_t nb, const void* w, std::size_t w_stride, int rows, const void* a, std::size_t a_stride, int64_t T,
           float* y, int64_t ys, uint8_t* scratch) {
    constexpr int C = D == DType::Q8_0 ? 128 : 8;
    pack_panel<D>(nb, static_cast<const uint8_t*>(w), w_stride, rows, scratch);
    run_tiles(kQ8Tiles<C, 0, 1, 2, 3, 4, 5, 6, 7>, nb, scratch, a, a_stride, T, rows, y, ys);
}

// ---- Q4_K / Q5_K ----------------------------------------------------------------------
// Repacked panel, per super-block (kKBlockBytes):
//   64 vectors k4 = 0..63: bytes 4r..4r+3 = quants 4k4..4k4+3 of row r (0..15, Q5_K 0..31)
//   8 vectors j: int32 lane r = sub-block scale sc_j of row r
//   4 vectors i: int16 lanes 2r, 2r+1 = mins m_2i, m_2i+1 of row r
//   16 floats d, 16 floats dmin
constexpr std::size_t kKQuants = 64 * 64, kKScales = kKQuants, kKMins = kKScales + 8 * 64, kKD = kKMins + 4 * 64,
                      kKDmin = kKD + 64, kKBlockBytes = kKDmin + 64;

// Sub-block scales and mins of a Q4_K/Q5_K super-block as eight bytes each (blocks.hpp:
// unpack_scale_min_k4, in 32-bit word arithmetic).
inline void unpack_k4_words(const uint8_t* q, uint64_t& sc, uint64_t& m) {
    uint32_t w0, w1, w2;
    std::memcpy(&w0, q, 4);
    std::memcpy(&w1, q + 4, 4);
    std::memcpy(&w2, q + 8, 4);
    constexpr uint32_t k6 = 0x3F3F3F3Fu, k4 = 0x0F0F0F0Fu, k2 = 0x03030303u;
    sc = (w0 & k6) | (uint64_t{(w2 & k4) | (((w0 >> 6) & k2) << 4)} << 32);
    m = (w1 & k6) | (uint64_t{((w2 >> 4) & k4) | (((w1 >> 6) & k2) << 4)} << 32);
}

template <class WBlock, bool HIGH>
void pack_panel_k(int64_t nb, const uint8_t* w, std::size_t w_stride, int rows, uint8_t* out) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int r = 0; r < kPanelRows; ++r) {
        const auto* row = reinterpret_cast<const WBlock*>(w + static_cast<std::size_t>(std::min(r, rows - 1)) * w_stride);
        for (int64_t b = 0; b < nb; ++b) {
            const WBlock& wb = row[b];
            uint8_t* blk = out + static_cast<std::size_t>(b) * kKBlockBytes;
            uint64_t sc, m;
            unpack_k4_words(wb.scales, sc, m);
            for (int j = 0; j < 8; ++j) reinterpret_cast<int32_t*>(blk + kKScales)[16 * j + r] = static_cast<int32_t>((sc >> (8 * j)) & 0xFF);
            for (int i = 0; i < 4; ++i)
                reinterpret_cast<uint32_t*>(blk + kKMins)[16 * i + r] =
                    static_cast<uint32_t>(((m >> (16 * i)) & 0xFF) | (((m >> (16 * i + 8)) & 0xFF) << 16));
            reinterpret_cast<float*>(blk + kKD)[r] = f16(wb.d);
            reinterpret_cast<float*>(blk + kKDmin)[r] = f16(wb.dmin);
            __m256i hbits = _mm256_setzero_si256();
            if constexpr (HIGH) hbits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qh));
            for (int g = 0; g < 4; ++g) {
                // values 64g .. 64g + 31: low nibbles of qs[32g ..]; 64g + 32 ..: high nibbles
                const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qs + 32 * g));
                __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                if constexpr (HIGH) {  // + 16 where bit 2g (2g + 1) of qh[l] is set
                    const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1u << (2 * g)));
                    const __m256i b1 = _mm256_set1_epi8(static_cast<char>(2u << (2 * g)));
                    lo = _mm256_mask_add_epi8(lo, _mm256_test_epi8_mask(hbits, b0), lo, _mm256_set1_epi8(16));
                    hi = _mm256_mask_add_epi8(hi, _mm256_test_epi8_mask(hbits, b1), hi, _mm256_set1_epi8(16));
                }
                alignas(32) uint32_t q[16];
                _mm256_store_si256(reinterpret_cast<__m256i*>(q), lo);
                _mm256_store_si256(reinterpret_cast<__m256i*>(q + 8), hi);
                auto* dst = reinterpret_cast<uint32_t*>(blk) + 16 * (16 * g) + r;
                for (int i = 0; i < 16; ++i) dst[16 * i] = q[i];
            }
        }
    }
}

template <int NT>
void panel_tile_k(int64_t nb, const uint8_t* packed, const uint8_t* a, std::size_t a_stride, int rows, float* y,
                  int64_t ys) {
    const BlockQ8KA* ar[NT];
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) {
        ar[t] = reinterpret_cast<const BlockQ8KA*>(a + static_cast<std::size_t>(t) * a_stride);
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = packed + static_cast<std::size_t>(b) * kKBlockBytes;
        __m512i S[NT];
        for (int t = 0; t < NT; ++t) S[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; ++j) {  // sub-block j: values 32j .. 32j + 31
            __m512i wq[8];
            for (int i = 0; i < 8; ++i) wq[i] = _mm512_load_si512(blk + 64 * (8 * j + i));
            const __m512i scj = _mm512_load_si512(blk + kKScales + 64 * j);
            for (int t = 0; t < NT; ++t) {
                const int8_t* aq = ar[t][b].qs + 32 * j;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[0], bcast4(aq));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[1], bcast4(aq + 4));
                for (int i = 2; i < 8; i += 2) {
                    p0 = _mm512_dpbusd_epi32(p0, wq[i], bcast4(aq + 4 * i));
                    p1 = _mm512_dpbusd_epi32(p1, wq[i + 1], bcast4(aq + 4 * i + 4));
                }
                S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(_mm512_add_epi32(p0, p1), scj));
            }
        }
        const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(blk + kKD));
        const __m512 dmin = _mm512_load_ps(reinterpret_cast<const float*>(blk + kKDmin));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8KA& ab = ar[t][b];
            // sub-block sums B_j = bsums[2j] + bsums[2j + 1] (|B_j| <= 32 * 127), in pairs per int32
            const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.bsums)),
                                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.bsums + 8)));
            const __m512i bsz = _mm512_castsi128_si512(bs);
            __m512i M = _mm512_setzero_si512();
            for (int i = 0; i < 4; ++i)
                M = _mm512_dpwssd_epi32(M, _mm512_load_si512(blk + kKMins + 64 * i),
                                        _mm512_permutexvar_epi32(_mm512_set1_epi32(i), bsz));
            const __m512 da = _mm512_set1_ps(ab.d);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, da), acc[t]);
            acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M), _mm512_mul_ps(dmin, da), acc[t]);
        }
    }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1u);
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ys, keep, acc[t]);
}

template <int... I>
constexpr TileFn kKTiles[] = {panel_tile_k<I + 1>...};

template <class WBlock, bool HIGH>
void panel_k(int64_t nb, const void* w, std::size_t w_stride, int rows, const void* a, std::size_t a_stride, int64_t T,
             float* y, int64_t ys, uint8_t* scratch) {
    pack_panel_k<WBlock, HIGH>(nb, static_cast<const uint8_t*>(w), w_stride, rows, scratch);
    run_tiles(kKTiles<0, 1, 2, 3, 4, 5, 6, 7>, nb, scratch, a, a_stride, T, rows, y, ys);
}

// ---- Q6_K --------------------------------------------------------------------------------
// Repacked panel, per super-block (kSixBlockBytes):
//   64 vectors k4: bytes 4r..4r+3 = stored quants (value + 32, 0..63) 4k4..4k4+3 of row r
//   16 vectors j: int32 lane r = scale sc_j of row r's 16-value sub-block j
//   8 vectors i: int16 lanes 2r, 2r+1 = sc_2i, sc_2i+1 of row r (the offset term)
//   16 floats d
constexpr std::size_t kSixQuants = 64 * 64, kSixScales = kSixQuants, kSixPairs = kSixScales + 16 * 64,
                      kSixD = kSixPairs + 8 * 64, kSixBlockBytes = kSixD + 64;

void pack_panel_q6_k(int64_t nb, const uint8_t* w, std::size_t w_stride, int rows, uint8_t* out) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03), m2_4 = _mm256_set1_epi8(0x30);
    for (int r = 0; r < kPanelRows; ++r) {
        const auto* row = reinterpret_cast<const BlockQ6_K*>(w + static_cast<std::size_t>(std::min(r, rows - 1)) * w_stride);
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ6_K& wb = row[b];
            uint8_t* blk = out + static_cast<std::size_t>(b) * kSixBlockBytes;
            for (int j = 0; j < 16; ++j) reinterpret_cast<int32_t*>(blk + kSixScales)[16 * j + r] = wb.scales[j];
            for (int i = 0; i < 8; ++i)
                reinterpret_cast<uint32_t*>(blk + kSixPairs)[16 * i + r] =
                    static_cast<uint16_t>(int16_t{wb.scales[2 * i]}) |
                    (static_cast<uint32_t>(static_cast<uint16_t>(int16_t{wb.scales[2 * i + 1]})) << 16);
            reinterpret_cast<float*>(blk + kSixD)[r] = f16(wb.d);
            for (int h = 0; h < 2; ++h) {
                // values 128h + 32k .. + 31 (k = 0..3), as in blocks.hpp unpack_q6_k
                const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.ql + 64 * h));
                const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.ql + 64 * h + 32));
                const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qh + 32 * h));
                alignas(32) uint32_t v[4][8];
                _mm256_store_si256(reinterpret_cast<__m256i*>(v[0]),
                                   _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4)));
                _mm256_store_si256(reinterpret_cast<__m256i*>(v[1]),
                                   _mm256_or_si256(_mm256_and_si256(q1, m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4)));
                _mm256_store_si256(reinterpret_cast<__m256i*>(v[2]),
                                   _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_and_si256(hb, m2_4)));
                _mm256_store_si256(reinterpret_cast<__m256i*>(v[3]),
                                   _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                                                   _mm256_and_si256(_mm256_srli_epi16(hb, 2), m2_4)));
                auto* dst = reinterpret_cast<uint32_t*>(blk) + 16 * (32 * h) + r;
                for (int k = 0; k < 4; ++k)
                    for (int i = 0; i < 8; ++i) dst[16 * (8 * k + i)] = v[k][i];
            }
        }
    }
}

template <int NT>
void panel_tile_q6_k(int64_t nb, const uint8_t* packed, const uint8_t* a, std::size_t a_stride, int rows, float* y,
                     int64_t ys) {
    const BlockQ8KA* ar[NT];
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) {
        ar[t] = reinterpret_cast<const BlockQ8KA*>(a + static_cast<std::size_t>(t) * a_stride);
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = packed + static_cast<std::size_t>(b) * kSixBlockBytes;
        __m512i S[NT];
        for (int t = 0; t < NT; ++t) S[t] = _mm512_setzero_si512();
        for (int j2 = 0; j2 < 8; ++j2) {  // sub-blocks 2 j2, 2 j2 + 1: values 32 j2 .. 32 j2 + 31
            __m512i wq[8];
            for (int i = 0; i < 8; ++i) wq[i] = _mm512_load_si512(blk + 64 * (8 * j2 + i));
            const __m512i sc0 = _mm512_load_si512(blk + kSixScales + 64 * (2 * j2));
            const __m512i sc1 = _mm512_load_si512(blk + kSixScales + 64 * (2 * j2 + 1));
            for (int t = 0; t < NT; ++t) {
                const int8_t* aq = ar[t][b].qs + 32 * j2;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[0], bcast4(aq));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[4], bcast4(aq + 16));
                for (int i = 1; i < 4; ++i) {
                    p0 = _mm512_dpbusd_epi32(p0, wq[i], bcast4(aq + 4 * i));
                    p1 = _mm512_dpbusd_epi32(p1, wq[4 + i], bcast4(aq + 16 + 4 * i));
                }
                S[t] = _mm512_add_epi32(S[t], _mm512_add_epi32(_mm512_mullo_epi32(p0, sc0), _mm512_mullo_epi32(p1, sc1)));
            }
        }
        const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(blk + kSixD));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8KA& ab = ar[t][b];
            // offset: 32 Σ_j sc_j bsums_j, bsums in int16 pairs broadcast per int32
            const __m512i bsz = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.bsums)));
            __m512i off = _mm512_setzero_si512();
            for (int i = 0; i < 8; ++i)
                off = _mm512_dpwssd_epi32(off, _mm512_load_si512(blk + kSixPairs + 64 * i),
                                          _mm512_permutexvar_epi32(_mm512_set1_epi32(i), bsz));
            const __m512i st = _mm512_sub_epi32(S[t], _mm512_slli_epi32(off, 5));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(st), _mm512_mul_ps(d, _mm512_set1_ps(ab.d)), acc[t]);
        }
    }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1u);
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ys, keep, acc[t]);
}

template <int... I>
constexpr TileFn kSixTiles[] = {panel_tile_q6_k<I + 1>...};

void panel_q6_k(int64_t nb, const void* w, std::size_t w_stride, int rows, const void* a, std::size_t a_stride, int64_t T,
                float* y, int64_t ys, uint8_t* scratch) {
    pack_panel_q6_k(nb, static_cast<const uint8_t*>(w), w_stride, rows, scratch);
    run_tiles(kSixTiles<0, 1, 2, 3, 4, 5, 6, 7>, nb, scratch, a, a_stride, T, rows, y, ys);
}

// Where the panels overtake the row kernels (measured, one 1024 x 1024 product on one core):
// 4 tokens for Q8_0 (33 vs 28 GMAC/s), 8 for the K-quants, whose repacking costs more.
constexpr PanelKernel kQ8_0{panel<DType::Q8_0>, kBlockBytes, 4};
constexpr PanelKernel kQ4_0{panel<DType::Q4_0>, kBlockBytes, 4};
constexpr PanelKernel kQ4_K{panel_k<BlockQ4_K, false>, kKBlockBytes, 8};
constexpr PanelKernel kQ5_K{panel_k<BlockQ5_K, true>, kKBlockBytes, 8};
constexpr PanelKernel kQ6_K{panel_q6_k, kSixBlockBytes, 8};

}  // namespace

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop  // GCC bug 105593, see the push above
#endif

namespace detail {
const PanelKernel* panel_kernel_avx512(DType weight) {
    switch (weight) {
        case DType::Q8_0: return &kQ8_0;
        case DType::Q4_0: return &kQ4_0;
        case DType::Q4_K: return &kQ4_K;
        case DType::Q5_K: return &kQ5_K;
        case DType::Q6_K: return &kQ6_K;
        default: return nullptr;
    }
}
}  // namespace detail
}  // namespace scout::cpu
