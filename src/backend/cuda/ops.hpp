// Host launchers of the CUDA kernels, one function per op, each the twin of a CPU op
// (src/backend/cpu/ops) and tested against a plain reference (tests/cuda/test_cuda_ops.cpp).
// All pointers are device pointers; every launcher enqueues on `stream` and returns at once.
// Activations are float32 and accumulate in float32; weights stay in their stored format and
// are decoded in registers (quant_device.cuh).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/dtype.hpp"
#include "kv/kv_type.hpp"

namespace scout::cuda {

// A weight matrix on the device in its stored dtype, or E of them (one per expert, expert_bytes
// apart). Two layouts (model::ExpertMatrix):
//   transposed == true : stored [out, in], row_bytes per row:   y[t, n] = Σ_k x[t, k] · W[n, k]
//   transposed == false: stored [in, ld] (float dtypes only):  y[t, n] = Σ_k x[t, k] · W[k, col0 + n]
struct DeviceMatrix {
    const void* data = nullptr;
    DType dtype = DType::F32;
    int64_t out = 0;                // N: outputs per row of y
    int64_t in = 0;                 // K: inputs per row of x
    bool transposed = true;
    std::size_t row_bytes = 0;      // transposed: bytes per stored row (quant::row_size(dtype, in))
    int64_t ld = 0;                 // !transposed: elements per stored row
    int64_t col0 = 0;               // !transposed: first column
    std::size_t expert_bytes = 0;   // bytes between consecutive experts (0: one matrix)
};

// A vector of weights (norms), in a float dtype.
struct DeviceVector {
    const void* data = nullptr;
    DType dtype = DType::F32;
    int64_t n = 0;
};

// Rows of x that share an expert (MoE): slot s < n_slots covers rows [offset[s], offset[s+1])
// and uses expert expert[s]; empty slots are skipped on the device. expert/offset are device
// arrays (written by route_tokens). A default RowGroups is one group: every row, expert 0.
struct RowGroups {
    const int32_t* expert = nullptr;  // [n_slots]
    const int32_t* offset = nullptr;  // [n_slots + 1]
    int n_slots = 0;
};

// y [T, w.out] = x [T, w.in] · W (per group); T bounds the rows of every group. Few rows use a
// warp-per-output mat-vec (weights read once for up to 8 rows); more rows a tiled kernel that
// decodes a weight tile into shared memory once per 64 rows, in float32 — or, with tensor_cores
// (the fast mode, transposed layout), on bf16 tensor cores: both operands rounded to bf16,
// float32 accumulation. Products of few rows are float32 either way.
void matmul(const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups, cudaStream_t stream,
            bool tensor_cores = false);
// Forces a kernel (tests, benchmarks): kind 0 = mat-vec (matvec_jobs where matvec_supported, else
// the generic warp-per-row kernel), 1 = tiled, 2 = the generic warp-per-row mat-vec, 3 = a block
// per output row (float weights only; matmul's choice for few outputs such as the MoE router),
// 4 = bf16 tensor cores (transposed layout only).
void matmul_kernel(int kind, const float* x, int64_t T, const DeviceMatrix& w, float* y, const RowGroups& groups,
                   cudaStream_t stream);

// The ingredients of a library GEMM on bf16 (the alternative to kind 4 that scout_cuda_bench
// --kernels measures with cuBLAS): w decoded and rounded to bf16 rows out [w.out, w.in] (one
// matrix, stored [out, in]), and n floats rounded to bf16. Round to nearest even, as kind 4.
void dequantize_bf16(const DeviceMatrix& w, uint16_t* out, cudaStream_t stream);
void round_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t stream);

