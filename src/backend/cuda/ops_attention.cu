// KV writes and attention over the paged device KV memory (ops.hpp: kv_write, attention).
// Encoders reproduce kv::kv_encode_row bit for bit; the attention kernel is a warp per
// (query row, q head) walking its visible keys in tiles of 32 (one key per lane for the scores,
// one head dimension per lane for P·V) with an online softmax in float32. Split over the keys
// (decode, few rows: flash-decoding), each of n_splits warps per (row, head) walks one stretch of
// the keys and leaves its unnormalised output with its running max and sum; a second kernel
// merges the stretches (o = Σ o_s·e^(m_s−M) / Σ l_s·e^(m_s−M)).
#include <cuda_bf16.h>
#include <mma.h>

#include <cmath>

#include <algorithm>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/ops.hpp"
#include "backend/cuda/quant_device.cuh"

namespace scout::cuda {

namespace {

constexpr int kMaxHeadDim = 256;      // o[] registers per lane: kMaxHeadDim / 32
constexpr int kHeadsPerBlock = 4;     // warps per attention block (q heads, usually of one kv head)

struct KvArgs {
    void* const* const* tables;
    const int32_t* caps;
    int64_t n_kv_heads, head_dim, page_slots, chunk_size;
    std::size_t head_bytes;  // kv_row_bytes(type, head_dim)
    bool chunked;
    int il;
};

KvArgs kv_args(const KvView& kv) {
    return {kv.tables, kv.caps, kv.n_kv_heads, kv.head_dim, kv.page_slots, kv.chunk_size,
            static_cast<std::size_t>(kv::kv_row_bytes(kv.type, kv.head_dim)), kv.chunked, kv.il};
}

// First byte of (sequence seq, kind 0 = K / 1 = V, position pos, kv head g).
__device__ __forceinline__ uint8_t* kv_head_row(const KvArgs& a, int seq, int kind, int64_t pos, int64_t g) {
    const int64_t slot = a.chunked ? pos % a.chunk_size : pos;
    const int64_t page = slot / a.page_slots, off = slot % a.page_slots;
    void* const* table = a.tables[seq];
    auto* base = static_cast<uint8_t*>(table[static_cast<int64_t>(a.il * 2 + kind) * a.caps[seq] + page]);
    return base + static_cast<std::size_t>(off * a.n_kv_heads + g) * a.head_bytes;
}

template <kv::KvType KT>
__device__ __forceinline__ float load_kv(const uint8_t* row, int64_t c) {
    if constexpr (KT == kv::KvType::F32) return reinterpret_cast<const float*>(row)[c];
    else if constexpr (KT == kv::KvType::F16) return f16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
    else if constexpr (KT == kv::KvType::BF16) return bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
    else {
        const uint8_t* b = row + (c >> 5) * 34;
        return __fmul_rn(static_cast<float>(static_cast<int8_t>(b[2 + (c & 31)])), f16_bits_to_f32(load_u16(b)));
    }
}

// grid (n_rows, 2: K then V); each block encodes one row's Hkv·d values.
template <kv::KvType KT>
__global__ void kv_write_kernel(const float* k, const float* v, const int32_t* rows, const int32_t* positions,
                                const int32_t* row_seq, KvArgs a) {
    const int row = rows ? rows[blockIdx.x] : static_cast<int>(blockIdx.x);
    const int kind = static_cast<int>(blockIdx.y);
    const int64_t width = a.n_kv_heads * a.head_dim;
    const float* src = (kind == 0 ? k : v) + row * width;
    const int64_t pos = positions[row];
    const int seq = row_seq[row];
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) {  // q8_0: width % 32 == 0, so warp-uniform
        const int64_t g = i / a.head_dim, c = i % a.head_dim;
        uint8_t* dst = kv_head_row(a, seq, kind, pos, g);
        const float x = src[i];
        if constexpr (KT == kv::KvType::F32) {
            reinterpret_cast<float*>(dst)[c] = x;
        } else if constexpr (KT == kv::KvType::F16) {
            // Clamped as kv_encode_row does: beyond f16's range would be inf and poison attention.
            reinterpret_cast<__half*>(dst)[c] = __float2half_rn(fminf(fmaxf(x, -65504.0f), 65504.0f));
        } else if constexpr (KT == kv::KvType::BF16) {
            reinterpret_cast<__nv_bfloat16*>(dst)[c] = __float2bfloat16_rn(x);
        } else {
            // ggml's Q8_0 reference: d = amax / 127, q = round-half-away(x · (1/d)), d stored as f16.
            float amax = fabsf(x);
            for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
            const float d = __fdiv_rn(amax, 127.0f);
            const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
            uint8_t* b = dst + (c >> 5) * 34;
            if ((c & 31) == 0) *reinterpret_cast<__half*>(b) = __float2half_rn(d);
            b[2 + (c & 31)] = static_cast<uint8_t>(static_cast<int8_t>(roundf(__fmul_rn(x, id))));
        }
    }
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

struct AttnArgs {
    const float* q;
    float* out;
    const int32_t* rows;
    const int32_t* positions;
    const int32_t* row_seq;
    int64_t n_heads;
    float scale;
    int n_splits;  // > 1: blockIdx.z picks the stretch of keys; results to part
    float* part;   // [n_rows, n_heads, n_splits, head_dim + 2]: o (unnormalised), m, l
};

template <kv::KvType KT>
__global__ void __launch_bounds__(kHeadsPerBlock * 32) attention_kernel(AttnArgs p, KvArgs a) {
    __shared__ float qs[kHeadsPerBlock][kMaxHeadDim];
    const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
    const int64_t h = static_cast<int64_t>(blockIdx.y) * kHeadsPerBlock + warp;
    if (h >= p.n_heads) return;  // whole warp; no block-wide barrier below
    const int row = p.rows ? p.rows[blockIdx.x] : static_cast<int>(blockIdx.x);
    const int64_t pos = p.positions[row];
    const int seq = p.row_seq[row];
    const int64_t d = a.head_dim, g = h / (p.n_heads / a.n_kv_heads);
    const float* qrow = p.q + (static_cast<int64_t>(row) * p.n_heads + h) * d;
    for (int64_t c = lane; c < d; c += 32) qs[warp][c] = qrow[c];
    __syncwarp();

    int64_t lo = a.chunked ? pos / a.chunk_size * a.chunk_size : 0;  // kv::first_visible_key
    int64_t hi = pos;
    if (p.n_splits > 1) {  // this warp's stretch: whole tiles of 32, the last ones maybe empty
        const int64_t n = pos - lo + 1;
        const int64_t span = ((n + p.n_splits - 1) / p.n_splits + 31) / 32 * 32;
        lo += static_cast<int64_t>(blockIdx.z) * span;
        hi = lo + span - 1 < pos ? lo + span - 1 : pos;
    }
    float m = -INFINITY, l = 0.0f;
    float o[kMaxHeadDim / 32];
#pragma unroll
    for (int j = 0; j < kMaxHeadDim / 32; ++j) o[j] = 0.0f;
    for (int64_t t0 = lo; t0 <= hi; t0 += 32) {
        // Scores: lane u takes key t0 + u.
        const int64_t t = t0 + lane;
        const bool valid = t <= hi;
        float s = -INFINITY;
        if (valid) {
            const uint8_t* kr = kv_head_row(a, seq, 0, t, g);
            float acc = 0.0f;
            if constexpr (KT == kv::KvType::F16 || KT == kv::KvType::BF16) {
                if (d % 8 == 0 && (reinterpret_cast<std::uintptr_t>(kr) & 15) == 0) {  // 16-byte loads, same order
                    for (int64_t c = 0; c < d; c += 8) {
                        const uint4 v = *reinterpret_cast<const uint4*>(kr + 2 * c);
                        const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
                        for (int i = 0; i < 4; ++i) {
                            const auto lo = static_cast<uint16_t>(u[i] & 0xFFFFu), hi = static_cast<uint16_t>(u[i] >> 16);
                            const float k0 = KT == kv::KvType::F16 ? f16_bits_to_f32(lo) : bf16_bits_to_f32(lo);
                            const float k1 = KT == kv::KvType::F16 ? f16_bits_to_f32(hi) : bf16_bits_to_f32(hi);
                            acc = fmaf(qs[warp][c + 2 * i], k0, acc);
                            acc = fmaf(qs[warp][c + 2 * i + 1], k1, acc);
                        }
                    }
                } else {
                    for (int64_t c = 0; c < d; ++c) acc = fmaf(qs[warp][c], load_kv<KT>(kr, c), acc);
                }
            } else if constexpr (KT == kv::KvType::F32) {
                if (d % 4 == 0 && (reinterpret_cast<std::uintptr_t>(kr) & 15) == 0) {
                    for (int64_t c = 0; c < d; c += 4) {
                        const float4 v = *reinterpret_cast<const float4*>(kr + 4 * c);
                        acc = fmaf(qs[warp][c], v.x, acc);
                        acc = fmaf(qs[warp][c + 1], v.y, acc);
                        acc = fmaf(qs[warp][c + 2], v.z, acc);
                        acc = fmaf(qs[warp][c + 3], v.w, acc);
                    }
                } else {
                    for (int64_t c = 0; c < d; ++c) acc = fmaf(qs[warp][c], load_kv<KT>(kr, c), acc);
                }
            } else {
                for (int64_t c = 0; c < d; ++c) acc = fmaf(qs[warp][c], load_kv<KT>(kr, c), acc);
            }
            s = acc * p.scale;
        }
        const float m_new = fmaxf(m, warp_max(s));  // finite: key t0 is always visible
        const float alpha = expf(m - m_new);
        const float pr = valid ? expf(s - m_new) : 0.0f;
        l = l * alpha + warp_sum(pr);
#pragma unroll
        for (int j = 0; j < kMaxHeadDim / 32; ++j) o[j] *= alpha;
        // P·V: lane owns dimensions lane, lane + 32, ...
        // (Unrolled: each key's page-table and row loads are independent of the previous key's FMAs.)
        const int nk = static_cast<int>(hi - t0 + 1 < 32 ? hi - t0 + 1 : 32);
#pragma unroll 4
        for (int u = 0; u < nk; ++u) {
            const float pu = __shfl_sync(0xffffffffu, pr, u);
            const uint8_t* vr = kv_head_row(a, seq, 1, t0 + u, g);
#pragma unroll
            for (int j = 0; j < kMaxHeadDim / 32; ++j) {
                const int64_t c = lane + 32 * j;
                if (c < d) o[j] = fmaf(pu, load_kv<KT>(vr, c), o[j]);
            }
        }
        m = m_new;
    }
    if (p.n_splits > 1) {  // an empty stretch leaves m = -inf, l = 0: it weighs nothing in the merge
        float* part = p.part + ((static_cast<int64_t>(blockIdx.x) * p.n_heads + h) * p.n_splits + blockIdx.z) * (d + 2);
#pragma unroll
        for (int j = 0; j < kMaxHeadDim / 32; ++j) {
            const int64_t c = lane + 32 * j;
            if (c < d) part[c] = o[j];
        }
        if (lane == 0) part[d] = m, part[d + 1] = l;
        return;
    }
    float* orow = p.out + (static_cast<int64_t>(row) * p.n_heads + h) * d;
    const float inv_l = 1.0f / l;
#pragma unroll
    for (int j = 0; j < kMaxHeadDim / 32; ++j) {
        const int64_t c = lane + 32 * j;
        if (c < d) orow[c] = o[j] * inv_l;
    }
}

// grid (n_rows, n_heads): merges the n_splits stretches of one (row, head).
__global__ void attention_merge_kernel(AttnArgs p, int64_t d) {
    const int i = static_cast<int>(blockIdx.x);
    const int64_t h = blockIdx.y;
    const int row = p.rows ? p.rows[i] : i;
    const float* part = p.part + (static_cast<int64_t>(i) * p.n_heads + h) * p.n_splits * (d + 2);
    float M = -INFINITY;
    for (int s = 0; s < p.n_splits; ++s) M = fmaxf(M, part[s * (d + 2) + d]);  // finite: stretch 0 has key lo
    float L = 0.0f;
    for (int s = 0; s < p.n_splits; ++s) {
        const float ms = part[s * (d + 2) + d];
        if (ms != -INFINITY) L += part[s * (d + 2) + d + 1] * expf(ms - M);
    }
    float* orow = p.out + (static_cast<int64_t>(row) * p.n_heads + h) * d;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < p.n_splits; ++s) {
            const float ms = part[s * (d + 2) + d];
            if (ms != -INFINITY) acc += part[s * (d + 2) + c] * expf(ms - M);
        }
        orow[c] = acc / L;
    }
}

