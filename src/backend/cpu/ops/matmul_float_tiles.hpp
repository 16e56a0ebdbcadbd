// Register-tiled float GEMM loops, written once over a vector "ISA traits" type and
// instantiated by matmul_float_avx2.cpp and matmul_float_avx512.cpp (each compiled with its own
// target flags). Include only from those files.
//
// Traits provide: V (vector of L floats), L, zero(), fma(a, b, acc) = a*b + acc (one rounding),
// load_x(p) / load_x_part(p, n) (n < L floats, rest zero), load_w<D>(p) / load_w_part<D>(p, n)
// (L weights of dtype D widened to float), broadcast(v), hsum(v) (a fixed reduction tree),
// store(p, v) / store_part(p, v, n). Optionally store_sums<R, TT>(acc, ys, col), constrained to
// the tile shapes it handles: hsum of each accumulator of an R × TT nt tile, computed with
// hsum's tree for many accumulators at once, stored to ys[j][col + r] (bit-identical to hsum).
//
// Operation order per output element (identical for every tile shape, hence for every batch):
//   nt: acc (L lanes) = fma(x[k..k+L), w[k..k+L), acc) over k in steps of L, the last step
//       zero-padded; y = hsum(acc).
//   nn: acc = fma(broadcast(x[t, k]), w[k, n..n+L), acc) for k = 0..K-1; y = acc.
#pragma once

#include <algorithm>
#include <cstdint>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/dtype.hpp"