// ---- the decode mat-vec: several products in one launch ----------------------------------------
// One product y [T, w.out] = x [T, w.in] · W of a matvec_jobs launch (per group of rows, as matmul).
// Pair mode (w2 set, same shape and format as w): y = silu(x · W) ⊙ (x · W2), the SwiGLU of a
// gate and an up matrix without writing either (silu and product as silu_mul computes them).
struct MatvecJob {
    const DeviceMatrix* w = nullptr;
    const DeviceMatrix* w2 = nullptr;
    const float* x = nullptr;  // 16-byte aligned
    int64_t T = 0;             // rows of x (grouped: bounds every group's rows)
    float* y = nullptr;
    RowGroups groups{};
};
inline constexpr int kMatvecMaxJobs = 4;

// True when matvec_jobs reads this matrix: [out, in] layout in Q4_K (16-byte aligned), Q6_K or Q8_0.
bool matvec_supported(const DeviceMatrix& w);
// Runs up to kMatvecMaxJobs products (one weight format) in one launch: a warp reads 2 weight
// rows once per 8 activation rows (once for all when T = 1), decoding in registers; any number of
// rows per group (chunks of 8 re-read the weights). rows_per_warp: 0 = default (2); 1 at T = 1
// for benchmarks of Q4_K/Q6_K (the variants the build instantiates; others throw).
void matvec_jobs(const MatvecJob* jobs, int n_jobs, cudaStream_t stream, int rows_per_warp = 0);
// True when matmul would run these rows through matvec_jobs (x 16-byte aligned).
bool matvec_preferred(const DeviceMatrix& w, int64_t T, bool grouped);
// Runs the products in order: those matvec_preferred fused into matvec_jobs launches (consecutive
// jobs of one weight format, kMatvecMaxJobs at most), the others through matmul (a pair as two
// matmuls and silu_mul, the up product in `scratch`, T · w.out floats), with tensor_cores as matmul.
void run_products(const MatvecJob* jobs, int n_jobs, float* scratch, cudaStream_t stream, bool tensor_cores = false);

// out[t, :] = row tokens[t] of the table [V, D] (any weight dtype), decoded to float32.
void embed_rows(const DeviceMatrix& table, const int32_t* tokens, int64_t T, float* out, cudaStream_t stream);

// y[t] = (x[t] · r) · w with r = 1 / sqrt(mean(x[t]²) + eps), the mean of squares in double.
void rms_norm(const float* x, int64_t T, int64_t n, const DeviceVector& w, float eps, float* y, cudaStream_t stream);
// The same without a weight, in place, over rows of n (QK norm: rows = T·heads, n = head_dim).
void rms_norm_noweight(float* x, int64_t rows, int64_t n, float eps, cudaStream_t stream);

// Interleaved-pair RoPE in place on x [T, heads, d]: pair j of row t rotated by
// angle = float(positions[t]) · inv_freq[j] (cos/sin evaluated in double, as the CPU does).
void rope(float* x, int64_t T, int64_t heads, int64_t d, const int32_t* positions, const float* inv_freq,
          cudaStream_t stream);

// x[t, :] *= scales[t] over rows of n (attention temperature of NoPE layers).
void scale_rows(float* x, int64_t T, int64_t n, const float* scales, cudaStream_t stream);

// y[i] += x[i] (residual).
void add_inplace(float* y, const float* x, int64_t n, cudaStream_t stream);
// The residual add and the next RMSNorm in one pass over rows of D: h[t] += b[t] with
// b[t] = branch[t] + (((0 + ye[a_1]) + ye[a_2]) + ...) over t's k assignments token_assign[t·k ..]
// (moe_combine's order; branch alone when ye is null), then xn[t] = RMSNorm(h[t]) · w as rms_norm
// computes it, unless w.data is null (the add alone).
void residual_norm(float* h, const float* branch, const float* ye, const int32_t* token_assign, int64_t k, int64_t T,
                   int64_t D, const DeviceVector& w, float eps, float* xn, cudaStream_t stream);