// ---- prompts on tensor cores (the fast mode) ----------------------------------------------------
// A warp per (tile of up to 16 query rows of one sequence, consecutive positions, one chunk; q head):
// per tile of 32 keys it decodes K and V to bf16 in shared memory, computes S = Q·Kᵀ with WMMA
// (bf16 in, float32 out), runs the online softmax on its 16 rows (lane r < 16 owns row r), and adds
// P·V (P rounded to bf16) to the float32 output rows kept in shared memory.
constexpr int kTcRows = 16, kTcKeys = 32, kTcMaxDim = 128;
constexpr int kTcLdQ = kTcMaxDim + 8;  // bf16 row strides (multiples of 8)
constexpr int kTcLdP = kTcKeys + 8;
constexpr int kTcLdS = kTcKeys + 4;    // float row strides (multiples of 4)
constexpr int kTcLdO = kTcMaxDim + 4;

struct TcAttnSmem {
    __nv_bfloat16 q[kTcRows * kTcLdQ];
    __nv_bfloat16 k[kTcKeys * kTcLdQ];
    __nv_bfloat16 v[kTcKeys * kTcLdQ];
    __nv_bfloat16 p[kTcRows * kTcLdP];
    float s[kTcRows * kTcLdS];
    float o[kTcRows * kTcLdO];
    float tmp[kTcRows * kTcLdO];
    float alpha[kTcRows];
};

