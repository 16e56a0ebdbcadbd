// Block layouts of the GGUF/ggml weight formats scout reads and writes.
// Each struct is exactly the on-disk byte layout (little-endian, no padding);
// the sizes are fixed by the format and static_asserted. Field order and the
// bit packing are documented per struct and in docs/gguf.md. fp16 scales are
// kept as raw IEEE binary16 bit patterns (scout::f16_to_f32 decodes them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace scout::quant {

inline constexpr int kQK = 32;    // elements per Q8_0 / Q4_0 block
inline constexpr int kQK_K = 256; // elements per K-quant super-block
inline constexpr int kKScaleBytes = 12;  // 8 six-bit scales + 8 six-bit mins, packed (Q4_K, Q5_K)

// Q8_0: x[i] = d * qs[i].  34 bytes per 32 elements (8.5 bits/weight).
struct BlockQ8_0 {
    uint16_t d;          // fp16 scale
    int8_t qs[kQK];      // signed quants, element i at qs[i]
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");

// Q4_0: x[i] = d * (q[i] - 8), q in [0, 15].  18 bytes per 32 elements.
// Element j (j < 16) is the low nibble of qs[j]; element j + 16 is its high nibble.
struct BlockQ4_0 {
    uint16_t d;          // fp16 scale
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");

// Q4_K: 256 elements in 8 sub-blocks of 32; sub-block s has a 6-bit scale sc[s]
// and 6-bit min m[s]:  x = (d * sc[s]) * q - (dmin * m[s]), q in [0, 15].
// scales[12] packs sc/m (see unpack_scale_min_k4). qs: 4 groups of 64 elements;
// group g uses qs[32g .. 32g+31]: low nibbles are sub-block 2g, high nibbles 2g+1.
// 144 bytes per 256 elements (4.5 bits/weight).
struct BlockQ4_K {
    uint16_t d;                       // fp16 super-block scale of the scales
    uint16_t dmin;                    // fp16 super-block scale of the mins
    uint8_t scales[kKScaleBytes];
    uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes");

// Q5_K: as Q4_K with a fifth bit per element: q = nibble + 16 * bit, q in [0, 31].
// The bit of element l (0..31) of sub-block s is bit s of qh[l].
// 176 bytes per 256 elements (5.5 bits/weight).
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qh[kQK_K / 8];
    uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block must be 176 bytes");

// Q6_K: 256 elements in 16 sub-blocks of 16 with int8 scales:
// x = d * scales[s] * (q - 32), q in [0, 63] (4 low bits in ql, 2 high bits in qh).
// Layout, per half h (128 elements; ql += 64h, qh += 32h, scales += 8h), for l in 0..31:
//   element l      : ql[l]      low nibble, qh[l] bits 0-1, scale index l/16
//   element l + 32 : ql[l + 32] low nibble, qh[l] bits 2-3, scale index l/16 + 2
//   element l + 64 : ql[l]      high nibble, qh[l] bits 4-5, scale index l/16 + 4
//   element l + 96 : ql[l + 32] high nibble, qh[l] bits 6-7, scale index l/16 + 6
// 210 bytes per 256 elements (6.5625 bits/weight).
struct BlockQ6_K {
    uint8_t ql[kQK_K / 2];
    uint8_t qh[kQK_K / 4];
    int8_t scales[kQK_K / 16];
    uint16_t d;                       // fp16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes");

// The signed values (-32..31) of elements l, l + 32, l + 64, l + 96 of one 128-element half
// (ql, qh already offset to that half; l in [0, 32)), as laid out above.
inline void unpack_q6_k(const uint8_t* ql, const uint8_t* qh, int l, int q[4]) {
    q[0] = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
    q[1] = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
    q[2] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
    q[3] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
}

// The 12-byte packing of Q4_K/Q5_K: sub-blocks 0-3 keep their 6 bits in the low
// bits of bytes 0-3 (scale) and 4-7 (min); sub-blocks 4-7 keep their low 4 bits
// in the nibbles of bytes 8-11 (scale low, min high) and their top 2 bits in the
// top 2 bits of bytes 0-3 (scale) and 4-7 (min).
inline void unpack_scale_min_k4(int s, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (s < 4) {
        sc = q[s] & 63;
        m = q[s + 4] & 63;
    } else {
        sc = static_cast<uint8_t>((q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4));
        m = static_cast<uint8_t>((q[s + 4] >> 4) | ((q[s] >> 6) << 4));
    }
}

// Inverse of unpack_scale_min_k4; sc and m are 6-bit values (0..63).
inline void pack_scales_mins_k4(const uint8_t sc[8], const uint8_t m[8], uint8_t out[kKScaleBytes]) {
    for (int s = 0; s < 4; ++s) {
        out[s] = static_cast<uint8_t>((sc[s] & 63) | ((sc[s + 4] >> 4) << 6));
        out[s + 4] = static_cast<uint8_t>((m[s] & 63) | ((m[s + 4] >> 4) << 6));
        out[s + 8] = static_cast<uint8_t>((sc[s + 4] & 0x0F) | ((m[s + 4] & 0x0F) << 4));
    }
}

}  // namespace scout::quant