// The steps between the q/k/v products and attention in one launch, per (row, head) of q [T, H, d]
// and k [T, Hkv, d], in place: RoPE when inv_freq is set (as rope), then the QK norm when qk_norm
// (as rms_norm_noweight), then q rows times temps[t] when temps is set (as scale_rows).
void attn_prep(float* q, float* k, int64_t T, int64_t H, int64_t Hkv, int64_t d, const int32_t* positions,
               const float* inv_freq, bool qk_norm, float eps, const float* temps, cudaStream_t stream);
// g[i] = silu(g[i]) · u[i].
void silu_mul(float* g, const float* u, int64_t n, cudaStream_t stream);
// out[i, :] = x[rows[i], :] for i < n (rows of D).
void gather_rows(const float* x, int64_t D, const int32_t* rows, int64_t n, float* out, cudaStream_t stream);

// ---- KV memory -------------------------------------------------------------------------------
// Where one layer's K/V rows live, for the sequences of a pass. Sequence s has a device page
// table (DeviceKv::device_table) holding, for layer il and kind (0 = K, 1 = V), `cap` page
// pointers at [(il * 2 + kind) * cap ...]. Slot of position p: chunked ? p % chunk_size : p;
// page = slot / page_slots; a page holds page_slots rows of n_kv_heads · head_dim values, each
// head kv_row_bytes(type, head_dim) bytes.
// KV types the device kernels read and write (q4_0 is CPU-only for now).
inline bool cuda_kv_type_supported(kv::KvType t) { return t != kv::KvType::Q4_0; }

struct KvView {
    void* const* const* tables = nullptr;  // [n_seq] device table of each sequence of the pass
    const int32_t* caps = nullptr;         // [n_seq] pages per (layer, kind) of each table
    kv::KvType type = kv::KvType::F16;
    int64_t n_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t page_slots = 0;
    bool chunked = false;
    int64_t chunk_size = 0;
    int il = 0;
};

// Stores k, v [*, Hkv, d] of the listed rows (rows[i] < T; positions[row], row_seq[row]) into
// their slots, encoded like kv::kv_encode_row (bit for bit).
void kv_write(const float* k, const float* v, const int32_t* rows, int64_t n_rows, const int32_t* positions,
              const int32_t* row_seq, const KvView& kv, cudaStream_t stream);

// Causal attention of the listed rows: q [*, H, d] → out [*, H, d]; query row r at position
// a = positions[r] attends keys first_visible_key(a) .. a of its sequence (kv/attn_mask.hpp),
// GQA (q head h reads kv head h / (H / Hkv)), scores · scale, online softmax in float32.
// n_splits > 1 (decode: few rows, long contexts): each (row, head)'s keys are cut into n_splits
// stretches walked in parallel and merged after (flash-decoding); split_scratch holds
// attention_split_floats(n_heads, head_dim) floats. Same result up to summation order.
void attention(const float* q, float* out, const int32_t* rows, int64_t n_rows, const int32_t* positions,
               const int32_t* row_seq, const KvView& kv, int64_t n_heads, float scale, cudaStream_t stream,
               int n_splits = 1, float* split_scratch = nullptr);
// Prompts in the fast mode: attention on bf16 tensor cores (Q, K, V, P rounded to bf16, scores,
// softmax and output in float32), a warp per tile of up to 16 query rows of one sequence at
// consecutive positions within one chunk (chunked layers), per q head. Tiles: attention_tiles.
struct AttnTile {
    int32_t seq;    // sequence of the pass (KvView tables)
    int32_t row0;   // first row in q / out
    int32_t count;  // rows, 1..16
    int32_t pos0;   // position of row0 (row0 + i is at pos0 + i)
};
// A run of rows of one sequence at consecutive positions (a piece of a pass, or its rows of one phase).
struct AttnRun {
    int32_t seq, row0;
    int64_t count, pos0;
};
bool attention_tc_supported(int64_t head_dim);  // head_dim a multiple of 16, at most 128
// Cuts the runs into tiles (16 rows, and at chunk edges when chunked); returns how many.
int64_t attention_tiles(std::span<const AttnRun> runs, bool chunked, int64_t chunk_size, std::vector<AttnTile>& out);
void attention_tensor_cores(const float* q, float* out, const AttnTile* tiles, int64_t n_tiles, const KvView& kv,
                            int64_t n_heads, float scale, cudaStream_t stream);