// out [16, 16] (float, row-major, ld ldo) = Σ over `steps` of A_s · B_s on one warp, bf16 in,
// float32 accumulation: A_s the row-major 16 x 16 tile at a + 16·s (ld lda), B_s the tile of
// layout LB at b + s·b_step (ld ldb).
template <class LB>
__device__ __forceinline__ void warp_mma_16(const __nv_bfloat16* a, int lda, const __nv_bfloat16* b, int ldb, int b_step,
                                            int steps, float* out, int ldo) {
    namespace wmma = nvcuda::wmma;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int s = 0; s < steps; ++s) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, LB> fb;
        wmma::load_matrix_sync(fa, a + s * 16, lda);
        wmma::load_matrix_sync(fb, b + s * b_step, ldb);
        wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(out, acc, ldo, wmma::mem_row_major);
}

template <kv::KvType KT>
__global__ void __launch_bounds__(32) attention_tc_kernel(AttnArgs p, KvArgs a, const AttnTile* tiles) {
    namespace wmma = nvcuda::wmma;
    __shared__ __align__(128) TcAttnSmem sm;
    const int lane = static_cast<int>(threadIdx.x);
    const AttnTile tile = tiles[blockIdx.x];
    const int64_t h = blockIdx.y, d = a.head_dim, g = h / (p.n_heads / a.n_kv_heads);
    const int64_t lo = a.chunked ? tile.pos0 / a.chunk_size * a.chunk_size : 0;  // the same for every row
    const int64_t hi = tile.pos0 + tile.count - 1;
    // Q rows (zero past count and past d, so the padded products add nothing).
    for (int i = lane; i < kTcRows * kTcMaxDim; i += 32) {
        const int r = i / kTcMaxDim, c = i % kTcMaxDim;
        const float x = r < tile.count && c < d ? p.q[(static_cast<int64_t>(tile.row0 + r) * p.n_heads + h) * d + c] : 0.0f;
        sm.q[r * kTcLdQ + c] = __float2bfloat16_rn(x);
    }
    for (int i = lane; i < kTcRows * kTcLdO; i += 32) sm.o[i] = 0.0f;
    float m = -INFINITY, l = 0.0f;  // lane r < 16: row r's running max and sum
    const int dk = static_cast<int>((d + 15) / 16);  // 16-wide steps of the head dimension
    for (int64_t t0 = lo; t0 <= hi; t0 += kTcKeys) {
        // K and V rows of keys t0 .. t0 + 31 (zero past hi), a key at a time, lanes along d.
        for (int u = 0; u < kTcKeys; ++u) {
            const int64_t t = t0 + u;
            const uint8_t* kr = t <= hi ? kv_head_row(a, tile.seq, 0, t, g) : nullptr;
            const uint8_t* vr = t <= hi ? kv_head_row(a, tile.seq, 1, t, g) : nullptr;
            for (int c = lane; c < kTcMaxDim; c += 32) {
                const bool in = kr != nullptr && c < d;
                sm.k[u * kTcLdQ + c] = __float2bfloat16_rn(in ? load_kv<KT>(kr, c) : 0.0f);
                sm.v[u * kTcLdQ + c] = __float2bfloat16_rn(in ? load_kv<KT>(vr, c) : 0.0f);
            }
        }
        __syncwarp();
        // S [16, 32] = Q · Kᵀ: Kᵀ's 16 x 16 tiles are the [key][d] rows read column-major.
        for (int n = 0; n < kTcKeys / 16; ++n)
            warp_mma_16<wmma::col_major>(sm.q, kTcLdQ, sm.k + n * 16 * kTcLdQ, kTcLdQ, 16, dk, sm.s + n * 16, kTcLdS);
        __syncwarp();
        // Online softmax, row r on lane r: keys past the row's position (or past hi) are masked.
        if (lane < kTcRows) {
            const int r = lane;
            const int64_t pos = tile.pos0 + r;
            float mx = m;
            for (int u = 0; u < kTcKeys; ++u)
                if (r < tile.count && t0 + u <= pos) mx = fmaxf(mx, sm.s[r * kTcLdS + u] * p.scale);
            // mx is finite for rows that exist: key lo is visible to every row of the tile.
            const float al = r < tile.count ? expf(m - mx) : 1.0f;
            float sum = 0.0f;
            for (int u = 0; u < kTcKeys; ++u) {
                const bool vis = r < tile.count && t0 + u <= pos;
                const float pr = vis ? expf(sm.s[r * kTcLdS + u] * p.scale - mx) : 0.0f;
                sum += pr;
                sm.p[r * kTcLdP + u] = __float2bfloat16_rn(pr);
            }
            l = l * al + sum;
            m = r < tile.count ? mx : m;
            sm.alpha[r] = al;
        }
        __syncwarp();
        // tmp [16, d] = P · V; o = o · alpha + tmp
        for (int n = 0; n < dk; ++n)
            warp_mma_16<wmma::row_major>(sm.p, kTcLdP, sm.v + n * 16, kTcLdQ, 16 * kTcLdQ, kTcKeys / 16, sm.tmp + n * 16,
                                         kTcLdO);
        __syncwarp();
        for (int i = lane; i < kTcRows * dk * 16; i += 32) {
            const int r = i / (dk * 16), c = i % (dk * 16);
            sm.o[r * kTcLdO + c] = sm.o[r * kTcLdO + c] * sm.alpha[r] + sm.tmp[r * kTcLdO + c];
        }
        __syncwarp();
    }
    // Each row's 1 / l from its lane, then the rows out.
    if (lane < kTcRows) sm.alpha[lane] = 1.0f / l;
    __syncwarp();
    for (int i = lane; i < tile.count * d; i += 32) {
        const int r = static_cast<int>(i / d);
        const int64_t c = i % d;
        p.out[(static_cast<int64_t>(tile.row0 + r) * p.n_heads + h) * d + c] = sm.o[r * kTcLdO + c] * sm.alpha[r];
    }
}

