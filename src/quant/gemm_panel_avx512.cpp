// AVX-512 VNNI row-panel kernels (gemm_panel.hpp), compiled with the AVX-512 target flags
// (CMakeLists.txt); handed out only when the processor has them.
//
// Repacked panel, per weight block b (kBlockBytes of scratch):
//   8 vectors k4 = 0..7: bytes 4r..4r+3 = unsigned quants 4k4..4k4+3 of row r (r < 16)
//   16 floats: d of each row's block
// Q8_0 quants are stored + 128 and Q4_0 quants as their nibbles (value + 8), both unsigned, as
// vpdpbusd's first factor must be; the offset comes back out exactly through the activation
// block's integer sum:  Σ (q + c) a = Σ q a + c Σ a.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/gemm_panel.hpp"
#include "quant/q8_activations.hpp"

namespace scout::quant {
namespace {

constexpr std::size_t kBlockBytes = 8 * 64 + 64;
constexpr int kTileTokens = 8;

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

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

// Rows are read one after the other (one memory stream at a time, which the prefetcher follows;
// decode reads each weight once); rows past `rows` repeat the last row and are never stored.
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
            int32_t aq[8];
            std::memcpy(aq, ab.qs, sizeof(aq));
            // two chains of four: integer sums, so the split changes nothing
            __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[0], _mm512_set1_epi32(aq[0]));
            __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[1], _mm512_set1_epi32(aq[1]));
            for (int k4 = 2; k4 < 8; k4 += 2) {
                p0 = _mm512_dpbusd_epi32(p0, wq[k4], _mm512_set1_epi32(aq[k4]));
                p1 = _mm512_dpbusd_epi32(p1, wq[k4 + 1], _mm512_set1_epi32(aq[k4 + 1]));
            }
            const __m512i s = _mm512_sub_epi32(_mm512_add_epi32(p0, p1), _mm512_set1_epi32(C * ab.sum));
            acc[t][b % 2] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(ab.d)), acc[t][b % 2]);
        }
    }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1u);
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ys, keep, _mm512_add_ps(acc[t][0], acc[t][1]));
}

template <int C, int... I>
struct TileTable {
    static constexpr void (*fn[])(int64_t, const uint8_t*, const uint8_t*, std::size_t, int, float*, int64_t) = {
        panel_tile<C, I + 1>...};
};

template <DType D>
void panel(int64_t nb, const void* w, std::size_t w_stride, int rows, const void* a, std::size_t a_stride, int64_t T,
           float* y, int64_t ys, uint8_t* scratch) {
    constexpr int C = D == DType::Q8_0 ? 128 : 8;
    pack_panel<D>(nb, static_cast<const uint8_t*>(w), w_stride, rows, scratch);
    const auto* ab = static_cast<const uint8_t*>(a);
    for (int64_t t = 0; t < T; t += kTileTokens) {
        const int nt = static_cast<int>(std::min<int64_t>(kTileTokens, T - t));
        TileTable<C, 0, 1, 2, 3, 4, 5, 6, 7>::fn[nt - 1](nb, scratch, ab + static_cast<std::size_t>(t) * a_stride,
                                                        a_stride, rows, y + t * ys, ys);
    }
}

constexpr int64_t kMinTokens = 4;
constexpr PanelKernel kQ8_0{panel<DType::Q8_0>, kBlockBytes, kMinTokens};
constexpr PanelKernel kQ4_0{panel<DType::Q4_0>, kBlockBytes, kMinTokens};

}  // namespace

namespace detail {
const PanelKernel* panel_kernel_avx512(DType weight) {
    switch (weight) {
        case DType::Q8_0: return &kQ8_0;
        case DType::Q4_0: return &kQ4_0;
        default: return nullptr;
    }
}
}  // namespace detail
}  // namespace scout::quant
