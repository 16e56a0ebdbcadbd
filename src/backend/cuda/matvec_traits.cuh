// Per-format decoding of the decode mat-vec (matvec_kernel.cuh): which raw bytes a lane loads in
// a warp step, and how it turns them into weights, bit-identical to quant::dequantize_row.
// Plain CUDA C++ with no kernel: tests/cuda/test_matvec_decode.cpp compiles it on the host with
// emulated intrinsics and checks every lane's weights and activation offsets without a GPU.
#pragma once

#include <cstdint>

#include "backend/cuda/quant_device.cuh"

namespace scout::cuda::mv {

// ---- weight loads --------------------------------------------------------------------------
// Weight bytes are read once per product: loaded without allocating in L1
// (ld.global.nc.L1::no_allocate), so that L1 keeps the activations every warp of the SM reads
// (with allocating loads the streamed weights evicted them, and the activations came from L2:
// measured on an H200, 1.2 TB/s of weights at one row, 240 GB/s at eight). The host emulation
// (tests/cuda/test_matvec_decode.cpp) reads through its __ldg.
__device__ __forceinline__ uint4 ldw(const uint4* p) {
#if defined(__CUDA_ARCH__)
    uint4 r;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(p));
    return r;
#else
    return __ldg(p);
#endif
}
__device__ __forceinline__ uint32_t ldw(const uint32_t* p) {
#if defined(__CUDA_ARCH__)
    uint32_t r;
    asm("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(r) : "l"(p));
    return r;
#else
    return __ldg(p);
#endif
}
__device__ __forceinline__ uint32_t ldw_u16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    unsigned short r;
    asm("ld.global.nc.L1::no_allocate.u16 %0, [%1];" : "=h"(r) : "l"(p));
    return r;
#else
    return __ldg(reinterpret_cast<const unsigned short*>(p));
#endif
}

// ---- bit helpers ---------------------------------------------------------------------------

// Byte j of word as a float, exactly: (2^23 + byte) - 2^23.
__device__ __forceinline__ float u8f(uint32_t word, int j) {
    return __fsub_rn(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440u | static_cast<unsigned>(j))), 8388608.0f);
}
// (2^23 + byte j of word) as a float (the caller subtracts its own offset).
__device__ __forceinline__ float u8_biased(uint32_t word, int j) {
    return __uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440u | static_cast<unsigned>(j)));
}

// 8 bytes at a 2-byte aligned address as 3 words w[0..2] (aligned loads only; the third word is
// loaded, as 16 bits, only when the address is 2 mod 4, so nothing past the 8 bytes is read).
// realign() turns them into the 8 bytes.
struct Words3 {
    uint32_t w0, w1, w2;
};
__device__ __forceinline__ Words3 load8_a2(const uint8_t* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto* base = reinterpret_cast<const uint32_t*>(a & ~std::uintptr_t{3});
    Words3 r;
    r.w0 = ldw(base);
    r.w1 = ldw(base + 1);
    r.w2 = (a & 2) ? ldw_u16(p + 6) : 0u;
    return r;
}
// sh = 0 (aligned) or 16 (2 mod 4).
__device__ __forceinline__ uint2 realign(const Words3& r, unsigned sh) {
    return make_uint2(__funnelshift_r(r.w0, r.w1, sh), __funnelshift_r(r.w1, r.w2, sh));
}
__device__ __forceinline__ unsigned misalign_shift(const uint8_t* p) {
    return static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(p) & 2) * 8u;
}

// ---- per-format traits ------------------------------------------------------------------------
// kStep: elements of a row per warp step; kPieces: 8-element pieces per lane per step.
// load(row, step, lane): the lane's raw bytes of the step; prepare(): scales;
// piece(q): 8 decoded weights; x_off(step, lane, q): offset of the piece's 8 activations.

template <DType DT>
struct Traits;