template <class F>
void dispatch_kv(kv::KvType t, F&& f) {
    switch (t) {
        case kv::KvType::F32: f(std::integral_constant<kv::KvType, kv::KvType::F32>{}); return;
        case kv::KvType::F16: f(std::integral_constant<kv::KvType, kv::KvType::F16>{}); return;
        case kv::KvType::BF16: f(std::integral_constant<kv::KvType, kv::KvType::BF16>{}); return;
        case kv::KvType::Q8_0: f(std::integral_constant<kv::KvType, kv::KvType::Q8_0>{}); return;
        case kv::KvType::Q4_0: break;  // refused by CudaForward at start (cuda_kv_type_supported)
    }
    throw Error("unknown KV type");
}

}  // namespace

void kv_write(const float* k, const float* v, const int32_t* rows, int64_t n_rows, const int32_t* positions,
              const int32_t* row_seq, const KvView& kv, cudaStream_t stream) {
    if (n_rows <= 0) return;
    kv::check_kv_type_fits(kv.type, kv.head_dim);
    dispatch_kv(kv.type, [&](auto tag) {
        constexpr kv::KvType KT = decltype(tag)::value;
        kv_write_kernel<KT><<<dim3(static_cast<unsigned>(n_rows), 2), 256, 0, stream>>>(k, v, rows, positions, row_seq,
                                                                                       kv_args(kv));
        check_launch("kv_write_kernel");
    });
}