inline constexpr int kMaxSplits = 32;
inline constexpr int64_t kMaxSplitWork = 1024;  // rows × splits the scratch holds
// Splits that give about two blocks per SM for n_rows rows (1 for more than kMaxSplitWork / 2 rows).
int attention_splits(int64_t n_rows, int64_t n_heads, int sm_count);
std::size_t attention_split_floats(int64_t n_heads, int64_t head_dim);

// ---- mixture of experts ----------------------------------------------------------------------
// Device scratch of the routing of T tokens to k of E experts.
struct RouteBuffers {
    int32_t* selected = nullptr;      // [T·k] expert of each (token, choice), choices by descending logit
    float* selected_score = nullptr;  // [T·k] sigmoid(logit)
    int32_t* slot_expert = nullptr;   // [E] active experts in increasing index (RowGroups::expert)
    int32_t* slot_offset = nullptr;   // [E + 1] (RowGroups::offset); unused slots are empty
    int32_t* assign_token = nullptr;  // [T·k] token of each assignment, grouped by expert, tokens ascending
    float* assign_score = nullptr;    // [T·k]
    int32_t* token_assign = nullptr;  // [T·k] each token's k assignments, in increasing expert index
};

// Routes every token (top-k of its raw logits, lower index first on ties; score = sigmoid(logit)),
// and groups the assignments per expert — all on the device (one block), no host round trip.
void route_tokens(const float* logits, int64_t T, int64_t E, int64_t k, const RouteBuffers& r, cudaStream_t stream);
// route_tokens, then gather_scaled(x, D, r, T·k, xs); few assignments are gathered by the routing
// kernel itself (one launch per MoE layer at decode).
void route_and_gather(const float* logits, int64_t T, int64_t E, int64_t k, const RouteBuffers& r, const float* x,
                      int64_t D, float* xs, cudaStream_t stream);
// xs[a, :] = x[assign_token[a], :] · assign_score[a] for a < T·k (the score scales the expert input).
void gather_scaled(const float* x, int64_t D, const RouteBuffers& r, int64_t n_assign, float* xs, cudaStream_t stream);
// y[t, :] = shared[t, :] + (((0 + ye[a_1]) + ye[a_2]) + ...) over t's assignments in expert order
// (moe_ffn's summation order). shared and y may alias.
void moe_combine(const float* shared, const float* ye, const RouteBuffers& r, int64_t T, int64_t k, int64_t D,
                 float* y, cudaStream_t stream);

// ---- sampling ----------------------------------------------------------------------------------
inline constexpr int kMaxDeviceTopK = 64;
// For each row of logits [rows, V]: its kk = min(k, V) largest logits, largest first and lower id
// first among equals (-0.0 equal to +0.0), into ids / values [rows, kk]; usable[r] = 0 when the
// row holds a NaN or +inf, or no finite logit. The twin of backend::top_logits_of. k <= 64.
void top_logits(const float* logits, int64_t rows, int64_t V, int k, int32_t* ids, float* values, uint8_t* usable,
                cudaStream_t stream);

// ---- synthetic weights -------------------------------------------------------------------------
// Fills n_rows rows of `row_bytes` bytes (in elements each) with random but valid data of dtype:
// random quants, positive fp16 scales sized so that a weight's magnitude is about `scale`
// (norm weights: F32 around 1). Deterministic in seed.
void fill_random(void* data, DType dtype, int64_t n_rows, int64_t in, float scale, uint64_t seed, cudaStream_t stream);

}  // namespace scout::cuda