template <>
struct Traits<DType::Q4_K> {
    static constexpr int kStep = 1024, kPieces = 4;
    struct Raw {
        uint4 head, qs;
    };
    struct Dec {
        float d1a, m1a, d1b, m1b;
    };
    __device__ static int64_t n_steps(int64_t K) { return (K / 256 + 3) / 4; }
    __device__ static bool active(int64_t K, int64_t step, int lane) { return step * 4 + (lane >> 3) < K / 256; }
    __device__ static const uint8_t* block(const uint8_t* row, int64_t step, int lane) {
        return row + (step * 4 + (lane >> 3)) * 144;
    }
    __device__ static Raw load(const uint8_t* row, int64_t step, int lane) {
        const uint8_t* b = block(row, step, lane);
        return {ldw(reinterpret_cast<const uint4*>(b)), ldw(reinterpret_cast<const uint4*>(b + 16 + 16 * (lane & 7)))};
    }
    // Lane p = lane & 7 holds qs bytes 16p..16p+15: pair j = p / 2 (sub-blocks 2j and 2j+1),
    // elements 16(p & 1) + 0..15 of each.
    __device__ static Dec prepare(const Raw& r, const uint8_t*, int64_t, int lane) {
        const int j = (lane & 7) >> 1;
        const float d = f16_bits_to_f32(static_cast<uint16_t>(r.head.x & 0xFFFFu));
        const float dmin = f16_bits_to_f32(static_cast<uint16_t>(r.head.x >> 16));
        // quant::unpack_scale_min_k4 for sub-blocks 2j, 2j+1 (bytes i, i+1 of each scale word, i = 2(j & 1)).
        const unsigned sh = 16u * static_cast<unsigned>(j & 1);
        const uint32_t a = r.head.y >> sh, b = r.head.z >> sh, c = r.head.w >> sh;
        const bool hi = j >= 2;
        const uint32_t sc2 = hi ? ((c & 0x0F0Fu) | ((a >> 2) & 0x3030u)) : (a & 0x3F3Fu);
        const uint32_t m2 = hi ? (((c >> 4) & 0x0F0Fu) | ((b >> 2) & 0x3030u)) : (b & 0x3F3Fu);
        return {__fmul_rn(d, u8f(sc2, 0)), __fmul_rn(dmin, u8f(m2, 0)), __fmul_rn(d, u8f(sc2, 1)),
                __fmul_rn(dmin, u8f(m2, 1))};
    }
    // q 0/1: low nibbles (sub-block 2j) of bytes 0..7 / 8..15; q 2/3: high nibbles (sub-block 2j+1).
    __device__ static void piece(const Raw& r, const Dec& d, int q, float* w) {
        const uint32_t a = (q & 1) ? r.qs.z : r.qs.x, b = (q & 1) ? r.qs.w : r.qs.y;
        const uint32_t v0 = (q < 2 ? a : a >> 4) & 0x0F0F0F0Fu, v1 = (q < 2 ? b : b >> 4) & 0x0F0F0F0Fu;
        const float d1 = q < 2 ? d.d1a : d.d1b, nm1 = -(q < 2 ? d.m1a : d.m1b);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            w[e] = fmaf(d1, u8f(v0, e), nm1);
            w[4 + e] = fmaf(d1, u8f(v1, e), nm1);
        }
    }
    __device__ static int64_t x_off(int64_t step, int lane, int q) {
        const int p = lane & 7;
        return (step * 4 + (lane >> 3)) * 256 + 64 * (p >> 1) + 16 * (p & 1) + 8 * (q & 1) + 32 * (q >> 1);
    }
};