bool attention_tc_supported(int64_t head_dim) { return head_dim % 16 == 0 && head_dim <= kTcMaxDim; }

void attention_tensor_cores(const float* q, float* out, const AttnTile* tiles, int64_t n_tiles, const KvView& kv,
                            int64_t n_heads, float scale, cudaStream_t stream) {
    if (n_tiles <= 0) return;
    check(attention_tc_supported(kv.head_dim),
          cat("attention on tensor cores: head_dim ", kv.head_dim, " must be a multiple of 16, at most ", kTcMaxDim));
    check(kv.n_kv_heads > 0 && n_heads % kv.n_kv_heads == 0, "attention: heads must be a multiple of kv heads");
    const AttnArgs p{q, out, nullptr, nullptr, nullptr, n_heads, scale, 1, nullptr};
    dispatch_kv(kv.type, [&](auto tag) {
        constexpr kv::KvType KT = decltype(tag)::value;
        attention_tc_kernel<KT><<<dim3(static_cast<unsigned>(n_tiles), static_cast<unsigned>(n_heads)), 32, 0, stream>>>(
            p, kv_args(kv), tiles);
        check_launch("attention_tc_kernel");
    });
}

int64_t attention_tiles(std::span<const AttnRun> runs, bool chunked, int64_t chunk_size, std::vector<AttnTile>& out) {
    out.clear();
    for (const AttnRun& r : runs)
        for (int64_t i = 0; i < r.count;) {
            const int64_t pos = r.pos0 + i;
            int64_t n = std::min<int64_t>(kTcRows, r.count - i);
            if (chunked) n = std::min<int64_t>(n, (pos / chunk_size + 1) * chunk_size - pos);  // stay in one chunk
            out.push_back({r.seq, static_cast<int32_t>(r.row0 + i), static_cast<int32_t>(n), static_cast<int32_t>(pos)});
            i += n;
        }
    return static_cast<int64_t>(out.size());
}

