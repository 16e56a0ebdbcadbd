// Mixture-of-experts plumbing on the device (ops.hpp): routing + grouping in one small kernel,
// the scaled gather of expert inputs, and the ordered combine of expert outputs. With routing on
// the device a MoE layer needs no host round trip (and a decode step can be graph-captured).
#include "backend/cuda/cuda_check.hpp"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/ops.hpp"

namespace scout::cuda {

namespace {

constexpr int kRouteThreads = 256;

// One block. Steps (each a pass over at most T·k entries, cheap next to the expert products):
//  1. per token: top-k by raw logit (scanning experts in increasing index with a strict '>', so
//     the lower index wins ties, as route_token's stable sort), score = sigmoid(logit);
//  2. per expert: its count; 3. the active experts compacted into slots with offsets;
//  4. per expert: its assignments in token order; 5. per token: its assignments in expert order.
// With x set, step 6: xs[a] = x[assign_token[a]] · assign_score[a] (gather_scaled) for the T·k
// assignments, by the whole block (decode steps: few assignments, one launch saved per layer).
__global__ void __launch_bounds__(kRouteThreads) route_kernel(const float* logits, int T, int E, int k,
                                                              RouteBuffers r, const float* x, int64_t D, float* xs) {
    extern __shared__ int shared[];
    int* counts = shared;     // [E]
    int* base = shared + E;   // [E]
    const int tid = static_cast<int>(threadIdx.x);
    for (int t = tid; t < T; t += blockDim.x) {
        const float* lg = logits + static_cast<int64_t>(t) * E;
        for (int i = 0; i < k; ++i) {
            int best = -1;
            float bv = 0.0f;
            for (int e = 0; e < E; ++e) {
                bool taken = false;
                for (int j = 0; j < i; ++j) taken |= r.selected[t * k + j] == e;
                if (!taken && (best < 0 || lg[e] > bv)) best = e, bv = lg[e];
            }
            r.selected[t * k + i] = best;
            r.selected_score[t * k + i] = __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-bv)));
        }
    }
    __syncthreads();
    const int n = T * k;
    for (int e = tid; e < E; e += blockDim.x) {
        int c = 0;
        for (int a = 0; a < n; ++a) c += r.selected[a] == e;
        counts[e] = c;
    }
    __syncthreads();
    if (tid == 0) {
        int off = 0, ns = 0;
        for (int e = 0; e < E; ++e) {
            base[e] = off;
            if (counts[e] > 0) {
                r.slot_expert[ns] = e;
                r.slot_offset[ns] = off;
                ++ns;
                off += counts[e];
            }
        }
        for (int s = ns; s < E; ++s) r.slot_expert[s] = 0;
        for (int s = ns; s <= E; ++s) r.slot_offset[s] = off;  // empty trailing slots
    }
    __syncthreads();
    for (int e = tid; e < E; e += blockDim.x) {
        int p = base[e];
        for (int a = 0; a < n; ++a)
            if (r.selected[a] == e) {
                r.assign_token[p] = a / k;
                r.assign_score[p] = r.selected_score[a];
                r.token_assign[a] = p;
                ++p;
            }
    }
    __syncthreads();
    // Assignment indices grow with the expert index (groups are in expert order): sorting a
    // token's k indices puts its experts in increasing index.
    if (x != nullptr) {  // assign_token / assign_score are complete (written before the barrier above)
        const int64_t n_gather = static_cast<int64_t>(n) * D;
        for (int64_t i = tid; i < n_gather; i += blockDim.x) {
            const int64_t a = i / D, c = i - a * D;
            xs[i] = __fmul_rn(x[static_cast<int64_t>(r.assign_token[a]) * D + c], r.assign_score[a]);
        }
    }
    for (int t = tid; t < T; t += blockDim.x) {
        int32_t* ta = r.token_assign + t * k;
        for (int i = 1; i < k; ++i)
            for (int j = i; j > 0 && ta[j - 1] > ta[j]; --j) {
                const int32_t tmp = ta[j];
                ta[j] = ta[j - 1];
                ta[j - 1] = tmp;
            }
    }
}

__global__ void gather_scaled_kernel(const float* x, int64_t D, const int32_t* token, const float* score, float* xs) {
    const int64_t a = blockIdx.x;
    const float* src = x + static_cast<int64_t>(token[a]) * D;
    const float s = score[a];
    for (int64_t c = threadIdx.x; c < D; c += blockDim.x) xs[a * D + c] = __fmul_rn(src[c], s);
}

__global__ void combine_kernel(const float* shared, const float* ye, const int32_t* token_assign, int64_t k, int64_t D,
                               float* y) {
    const int64_t t = blockIdx.x;
    for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
        float routed = 0.0f;
        for (int64_t j = 0; j < k; ++j) routed = __fadd_rn(routed, ye[static_cast<int64_t>(token_assign[t * k + j]) * D + c]);
        y[t * D + c] = __fadd_rn(shared[t * D + c], routed);
    }
}

}  // namespace

void route_tokens(const float* logits, int64_t T, int64_t E, int64_t k, const RouteBuffers& r, cudaStream_t stream) {
    if (T <= 0) return;
    check(k >= 1 && k <= E, cat("route_tokens: top-", k, " of ", E, " experts"));
    const std::size_t shared = 2 * static_cast<std::size_t>(E) * sizeof(int);
    check(shared <= 48 * 1024, "route_tokens: too many experts for one block");
    route_kernel<<<1, kRouteThreads, shared, stream>>>(logits, static_cast<int>(T), static_cast<int>(E),
                                                       static_cast<int>(k), r, nullptr, 0, nullptr);
    check_launch("route_kernel");
}

void route_and_gather(const float* logits, int64_t T, int64_t E, int64_t k, const RouteBuffers& r, const float* x,
                      int64_t D, float* xs, cudaStream_t stream) {
    if (T <= 0) return;
    constexpr int64_t kGatherInRoute = 8;  // assignments the routing block gathers itself
    if (T * k > kGatherInRoute) {
        route_tokens(logits, T, E, k, r, stream);
        gather_scaled(x, D, r, T * k, xs, stream);
        return;
    }
    check(k >= 1 && k <= E, cat("route_tokens: top-", k, " of ", E, " experts"));
    const std::size_t shared = 2 * static_cast<std::size_t>(E) * sizeof(int);
    check(shared <= 48 * 1024, "route_tokens: too many experts for one block");
    route_kernel<<<1, kRouteThreads, shared, stream>>>(logits, static_cast<int>(T), static_cast<int>(E),
                                                       static_cast<int>(k), r, x, D, xs);
    check_launch("route_kernel");
}

void gather_scaled(const float* x, int64_t D, const RouteBuffers& r, int64_t n_assign, float* xs, cudaStream_t stream) {
    if (n_assign <= 0) return;
    gather_scaled_kernel<<<static_cast<unsigned>(n_assign), 256, 0, stream>>>(x, D, r.assign_token, r.assign_score, xs);
    check_launch("gather_scaled_kernel");
}

void moe_combine(const float* shared, const float* ye, const RouteBuffers& r, int64_t T, int64_t k, int64_t D,
                 float* y, cudaStream_t stream) {
    if (T <= 0) return;
    combine_kernel<<<static_cast<unsigned>(T), 256, 0, stream>>>(shared, ye, r.token_assign, k, D, y);
    check_launch("combine_kernel");
}

}  // namespace scout::cuda