template <>
struct Traits<DType::Q6_K> {
    static constexpr int kStep = 1024, kPieces = 4;
    // Lane: super-block step*4 + lane/8, half hh = (lane/4) & 1, l = 8(lane & 3) .. +7 of that half,
    // all four quarters: ql bytes 64hh + l (quarters 0, 2), 64hh + 32 + l (quarters 1, 3), qh bytes
    // 32hh + l, scales 8hh .. 8hh+7, d. Super-blocks are 210 bytes: only 2-byte aligned.
    struct Raw {
        Words3 qa, qb, qh, sc;
        uint32_t d;
    };
    struct Dec {
        float ds[4];
        uint2 qa, qb, qh;
    };
    __device__ static int64_t n_steps(int64_t K) { return (K / 256 + 3) / 4; }
    __device__ static bool active(int64_t K, int64_t step, int lane) { return step * 4 + (lane >> 3) < K / 256; }
    __device__ static const uint8_t* block(const uint8_t* row, int64_t step, int lane) {
        return row + (step * 4 + (lane >> 3)) * 210;
    }
    __device__ static Raw load(const uint8_t* row, int64_t step, int lane) {
        const uint8_t* b = block(row, step, lane);
        const int hh = (lane >> 2) & 1, l = 8 * (lane & 3);
        Raw r;
        r.qa = load8_a2(b + 64 * hh + l);
        r.qb = load8_a2(b + 64 * hh + 32 + l);
        r.qh = load8_a2(b + 128 + 32 * hh + l);
        r.sc = load8_a2(b + 192 + 8 * hh);
        r.d = ldw_u16(b + 208);
        return r;
    }
    __device__ static Dec prepare(const Raw& r, const uint8_t* row, int64_t step, int lane) {
        const unsigned sh = misalign_shift(block(row, step, lane));  // every field has the block's parity
        Dec o;
        o.qa = realign(r.qa, sh);
        o.qb = realign(r.qb, sh);
        o.qh = realign(r.qh, sh);
        const uint2 sc = realign(r.sc, sh);
        // scale of quarter q for this lane: sc[8hh + 2q + (l >= 16)]
        const unsigned s8 = 8u * static_cast<unsigned>((lane & 3) >> 1);
        const uint32_t lo = sc.x >> s8, hi = sc.y >> s8;
        const float d = f16_bits_to_f32(static_cast<uint16_t>(r.d));
        o.ds[0] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>(lo & 0xFFu)));
        o.ds[1] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>((lo >> 16) & 0xFFu)));
        o.ds[2] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>(hi & 0xFFu)));
        o.ds[3] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>((hi >> 16) & 0xFFu)));
        return o;
    }
    __device__ static uint32_t quant6(uint32_t l, uint32_t h, int q) {
        const uint32_t lo = (q < 2 ? l : l >> 4) & 0x0F0F0F0Fu;
        const uint32_t hi = (q == 0 ? h << 4 : q == 1 ? h << 2 : q == 2 ? h : h >> 2) & 0x30303030u;
        return lo | hi;
    }
    __device__ static void piece(const Raw&, const Dec& d, int q, float* w) {
        const uint2 l = (q & 1) ? d.qb : d.qa;
        const uint32_t v0 = quant6(l.x, d.qh.x, q), v1 = quant6(l.y, d.qh.y, q);
        const float ds = d.ds[q];
#pragma unroll
        for (int e = 0; e < 4; ++e) {  // q - 32, exactly: (2^23 + q) - (2^23 + 32)
            w[e] = __fmul_rn(ds, __fsub_rn(u8_biased(v0, e), 8388640.0f));
            w[4 + e] = __fmul_rn(ds, __fsub_rn(u8_biased(v1, e), 8388640.0f));
        }
    }
    __device__ static int64_t x_off(int64_t step, int lane, int q) {
        return (step * 4 + (lane >> 3)) * 256 + 128 * ((lane >> 2) & 1) + 32 * q + 8 * (lane & 3);
    }
};

template <>
struct Traits<DType::Q8_0> {
    static constexpr int kStep = 256, kPieces = 1;
    // Lane: block step*8 + lane/4 (34 bytes: fp16 d, 32 int8), quants 8(lane & 3) .. +7.
    struct Raw {
        Words3 q;
        uint32_t d;
    };
    struct Dec {
        float d;
        uint2 q;
    };
    __device__ static int64_t n_steps(int64_t K) { return (K / 32 + 7) / 8; }
    __device__ static bool active(int64_t K, int64_t step, int lane) { return step * 8 + (lane >> 2) < K / 32; }
    __device__ static const uint8_t* quants(const uint8_t* row, int64_t step, int lane) {
        return row + (step * 8 + (lane >> 2)) * 34 + 2 + 8 * (lane & 3);
    }
    __device__ static Raw load(const uint8_t* row, int64_t step, int lane) {
        const uint8_t* p = quants(row, step, lane);
        return {load8_a2(p), ldw_u16(p - 2 - 8 * (lane & 3))};
    }
    __device__ static Dec prepare(const Raw& r, const uint8_t* row, int64_t step, int lane) {
        return {f16_bits_to_f32(static_cast<uint16_t>(r.d)), realign(r.q, misalign_shift(quants(row, step, lane)))};
    }
    __device__ static void piece(const Raw&, const Dec& d, int, float* w) {
        const uint32_t v0 = d.q.x ^ 0x80808080u, v1 = d.q.y ^ 0x80808080u;  // int8 + 128
#pragma unroll
        for (int e = 0; e < 4; ++e) {  // (2^23 + q + 128) - (2^23 + 128) = q exactly
            w[e] = __fmul_rn(__fsub_rn(u8_biased(v0, e), 8388736.0f), d.d);
            w[4 + e] = __fmul_rn(__fsub_rn(u8_biased(v1, e), 8388736.0f), d.d);
        }
    }
    __device__ static int64_t x_off(int64_t step, int lane, int) { return step * 256 + 8 * lane; }
};

}  // namespace scout::cuda::mv