int attention_splits(int64_t n_rows, int64_t n_heads, int sm_count) {
    if (n_rows <= 0 || n_rows > kMaxSplitWork / 2) return 1;
    const int64_t blocks = n_rows * ((n_heads + kHeadsPerBlock - 1) / kHeadsPerBlock);
    int64_t splits = (2 * static_cast<int64_t>(sm_count) + blocks - 1) / blocks;  // about two blocks per SM
    splits = splits < kMaxSplits ? splits : kMaxSplits;
    while (splits > 1 && n_rows * splits > kMaxSplitWork) --splits;
    return static_cast<int>(splits < 1 ? 1 : splits);
}

std::size_t attention_split_floats(int64_t n_heads, int64_t head_dim) {
    return static_cast<std::size_t>(kMaxSplitWork * n_heads * (head_dim + 2));
}

void attention(const float* q, float* out, const int32_t* rows, int64_t n_rows, const int32_t* positions,
               const int32_t* row_seq, const KvView& kv, int64_t n_heads, float scale, cudaStream_t stream,
               int n_splits, float* split_scratch) {
    if (n_rows <= 0) return;
    check(kv.head_dim <= kMaxHeadDim, cat("attention: head_dim ", kv.head_dim, " is over the GPU kernel's limit of ",
                                          kMaxHeadDim));
    check(kv.n_kv_heads > 0 && n_heads % kv.n_kv_heads == 0, "attention: heads must be a multiple of kv heads");
    check(n_splits >= 1 && n_splits <= kMaxSplits && (n_splits == 1 || n_rows * n_splits <= kMaxSplitWork),
          cat("attention: ", n_splits, " splits of ", n_rows, " rows is over the scratch's ", kMaxSplitWork));
    check(n_splits == 1 || split_scratch != nullptr, "attention: splits need scratch (attention_split_floats)");
    const AttnArgs p{q, out, rows, positions, row_seq, n_heads, scale, n_splits, split_scratch};
    const dim3 grid(static_cast<unsigned>(n_rows), static_cast<unsigned>((n_heads + kHeadsPerBlock - 1) / kHeadsPerBlock),
                    static_cast<unsigned>(n_splits));
    dispatch_kv(kv.type, [&](auto tag) {
        constexpr kv::KvType KT = decltype(tag)::value;
        attention_kernel<KT><<<grid, kHeadsPerBlock * 32, 0, stream>>>(p, kv_args(kv));
        check_launch("attention_kernel");
    });
    if (n_splits > 1) {
        attention_merge_kernel<<<dim3(static_cast<unsigned>(n_rows), static_cast<unsigned>(n_heads)), 128, 0, stream>>>(
            p, kv.head_dim);
        check_launch("attention_merge_kernel");
    }
}

}  // namespace scout::cuda
