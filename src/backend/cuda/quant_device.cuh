// Device-side decoding of weight rows in their stored format, a "chunk" at a time, into
// registers. The values are bit-identical to quant::dequantize_row (same float32 products in the
// same order, never contracted into FMAs: __fmul_rn / __fsub_rn), so a GPU product differs from
// the CPU's only in summation order.
//
// A chunk is the unit one thread decodes: kChunk<DT> consecutive elements of a row.
//   F32 / F16 / BF16: 8 elements (one or two 16-byte loads when the row is 16-byte aligned)
//   Q8_0, Q4_0: one block of 32
//   Q4_K, Q5_K: one 32-element sub-block (8 per super-block); the nibble bytes of sub-blocks 2g
//               and 2g+1 are the same 32 bytes, read by neighbouring threads in one transaction
//   Q6_K: one 32-element quarter of a 128-element half (8 per super-block)
// Block layouts: src/quant/blocks.hpp, docs/gguf.md.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "base/dtype.hpp"

namespace scout::cuda {

template <DType DT>
inline constexpr int kChunk = (DT == DType::F32 || DT == DType::F16 || DT == DType::BF16) ? 8 : 32;

__device__ __forceinline__ float f16_bits_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf16_bits_to_f32(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }

// The 6-bit scale and min of sub-block s of a Q4_K/Q5_K super-block (quant::unpack_scale_min_k4).
__device__ __forceinline__ void scale_min_k4(int s, const uint8_t* q, int& sc, int& m) {
    if (s < 4) {
        sc = q[s] & 63;
        m = q[s + 4] & 63;
    } else {
        sc = (q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4);
        m = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
    }
}

// Decodes chunk c of a row of K elements (row: the row's first byte) into w[kChunk<DT>].
// Float types: elements at or beyond K are 0 (rows of any length); `aligned` says the row
// start is 16-byte aligned and K a multiple of the vector width, so vector loads are legal.
// Block types: K is a multiple of the block size (checked on the host).
template <DType DT>
__device__ __forceinline__ void decode_chunk(const uint8_t* __restrict__ row, int64_t c, int64_t K, bool aligned,
                                             float* w) {
    if constexpr (DT == DType::F32) {
        const float* p = reinterpret_cast<const float*>(row) + c * 8;
        if (aligned && c * 8 + 8 <= K) {
            const float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
            w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
        } else {
            for (int i = 0; i < 8; ++i) w[i] = c * 8 + i < K ? p[i] : 0.0f;
        }
    } else if constexpr (DT == DType::F16 || DT == DType::BF16) {
        const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c * 8;
        uint16_t h[8];
        if (aligned && c * 8 + 8 <= K) {
            const uint4 v = *reinterpret_cast<const uint4*>(p);
            const uint32_t u[4] = {v.x, v.y, v.z, v.w};
            for (int i = 0; i < 4; ++i) {
                h[2 * i] = static_cast<uint16_t>(u[i] & 0xFFFF);
                h[2 * i + 1] = static_cast<uint16_t>(u[i] >> 16);
            }
        } else {
            for (int i = 0; i < 8; ++i) h[i] = c * 8 + i < K ? p[i] : uint16_t{0};
        }
        for (int i = 0; i < 8; ++i) w[i] = DT == DType::F16 ? f16_bits_to_f32(h[i]) : bf16_bits_to_f32(h[i]);
    } else if constexpr (DT == DType::Q8_0) {
        const uint8_t* b = row + c * 34;  // 2-byte aligned: fp16 d, then 32 int8
        const float d = f16_bits_to_f32(load_u16(b));
        for (int i = 0; i < 16; ++i) {
            const uint16_t v = load_u16(b + 2 + 2 * i);
            w[2 * i] = __fmul_rn(static_cast<float>(static_cast<int8_t>(v & 0xFF)), d);
            w[2 * i + 1] = __fmul_rn(static_cast<float>(static_cast<int8_t>(v >> 8)), d);
        }
    } else if constexpr (DT == DType::Q4_0) {
        const uint8_t* b = row + c * 18;  // fp16 d, 16 bytes: element j low nibble of qs[j], j+16 high
        const float d = f16_bits_to_f32(load_u16(b));
        for (int i = 0; i < 8; ++i) {
            const uint16_t v = load_u16(b + 2 + 2 * i);
            const int q0 = v & 0xFF, q1 = v >> 8;
            w[2 * i] = __fmul_rn(static_cast<float>((q0 & 0x0F) - 8), d);
            w[2 * i + 1] = __fmul_rn(static_cast<float>((q1 & 0x0F) - 8), d);
            w[2 * i + 16] = __fmul_rn(static_cast<float>((q0 >> 4) - 8), d);
            w[2 * i + 17] = __fmul_rn(static_cast<float>((q1 >> 4) - 8), d);
        }
    } else if constexpr (DT == DType::Q4_K || DT == DType::Q5_K) {
        constexpr int kBytes = DT == DType::Q4_K ? 144 : 176;
        constexpr int kQs = DT == DType::Q4_K ? 16 : 48;  // offset of qs in the block (16-byte aligned)
        const uint8_t* b = row + (c >> 3) * kBytes;
        const int s = static_cast<int>(c & 7);
        const uint32_t dd = *reinterpret_cast<const uint32_t*>(b);  // d | dmin << 16
        const float d = f16_bits_to_f32(static_cast<uint16_t>(dd & 0xFFFF));
        const float dmin = f16_bits_to_f32(static_cast<uint16_t>(dd >> 16));
        uint8_t sc8[12];
        {
            const uint32_t* s32 = reinterpret_cast<const uint32_t*>(b + 4);
            for (int i = 0; i < 3; ++i) {
                const uint32_t v = s32[i];
                sc8[4 * i] = v & 0xFF, sc8[4 * i + 1] = (v >> 8) & 0xFF, sc8[4 * i + 2] = (v >> 16) & 0xFF,
                sc8[4 * i + 3] = v >> 24;
            }
        }
        int sc, m;
        scale_min_k4(s, sc8, sc, m);
        const float d1 = __fmul_rn(d, static_cast<float>(sc)), m1 = __fmul_rn(dmin, static_cast<float>(m));
        const uint4* q4 = reinterpret_cast<const uint4*>(b + kQs + 32 * (s >> 1));
        const uint4 qa = q4[0], qb = q4[1];
        const uint32_t q[8] = {qa.x, qa.y, qa.z, qa.w, qb.x, qb.y, qb.z, qb.w};
        const int shift = (s & 1) * 4;
        uint32_t h[8] = {};
        if constexpr (DT == DType::Q5_K) {  // bit s of qh[l] is the fifth bit of element l
            const uint4* h4 = reinterpret_cast<const uint4*>(b + 16);
            const uint4 ha = h4[0], hb = h4[1];
            const uint32_t hv[8] = {ha.x, ha.y, ha.z, ha.w, hb.x, hb.y, hb.z, hb.w};
            for (int i = 0; i < 8; ++i) h[i] = hv[i];
        }
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 4; ++j) {
                int v = (q[i] >> (8 * j + shift)) & 0x0F;
                if constexpr (DT == DType::Q5_K) v += ((h[i] >> (8 * j + s)) & 1) ? 16 : 0;
                w[4 * i + j] = __fsub_rn(__fmul_rn(d1, static_cast<float>(v)), m1);
            }
    } else if constexpr (DT == DType::Q6_K) {
        const uint8_t* b = row + (c >> 3) * 210;  // ql[128], qh[64], scales[16], d
        const int j = static_cast<int>(c & 7), half = j >> 2, qd = j & 3;
        const uint8_t* ql = b + 64 * half + 32 * (qd & 1);
        const uint8_t* qh = b + 128 + 32 * half;
        const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192) + 8 * half + 2 * qd;
        const float d = f16_bits_to_f32(load_u16(b + 208));
        const float ds0 = __fmul_rn(d, static_cast<float>(scales[0])), ds1 = __fmul_rn(d, static_cast<float>(scales[1]));
        const int lshift = (qd >> 1) * 4, hshift = 2 * qd;
        for (int i = 0; i < 16; ++i) {
            const uint16_t l2 = load_u16(ql + 2 * i), h2 = load_u16(qh + 2 * i);
            for (int k = 0; k < 2; ++k) {
                const int l = 2 * i + k;
                const int lo = ((k ? l2 >> 8 : l2) >> lshift) & 0x0F;
                const int hi = ((k ? h2 >> 8 : h2) >> hshift) & 3;
                const int q = (lo | (hi << 4)) - 32;
                w[l] = __fmul_rn(l < 16 ? ds0 : ds1, static_cast<float>(q));
            }
        }
    }
}

}  // namespace scout::cuda
