// The top logits of each row on the device (ops.hpp: top_logits), so that a sampler that keeps
// only the top tokens receives k numbers per row instead of the whole vocabulary. One block per
// row: a radix select over order-preserving 32-bit keys finds the k-th largest key in four
// passes of 8 bits; the keys above it are collected, and of the keys equal to it the lowest ids
// (in id order when there are more of them than places); the k entries are then placed by rank
// in (logit descending, id ascending) order — backend::top_logits_of's order, its twin.
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/ops.hpp"
#include "base/error.hpp"

namespace scout::cuda {

namespace {

constexpr int kTopThreads = 1024;

// Larger float, larger key; -0.0 and +0.0 share a key (they compare equal); NaN the smallest key
// (its row is unusable anyway).
__device__ __forceinline__ uint32_t order_key(float x) {
    if (x != x) return 0u;
    if (x == 0.0f) x = 0.0f;
    const uint32_t b = __float_as_uint(x);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__global__ void __launch_bounds__(kTopThreads) top_logits_kernel(const float* __restrict__ logits, int64_t V, int k,
                                                                 int32_t* ids, float* values, uint8_t* usable) {
    const int64_t row = blockIdx.x;
    const float* x = logits + row * V;
    const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
    __shared__ uint32_t hist[256];
    __shared__ uint32_t s_prefix;
    __shared__ int s_remaining, s_equal, s_count, s_total;
    __shared__ int s_warp[kTopThreads / 32];
    __shared__ int32_t s_ids[kMaxDeviceTopK];
    __shared__ float s_vals[kMaxDeviceTopK];

    int bad = 0, finite = 0;
    for (int64_t i = tid; i < V; i += kTopThreads) {
        const float v = x[i];
        bad |= !(v < __int_as_float(0x7f800000));
        finite |= v > __int_as_float(0xff800000);
    }
    bad = __syncthreads_or(bad);
    finite = __syncthreads_or(finite);
    if (tid == 0) usable[row] = !bad && finite;
    const int kk = static_cast<int>(V < k ? V : k);

    // Radix select: after the pass at `shift`, prefix holds the k-th largest key's top bits and
    // remaining how many keys with those bits are still to take (the larger ones are counted).
    uint32_t prefix = 0, mask = 0;
    int remaining = kk;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += kTopThreads) hist[b] = 0;
        __syncthreads();
        for (int64_t i = tid; i < V; i += kTopThreads) {
            const uint32_t key = order_key(x[i]);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
            int above = 0, b = 255;
            for (; b > 0; --b) {
                if (above + static_cast<int>(hist[b]) >= remaining) break;
                above += static_cast<int>(hist[b]);
            }
            s_prefix = prefix | (static_cast<uint32_t>(b) << shift);
            s_remaining = remaining - above;
            s_equal = static_cast<int>(hist[b]);  // after the last pass: the keys equal to the k-th
        }
        __syncthreads();
        prefix = s_prefix;
        remaining = s_remaining;
        mask |= 0xFFu << shift;
        __syncthreads();
    }
    const int greater = kk - remaining;
    const bool take_all_equal = s_equal == remaining;  // no tie to break at the k-th key
    if (tid == 0) s_count = 0;
    __syncthreads();
    for (int64_t i = tid; i < V; i += kTopThreads) {
        const uint32_t key = order_key(x[i]);
        if (key > prefix || (take_all_equal && key == prefix)) {
            const int slot = atomicAdd(&s_count, 1);
            s_ids[slot] = static_cast<int32_t>(i);
            s_vals[slot] = x[i];
        }
    }
    __syncthreads();
    if (!take_all_equal) {  // the `remaining` lowest ids among the keys equal to the k-th, in id order
        int taken = 0;
        for (int64_t base = 0; base < V && taken < remaining; base += kTopThreads) {
            const int64_t i = base + tid;
            const bool eq = i < V && order_key(x[i]) == prefix;
            const unsigned ballot = __ballot_sync(0xffffffffu, eq);
            if (lane == 0) s_warp[warp] = __popc(ballot);
            __syncthreads();
            if (warp == 0) {  // exclusive scan of the warps' counts
                const int v = s_warp[lane];
                int incl = v;
                for (int o = 1; o < 32; o <<= 1) {
                    const int u = __shfl_up_sync(0xffffffffu, incl, o);
                    if (lane >= o) incl += u;
                }
                s_warp[lane] = incl - v;
                if (lane == 31) s_total = incl;
            }
            __syncthreads();
            const int pos = taken + s_warp[warp] + __popc(ballot & ((1u << lane) - 1u));
            if (eq && pos < remaining) {
                s_ids[greater + pos] = static_cast<int32_t>(i);
                s_vals[greater + pos] = x[i];
            }
            taken += s_total;
            __syncthreads();
        }
    }
    __syncthreads();
    if (tid < kk) {  // place entry tid by its rank
        const uint32_t key = order_key(s_vals[tid]);
        const int32_t id = s_ids[tid];
        int rank = 0;
        for (int m = 0; m < kk; ++m) {
            const uint32_t km = order_key(s_vals[m]);
            rank += km > key || (km == key && s_ids[m] < id);
        }
        ids[row * kk + rank] = id;
        values[row * kk + rank] = s_vals[tid];
    }
}

}  // namespace

void top_logits(const float* logits, int64_t rows, int64_t V, int k, int32_t* ids, float* values, uint8_t* usable,
                cudaStream_t stream) {
    check(k >= 1 && k <= kMaxDeviceTopK, cat("top_logits: k must be in [1, ", kMaxDeviceTopK, "], not ", k));
    check(V >= 1, "top_logits: empty rows");
    if (rows <= 0) return;
    top_logits_kernel<<<static_cast<unsigned>(rows), kTopThreads, 0, stream>>>(logits, V, k, ids, values, usable);
    check_launch("top_logits_kernel");
}

}  // namespace scout::cuda
