#include "backend/cpu/ops/matmul_quant.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend/cpu/kernels/gemm_panel.hpp"
#include "backend/cpu/kernels/q8_activations.hpp"
#include "backend/cpu/kernels/vec_dot.hpp"
#include "base/error.hpp"
#include "quant/quant.hpp"

namespace scout::cpu {
namespace {

// Cache blocking (matmul_nt_quant_rows): quantized activations of one token chunk fit L1 (32 KB
// data cache per core on Zen 4, 48 KB on recent Intel) beside a weight row; the weight rows of
// one row block fit L2 (1 MB per core on Zen 4, 1.25-2 MB on recent Intel).
constexpr std::size_t kChunkBytes = 20 * 1024;
constexpr std::size_t kRowBlockBytes = 512 * 1024;
// Weight rows per scheduling unit (ranges handed to threads are multiples of this).
constexpr int64_t kRowGrain = 16;

}  // namespace

void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    matmul_nt_quant(x, T, w, y, pool, best_simd_level());
}

QuantizedInput quantize_input(const float* x, int64_t T, int64_t K, DType weight, ThreadPool& pool) {
    QuantizedInput q;
    quantize_input_into(x, T, K, weight, pool, q);
    return q;
}

void quantize_input_into(const float* x, int64_t T, int64_t K, DType weight, ThreadPool& pool, QuantizedInput& q) {
    q.row_bytes = activation_row_bytes(weight, K);
    q.bytes.resize(static_cast<std::size_t>(T) * q.row_bytes);
    // Rows are independent: any split gives the same bytes.
    const auto quantize_rows = [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t)
            quantize_activation_row(weight, x + t * K, q.bytes.data() + static_cast<std::size_t>(t) * q.row_bytes, K);
    };
    if (T >= 4)
        pool.parallel_for(T, quantize_rows);
    else
        quantize_rows(0, T, 0);
}

bool same_input_format(DType a, DType b) { return quant::block_size(a) == quant::block_size(b); }

void matmul_nt_quant_rows(const uint8_t* a, std::size_t a_row, int64_t T, const WeightMatrix& w, float* y, int64_t n0,
                          int64_t n1, SimdLevel level) {
    const int64_t N = w.rows, K = w.cols;
    const VecDotKernels& kern = vec_dot_kernels(w.dtype, level);
    const int64_t nb = K / quant::block_size(w.dtype);
    if (K % quant::block_size(w.dtype) != 0 || w.row_stride < K)
        throw Error("matmul_nt_quant: weight columns must be whole blocks within the row stride");
    const std::size_t w_row = quant::row_size(w.dtype, w.row_stride);
    const auto* wbase = static_cast<const uint8_t*>(w.data);
    const PanelKernel* panel = panel_kernel(w.dtype, level);
    if (panel != nullptr && T >= panel->min_tokens) {
        // Panels of kPanelRows rows, each repacked once into 64-byte aligned scratch and met by
        // every token. Below min_tokens the repacking would cost more than it saves; the row
        // tiles of the same level follow the panel's operation order, so results do not
        // depend on which ran.
        // Per-thread repacking buffer, grown once and kept (a forward pass allocates nothing).
        thread_local std::vector<uint8_t> scratch_bytes;
        if (scratch_bytes.size() < static_cast<std::size_t>(nb) * panel->scratch_per_block + 64)
            scratch_bytes.resize(static_cast<std::size_t>(nb) * panel->scratch_per_block + 64);
        uint8_t* scratch = scratch_bytes.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch_bytes.data()) % 64) % 64;
        for (int64_t n = n0; n < n1; n += kPanelRows) {
            const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, n1 - n));
            panel->fn(nb, wbase + static_cast<std::size_t>(n) * w_row, w_row, rows, a, a_row, T, y + n, N,
                      scratch);
        }
        return;
    }
    // The kernels request weights kPrefetchAheadBytes ahead of the block they multiply; the
    // first bytes of this thread's rows have nothing ahead of them, so ask for them here (a
    // decode step runs ~100 products of 0.1-1 MB, each split over the threads). Measured on two
    // cores, 64 distinct Q4_K 1024 x 1024 matrices from memory at one token: 40-41 -> 42-47 GB/s;
    // whole-model generation moved less than its run-to-run spread.
    const std::size_t range_bytes = static_cast<std::size_t>(n1 - n0) * w_row;
    for (std::size_t off = 0; off < std::min(range_bytes, kPrefetchAheadBytes); off += 64)
        __builtin_prefetch(wbase + static_cast<std::size_t>(n0) * w_row + off, 0, 3);
    // Two-level blocking. Weight rows in blocks that stay in L2 (kRowBlockBytes); for each row
    // block, tokens in chunks whose quantized activations stay in L1 (kChunkBytes) while every row
    // of the block meets them kern.tile_tokens at a time. Each weight row is then read from L2 once
    // per chunk and each activation from L1, instead of a chunk's activations streaming from L2
    // for every row.
    const int64_t tile = kern.tile_tokens;
    const int64_t chunk = std::max<int64_t>(tile, static_cast<int64_t>(kChunkBytes / a_row) / tile * tile);
    const int64_t row_block = std::max<int64_t>(1, static_cast<int64_t>(kRowBlockBytes / w_row));
    for (int64_t r0 = n0; r0 < n1; r0 += row_block) {
        const int64_t r1 = std::min(n1, r0 + row_block);
        for (int64_t c0 = 0; c0 < T; c0 += chunk) {
            const int64_t c1 = std::min(T, c0 + chunk);
            for (int64_t n = r0; n < r1; ++n) {
                const uint8_t* wrow = wbase + static_cast<std::size_t>(n) * w_row;
                for (int64_t t = c0; t < c1; t += tile) {
                    const int64_t nt = std::min(tile, c1 - t);
                    kern.tile[nt - 1](nb, wrow, a + static_cast<std::size_t>(t) * a_row, a_row,
                                      y + t * N + n, N);
                }
            }
        }
    }
}

void matmul_nt_quant(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool,
                     SimdLevel level) {
    const int64_t N = w.rows, K = w.cols;
    if (T <= 0 || N <= 0) return;
    vec_dot_kernels(w.dtype, level);  // refuses a type or level without kernels before any work
    if (K % quant::block_size(w.dtype) != 0 || w.row_stride < K)
        throw Error("matmul_nt_quant: weight columns must be whole blocks within the row stride");
    // 1. Each activation row quantized once (into the calling thread's buffer, kept between
    // calls so that a forward pass allocates nothing). 2. Weight rows split over threads.
    // (A reference: the workers must read the caller's buffer, not their own thread_local one.)
    thread_local QuantizedInput buffer;
    QuantizedInput& xq = buffer;
    quantize_input_into(x, T, K, w.dtype, pool, xq);
    pool.parallel_for_grain(N, kRowGrain,
                            [&](int64_t n0, int64_t n1, int) { matmul_nt_quant_rows(xq.bytes.data(), xq.row_bytes, T, w, y, n0, n1, level); });
}

}  // namespace scout::cpu