namespace scout::cpu::simd::tiles {

template <typename Isa, DType D>
struct Elem;
template <typename Isa>
struct Elem<Isa, DType::F32> {
    using type = float;
};
template <typename Isa>
struct Elem<Isa, DType::BF16> {
    using type = uint16_t;
};
template <typename Isa>
struct Elem<Isa, DType::F16> {
    using type = uint16_t;
};

// R weight rows × TT inputs, full K. rows[r] point at the weight rows, xs[j] at the inputs.
template <typename Isa, DType D, int R, int TT>
inline void nt_tile(const typename Elem<Isa, D>::type* const* rows, const float* const* xs, int64_t K, float* const* ys,
                    int64_t y_col) {
    using V = typename Isa::V;
    constexpr int L = Isa::L;
    V acc[R][TT];
    for (int r = 0; r < R; ++r)
        for (int j = 0; j < TT; ++j) acc[r][j] = Isa::zero();
    int64_t k = 0;
    for (; k + L <= K; k += L) {
        V wv[R];
        for (int r = 0; r < R; ++r) wv[r] = Isa::template load_w<D>(rows[r] + k);
        for (int j = 0; j < TT; ++j) {
            const V xv = Isa::load_x(xs[j] + k);
            for (int r = 0; r < R; ++r) acc[r][j] = Isa::fma(xv, wv[r], acc[r][j]);
        }
    }
    if (k < K) {
        const int n = static_cast<int>(K - k);
        V wv[R];
        for (int r = 0; r < R; ++r) wv[r] = Isa::template load_w_part<D>(rows[r] + k, n);
        for (int j = 0; j < TT; ++j) {
            const V xv = Isa::load_x_part(xs[j] + k, n);
            for (int r = 0; r < R; ++r) acc[r][j] = Isa::fma(xv, wv[r], acc[r][j]);
        }
    }
    if constexpr (requires { Isa::template store_sums<R, TT>(acc, ys, y_col); }) {
        Isa::template store_sums<R, TT>(acc, ys, y_col);
    } else {
        for (int j = 0; j < TT; ++j)
            for (int r = 0; r < R; ++r) ys[j][y_col + r] = Isa::hsum(acc[r][j]);
    }
}

// Dispatch a runtime-sized remainder tile (1 <= tt <= TT) to a compile-time shape.
template <typename Isa, DType D, int R, int TT>
inline void nt_tile_tt(int tt, const typename Elem<Isa, D>::type* const* rows, const float* const* xs, int64_t K,
                       float* const* ys, int64_t y_col) {
    if constexpr (TT > 1) {
        if (tt < TT) return nt_tile_tt<Isa, D, R, TT - 1>(tt, rows, xs, K, ys, y_col);
    }
    nt_tile<Isa, D, R, TT>(rows, xs, K, ys, y_col);
}

template <typename Isa, DType D, int RowTile, int TokTile>
void nt_rows(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    using E = typename Elem<Isa, D>::type;
    const int64_t N = w.rows, K = w.cols;
    const E* base = static_cast<const E*>(w.data);
    // Inputs are taken in blocks that stay in L2 (≈ 512 KB) while the thread's weight rows stream by.
    const int64_t tok_block = std::max<int64_t>(TokTile, (int64_t{512} * 1024 / 4 / std::max<int64_t>(K, 1)) / TokTile * TokTile);
    for (int64_t tb = 0; tb < T; tb += tok_block) {
        const int64_t te = std::min(T, tb + tok_block);
        for (int64_t n = n0; n < n1; n += RowTile) {
            const int r_count = static_cast<int>(std::min<int64_t>(RowTile, n1 - n));
            // Batched tiles over short rows (e.g. an lm_head over a small hidden size): ask for the next tile's rows
            // now, so their reads overlap this tile's arithmetic (the hardware prefetcher alone
            // left the batched kernel waiting on memory). Long rows stream well without it.
            if (RowTile > 1 && K * static_cast<int64_t>(sizeof(E)) * RowTile <= 8192 && n + RowTile < n1) {
                const char* next = reinterpret_cast<const char*>(base + (n + RowTile) * w.row_stride);
                const int64_t bytes = std::min<int64_t>(RowTile, n1 - n - RowTile) * w.row_stride * static_cast<int64_t>(sizeof(E));
                for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(next + b);
            }
            const E* rows[RowTile];
            for (int r = 0; r < RowTile; ++r) rows[r] = base + (n + std::min(r, r_count - 1)) * w.row_stride;
            for (int64_t t = tb; t < te; t += TokTile) {
                const int tt = static_cast<int>(std::min<int64_t>(TokTile, te - t));
                const float* xs[TokTile];
                float* ys[TokTile];
                for (int j = 0; j < tt; ++j) {
                    xs[j] = x + (t + j) * K;
                    ys[j] = y + (t + j) * N;
                }
                if (r_count == RowTile) {
                    nt_tile_tt<Isa, D, RowTile, TokTile>(tt, rows, xs, K, ys, n);
                } else {
                    for (int r = 0; r < r_count; ++r) nt_tile_tt<Isa, D, 1, TokTile>(tt, rows + r, xs, K, ys, n + r);
                }
            }
        }
    }
}

inline constexpr int64_t kNnAhead = 8;  // rows

// C vectors of columns × TT inputs over all K.
template <typename Isa, DType D, int C, int TT>
inline void nn_tile(const typename Elem<Isa, D>::type* wcol, int64_t stride, const float* const* xs, int64_t K,
                    float* const* ys, int last_width) {
    using V = typename Isa::V;
    constexpr int L = Isa::L;
    V acc[C][TT];
    for (int c = 0; c < C; ++c)
        for (int j = 0; j < TT; ++j) acc[c][j] = Isa::zero();
    for (int64_t k = 0; k < K; ++k) {
        const auto* wr = wcol + k * stride;
        if constexpr (TT == 1) {
            // One input: nothing to compute while waiting, and the rows are a strided walk, so
            // ask for the row kNnAhead below now.
            if (k + kNnAhead < K) {
                const char* next = reinterpret_cast<const char*>(wr + kNnAhead * stride);
                for (std::size_t b = 0; b < C * L * sizeof(*wr); b += 64) __builtin_prefetch(next + b);
            }
        }
        V wv[C];
        for (int c = 0; c < C; ++c)
            wv[c] = (c == C - 1 && last_width < L) ? Isa::template load_w_part<D>(wr + c * L, last_width)
                                                  : Isa::template load_w<D>(wr + c * L);
        for (int j = 0; j < TT; ++j) {
            const V xv = Isa::broadcast(xs[j][k]);
            for (int c = 0; c < C; ++c) acc[c][j] = Isa::fma(xv, wv[c], acc[c][j]);
        }
    }
    for (int j = 0; j < TT; ++j)
        for (int c = 0; c < C; ++c) {
            if (c == C - 1 && last_width < L)
                Isa::store_part(ys[j] + c * L, acc[c][j], last_width);
            else
                Isa::store(ys[j] + c * L, acc[c][j]);
        }
}

// Dispatch a runtime tile (1 <= vecs <= C column vectors, 1 <= tt <= TT inputs) to a
// compile-time shape: a slice's last, narrower block still reads each row in one piece.
template <typename Isa, DType D, int C, int TT>
inline void nn_tile_any(int vecs, int tt, const typename Elem<Isa, D>::type* wcol, int64_t stride,
                        const float* const* xs, int64_t K, float* const* ys, int last_width) {
    if constexpr (C > 1) {
        if (vecs < C) return nn_tile_any<Isa, D, C - 1, TT>(vecs, tt, wcol, stride, xs, K, ys, last_width);
    }
    if constexpr (TT > 1) {
        if (tt < TT) return nn_tile_any<Isa, D, C, TT - 1>(vecs, tt, wcol, stride, xs, K, ys, last_width);
    }
    nn_tile<Isa, D, C, TT>(wcol, stride, xs, K, ys, last_width);
}

template <typename Isa, DType D, int ColVecs, int TokTile>
void nn_cols(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    using E = typename Elem<Isa, D>::type;
    constexpr int L = Isa::L;
    const int64_t K = w.rows, N = w.cols;
    const E* base = static_cast<const E*>(w.data);
    for (int64_t n = n0; n < n1; n += int64_t{ColVecs} * L) {
        const int64_t width = std::min<int64_t>(int64_t{ColVecs} * L, n1 - n);
        const int vecs = static_cast<int>((width + L - 1) / L);
        const int last = static_cast<int>(width - int64_t{vecs - 1} * L);
        for (int64_t t = 0; t < T; t += TokTile) {
            const int tt = static_cast<int>(std::min<int64_t>(TokTile, T - t));
            const float* xs[TokTile];
            float* ys[TokTile];
            for (int j = 0; j < tt; ++j) {
                xs[j] = x + (t + j) * K;
                ys[j] = y + (t + j) * N + n;
            }
            nn_tile_any<Isa, D, ColVecs, TokTile>(vecs, tt, base + n, w.row_stride, xs, K, ys, last);
        }
    }
}

// Shape choice by batch size; every shape gives each output the same operations.
// Decode (T < 4) walks one weight row at a time: several rows interleaved are several memory
// streams, which the hardware prefetcher follows worse than one (measured: ~2.5x slower reads on
// 2 KB rows). Larger batches use RowTile × TokTile tiles, or, from WideTokTile inputs up over
// short rows, WideRowTile × WideTokTile tiles, which widen each weight vector once for more
// inputs (the small demo's lm_head at 8 streams: 32 -> 44 GMAC/s on one core). The wide tile
// reads WideTokTile input rows per weight row, so it only pays while those stay in L1: measured
// with 8 inputs, K = 256 and 512 gained 30-40 %, K = 1024 lost 20 % and K = 2048 lost 50 %.
inline constexpr int64_t kWideTileInputBytes = 16 * 1024;

template <typename Isa, DType D, int RowTile, int TokTile, int WideRowTile, int WideTokTile>
void nt_rows_by_batch(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    if (T < 4) return nt_rows<Isa, D, 1, TokTile>(x, T, w, y, n0, n1);
    const bool wide = T >= WideTokTile && int64_t{WideTokTile} * w.cols * int64_t{sizeof(float)} <= kWideTileInputBytes;
    if (!wide) return nt_rows<Isa, D, RowTile, TokTile>(x, T, w, y, n0, n1);
    nt_rows<Isa, D, WideRowTile, WideTokTile>(x, T, w, y, n0, n1);
}

// The entry points each ISA file exports, dispatched on the weight dtype.
template <typename Isa, int RowTile, int TokTile, int WideRowTile = RowTile, int WideTokTile = TokTile>
void nt_rows_any(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    switch (w.dtype) {
        case DType::F32:
            return nt_rows_by_batch<Isa, DType::F32, RowTile, TokTile, WideRowTile, WideTokTile>(x, T, w, y, n0, n1);
        case DType::BF16:
            return nt_rows_by_batch<Isa, DType::BF16, RowTile, TokTile, WideRowTile, WideTokTile>(x, T, w, y, n0, n1);
        case DType::F16:
            return nt_rows_by_batch<Isa, DType::F16, RowTile, TokTile, WideRowTile, WideTokTile>(x, T, w, y, n0, n1);
        default: break;
    }
}

// One input (an expert's token at decode) takes SingleColVecs column vectors per pass, so each
// weight row is read as one long contiguous piece rather than ColVecs × L columns at a time
// down a strided column (each output's operations do not depend on the tile width).
template <typename Isa, DType D, int ColVecs, int TokTile, int SingleColVecs>
void nn_cols_by_batch(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    if (T == 1) return nn_cols<Isa, D, SingleColVecs, 1>(x, T, w, y, n0, n1);
    nn_cols<Isa, D, ColVecs, TokTile>(x, T, w, y, n0, n1);
}

template <typename Isa, int ColVecs, int TokTile, int SingleColVecs = ColVecs>
void nn_cols_any(const float* x, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    switch (w.dtype) {
        case DType::F32: nn_cols_by_batch<Isa, DType::F32, ColVecs, TokTile, SingleColVecs>(x, T, w, y, n0, n1); return;
        case DType::BF16: nn_cols_by_batch<Isa, DType::BF16, ColVecs, TokTile, SingleColVecs>(x, T, w, y, n0, n1); return;
        case DType::F16: nn_cols_by_batch<Isa, DType::F16, ColVecs, TokTile, SingleColVecs>(x, T, w, y, n0, n1); return;
        default: break;
    }
}

}  // namespace scout::cpu::simd::tiles
