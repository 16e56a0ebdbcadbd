// The tiled attention kernel, written once over a vector trait (Vt) and compiled per instruction
// set (attention_portable.cpp, attention_avx2.cpp, attention_avx512.cpp).
//
// One task = one kv head, a subset of the q heads that read it, and a block of queries. Keys are
// walked in tiles of kTile positions aligned to absolute positions (multiples of kTile), with an
// online softmax per row (running max m, running sum l, output rescaled by exp(m_old - m_new)).
// Determinism: a row's float operations depend only on its own position, never on the other rows
// of its task:
//  - scores: lane j of a tile is sum_c q[c] * K[t0 + j][c], one FMA per c in order c = 0..d-1,
//    read from the tile as the KV stores it when K is stored in tiles (kv::KLayout::Tiles, already
//    [c][lane]), else from a transposed copy of the tile's K rows (the same floats either way);
//    masked lanes are replaced by -inf / 0;
//  - a row skips the tiles where it sees no key, so it visits exactly the tiles that hold its
//    visible keys; the tile max / sum reduce all kTile lanes in a fixed order (masked ones are 0);
//  - P·V: each row accumulates exactly its visible keys of the tile, in increasing position, and
//    each element c of the head always goes through the same path (vector chunk or scalar tail),
//    fixed by head_dim alone.
// K/V rows are read in their stored type where the instruction set allows (f16 / bf16 widened in
// registers as they are loaded: exact, so the same floats as decoding them first), and a later
// tile's rows are prefetched while this one is computed: at depth a decode step streams the whole
// KV, and without both the kernel spent as long waiting for and widening rows as computing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "backend/cpu/ops/attention.hpp"
#include "base/dtype.hpp"
#include "base/error.hpp"
#include "kv/attn_mask.hpp"
#include "kv/kv_cache.hpp"

namespace scout::cpu::attn {

inline constexpr int64_t kTile = 64;  // keys per tile, aligned to absolute positions
inline constexpr int64_t kPrefetchTiles = 2;  // how many tiles ahead the Prefetcher reads
static_assert(kTile == kv::kKTile, "a stored K tile is one kernel tile");

// How a tile's K/V rows are read: float32 (stored so, or decoded into the task's scratch first),
// or stored f16 / bf16 halves widened as they are loaded.
enum class RowSrc { Float, F16, BF16 };

// Element c of a row as float32 (scalar tails).
template <RowSrc S>
inline float row_value(const uint8_t* row, int64_t c) {
    if constexpr (S == RowSrc::Float) {
        return reinterpret_cast<const float*>(row)[c];
    } else {
        uint16_t h;
        std::memcpy(&h, row + 2 * c, sizeof h);
        return S == RowSrc::F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
}

// The cache lines of a later tile's stored K/V rows, asked for a few at a time from inside this
// tile's products: issued all at once they fill the core's miss buffers and stall the loads that
// follow, so the tile's compute would not overlap the later tile's memory traffic. They go to L2,
// two tiles ahead (kPrefetchTiles): a tile's K and V are 32 KiB at f16 (d = 128), L1's size, so
// prefetching into L1 evicted the tile being computed; one decode step at 64K keys (1.3 B model's
// shape, 2 threads, cold cache) took 4.3 ms with L1 one tile ahead, 2.9 ms with L2 two ahead.
class Prefetcher {
public:
    void reset(int64_t row_bytes) { n_rows_ = 0, row_ = 0, byte_ = 0, row_bytes_ = row_bytes; }
    void add(const uint8_t* row) { rows_[n_rows_++] = row; }
    // Asks for up to n more lines.
    void step(int n) {
        for (; n > 0 && row_ < n_rows_; --n) {
            __builtin_prefetch(rows_[row_] + byte_, 0, 2);  // read, into L2 (prefetcht1)
            if ((byte_ += 64) >= row_bytes_) byte_ = 0, ++row_;
        }
    }

private:
    const uint8_t* rows_[2 * kTile];
    int n_rows_ = 0, row_ = 0;
    int64_t byte_ = 0, row_bytes_ = 0;
};

struct TaskArgs {
    const float* q = nullptr;          // [S, H, d]
    const int64_t* positions = nullptr;
    int64_t i0 = 0, i1 = 0;            // query block [i0, i1) of the S queries
    int64_t g = 0;                     // kv head
    int64_t h0 = 0, h1 = 0;            // q heads [h0, h1), all reading kv head g
    const kv::LayerKv* kv = nullptr;
    const AttentionShape* shape = nullptr;
    float* out = nullptr;              // [S, H, d]
    float* fscratch = nullptr;         // scratch_floats(d, rows) floats
    int64_t* iscratch = nullptr;       // scratch_ints(queries, rows)
    const uint8_t** pscratch = nullptr;  // 2 * kTile row pointers
    float* kvscratch = nullptr;        // kv_scratch_floats(d): a tile's K and V rows decoded to float32
};

inline int64_t scratch_floats(int64_t d, int64_t rows) { return d * kTile + rows * (kTile + 3); }
inline int64_t kv_scratch_floats(int64_t d) { return 2 * kTile * d; }
inline int64_t scratch_ints(int64_t queries, int64_t rows) { return queries + rows; }

using TaskFn = void (*)(const TaskArgs&);
// Decodes n stored values of one K / V head (kv::LayerKv raw bytes) to float32: the fast twin of
// kv::kv_decode_row (kv/kv_type.cpp, the reference), bit-identical to it for every value but NaNs
// (still NaN). F16 through F16C (vcvtph2ps, exact for every half, subnormals too), BF16 by a shift;
// Q8_0, Q4_0 and F32 through the reference. Defined in attention_avx2.cpp: the processor must have
// AVX2 + F16C (SimdLevel::Avx2 and up). The reference decoded every f16 value with std::ldexp,
// which cost ~9 % of a decode step on the 1.3 B model at 128 positions (AVX2 machine, 2026-12-04).
void decode_kv_head_f16c(kv::KvType type, const uint8_t* src, int64_t n, float* dst);
void task_portable(const TaskArgs& a);
void task_avx2(const TaskArgs& a);
void task_avx512(const TaskArgs& a);

template <class Vt>
struct Kernel {
    using V = typename Vt::V;
    static constexpr int W = Vt::W;
    static_assert(kTile % W == 0);
    static constexpr int NVT = static_cast<int>(kTile) / W;  // vectors per tile row

    // Scores of NR rows for lanes [jc, jc + NV*W) of the tile: sc[r][j] = scale * sum_c q_r[c] kt[c][j],
    // kt [d][kTile] values read as KS says (float32, or halves widened as loaded).
    template <RowSrc KS, int NR, int NV>
    static void qk(const float* const* qrows, const uint8_t* kt, int64_t d, float scale, int jc, float* const* srows,
                   Prefetcher& pf) {
        V acc[NR][NV];
        for (int r = 0; r < NR; ++r)
            for (int v = 0; v < NV; ++v) acc[r][v] = Vt::zero();
        for (int64_t c = 0; c < d; ++c) {
            pf.step(2);  // with pv's 2 per key: a decode step's 128 + 128 steps cover an f16 tile's 512 lines
            V k[NV];
            for (int v = 0; v < NV; ++v) k[v] = load_row<KS>(kt, c * kTile + jc + v * W);
            for (int r = 0; r < NR; ++r) {
                const V b = Vt::set1(qrows[r][c]);
                for (int v = 0; v < NV; ++v) acc[r][v] = Vt::fma(b, k[v], acc[r][v]);
            }
        }
        const V s = Vt::set1(scale);
        for (int r = 0; r < NR; ++r)
            for (int v = 0; v < NV; ++v) Vt::store(srows[r] + jc + v * W, Vt::mul(acc[r][v], s));
    }

    template <RowSrc KS, int NR>
    static void qk_rows(const float* const* qrows, const uint8_t* kt, int64_t d, float scale, float* const* srows,
                        Prefetcher& pf) {
        for (int jc = 0; jc < static_cast<int>(kTile); jc += Vt::QK_NV * W)
            qk<KS, NR, Vt::QK_NV>(qrows, kt, d, scale, jc, srows, pf);
    }

    // W values of a row from element c on, as float32.
    template <RowSrc S>
    static V load_row(const uint8_t* row, int64_t c) {
        if constexpr (S == RowSrc::Float) return Vt::load(reinterpret_cast<const float*>(row) + c);
        else return Vt::template load_halves<S == RowSrc::F16>(row + 2 * c);
    }

    // out_r[c0 .. c0 + NV*W) = out_r * alpha_r + sum_{j=u..w} p_r[j] * vrow[j][c0 ..].
    template <RowSrc S, int NR, int NV>
    static void pv(float* const* orows, const float* const* prows, const float* alpha, const uint8_t* const* vrows,
                   int u, int w, int64_t c0, Prefetcher& pf) {
        V acc[NR][NV];
        for (int r = 0; r < NR; ++r) {
            const V al = Vt::set1(alpha[r]);
            for (int v = 0; v < NV; ++v) acc[r][v] = Vt::mul(Vt::load(orows[r] + c0 + v * W), al);
        }
        for (int j = u; j <= w; ++j) {
            pf.step(2);
            V x[NV];
            for (int v = 0; v < NV; ++v) x[v] = load_row<S>(vrows[j], c0 + v * W);
            for (int r = 0; r < NR; ++r) {
                const V b = Vt::set1(prows[r][j]);
                for (int v = 0; v < NV; ++v) acc[r][v] = Vt::fma(b, x[v], acc[r][v]);
            }
        }
        for (int r = 0; r < NR; ++r)
            for (int v = 0; v < NV; ++v) Vt::store(orows[r] + c0 + v * W, acc[r][v]);
    }

    template <RowSrc S, int NR>
    static void pv_rows(float* const* orows, const float* const* prows, const float* alpha, const uint8_t* const* vrows,
                        int u, int w, int64_t d, Prefetcher& pf) {
        constexpr int64_t chunk = Vt::PV_NV * W;
        int64_t c0 = 0;
        for (; c0 + chunk <= d; c0 += chunk) pv<S, NR, Vt::PV_NV>(orows, prows, alpha, vrows, u, w, c0, pf);
        for (; c0 + W <= d; c0 += W) pv<S, NR, 1>(orows, prows, alpha, vrows, u, w, c0, pf);
        for (; c0 < d; ++c0)  // scalar tail, the same elements for every row of this head_dim
            for (int r = 0; r < NR; ++r) {
                float o = orows[r][c0] * alpha[r];
                for (int j = u; j <= w; ++j) o = Vt::sfma(prows[r][j], row_value<S>(vrows[j], c0), o);
                orows[r][c0] = o;
            }
    }

    static void run(const TaskArgs& a) {
        if constexpr (Vt::kWidensHalves) {
            if (a.kv->type() == kv::KvType::F16) return run_rows<RowSrc::F16>(a);
            if (a.kv->type() == kv::KvType::BF16) return run_rows<RowSrc::BF16>(a);
        }
        run_rows<RowSrc::Float>(a);
    }

    // Key t's slot: t itself, or t mod C in a chunk ring.
    static int64_t key_slot(const TaskArgs& a, int64_t t) {
        return a.shape->chunked ? t % a.shape->chunk_size : t;
    }

    // Points krows / vrows[t - t0] at key t's head g for t in [ka, kb]: the stored rows, or (S ==
    // Float and a type other than f32) their decoding into the task's scratch. With K stored in
    // tiles only vrows is set (K is read as a tile, stored_k_tile).
    template <RowSrc S>
    static void tile_rows(const TaskArgs& a, int64_t t0, int64_t ka, int64_t kb, const uint8_t** krows,
                          const uint8_t** vrows) {
        const int64_t d = a.shape->head_dim;
        const bool decode = S == RowSrc::Float && a.kv->type() != kv::KvType::F32;
        const bool k_rows = !a.kv->k_tiled();
        for (int64_t t = ka; t <= kb; ++t) {
            const int64_t slot = key_slot(a, t), off = a.g * a.kv->head_bytes();
            const uint8_t* v = a.kv->v_raw(slot) + off;
            if (decode) {
                float* vd = a.kvscratch + (kTile + t - t0) * d;
                Vt::decode_kv(a.kv->type(), v, d, vd);
                v = reinterpret_cast<const uint8_t*>(vd);
            }
            vrows[t - t0] = v;
            if (!k_rows) continue;
            const uint8_t* k = a.kv->k_raw(slot) + off;
            if (decode) {
                float* kd = a.kvscratch + (t - t0) * d;
                Vt::decode_kv(a.kv->type(), k, d, kd);
                k = reinterpret_cast<const uint8_t*>(kd);
            }
            krows[t - t0] = k;
        }
    }

    // The stored K tile of head g for keys [t0, t0 + kTile) (K stored in tiles): [d][kTile] values.
    static const uint8_t* stored_k_tile(const TaskArgs& a, int64_t t0) { return a.kv->k_tile(key_slot(a, t0), a.g); }

    // Queues the stored K/V bytes of keys [ka, kb] (head g; t0 = the tile's first key) for the
    // prefetcher: rows, or for K stored in tiles the whole tile (kTile pieces of a head's bytes).
    static void queue_rows(const TaskArgs& a, int64_t t0, int64_t ka, int64_t kb, Prefetcher& pf) {
        const int64_t hb = a.kv->head_bytes();
        pf.reset(hb);
        if (a.kv->k_tiled()) {
            const uint8_t* kt = stored_k_tile(a, t0);
            for (int64_t j = 0; j < kTile; ++j) pf.add(kt + j * hb);
        }
        for (int64_t t = ka; t <= kb; ++t) {
            const int64_t slot = key_slot(a, t), off = a.g * hb;
            if (!a.kv->k_tiled()) pf.add(a.kv->k_raw(slot) + off);
            pf.add(a.kv->v_raw(slot) + off);
        }
    }

    template <RowSrc S>
    static void run_rows(const TaskArgs& a) {
        const AttentionShape& sh = *a.shape;
        const int64_t H = sh.n_heads, d = sh.head_dim;
        const int64_t nh = a.h1 - a.h0, nq = a.i1 - a.i0, R = nq * nh;
        constexpr float kNegInf = -std::numeric_limits<float>::infinity();

        // Scratch from the caller (no allocation in here): see scratch_floats / scratch_ints.
        float* kt = a.fscratch;
        float* sc = kt + d * kTile;
        float* m_buf = sc + R * kTile;
        float* l_buf = m_buf + R;
        float* alpha_buf = l_buf + R;
        int64_t* lo_buf = a.iscratch;
        int64_t* active = lo_buf + nq;
        const uint8_t** vrows_buf = a.pscratch;
        const uint8_t** krows_buf = a.pscratch + kTile;
        std::fill_n(m_buf, R, kNegInf);
        std::fill_n(l_buf, R, 0.0f);

        int64_t kmin = std::numeric_limits<int64_t>::max(), kmax = std::numeric_limits<int64_t>::min();
        for (int64_t i = a.i0; i < a.i1; ++i) {
            const int64_t pos = a.positions[i];
            const int64_t lo = kv::first_visible_key(pos, sh.chunked, sh.chunk_size);
            lo_buf[i - a.i0] = lo;
            kmin = std::min(kmin, lo);
            kmax = std::max(kmax, pos);
            for (int64_t h = a.h0; h < a.h1; ++h) std::fill_n(a.out + (i * H + h) * d, d, 0.0f);
        }
        if (R == 0) return;

        constexpr int QR = Vt::QK_NR, PR = Vt::PV_NR;
        const float* qrows[QR];
        float* srows[QR];
        float* orows[PR];
        const float* prows[PR];
        int64_t n_active = 0;  // rows (r) active in the current tile: active[0 .. n_active)
        Prefetcher pf;         // a later tile's rows, while this one is computed
        const bool k_tiled = a.kv->k_tiled();
        check(!k_tiled || !sh.chunked || sh.chunk_size % kTile == 0,
              "attention: K stored in tiles needs chunks of whole tiles (kv::k_tiles_fit)");

        for (int64_t t0 = (kmin / kTile) * kTile; t0 <= kmax; t0 += kTile) {
            const int64_t t_last = t0 + kTile - 1;
            const int64_t ka = std::max(t0, kmin), kb = std::min(t_last, kmax);
            // Active rows: queries that see at least one key of this tile.
            n_active = 0;
            for (int64_t qi = 0; qi < nq; ++qi) {
                const int64_t pos = a.positions[a.i0 + qi];
                if (lo_buf[qi] <= t_last && pos >= t0)
                    for (int64_t hh = 0; hh < nh; ++hh) active[n_active++] = qi * nh + hh;
            }
            if (n_active == 0) continue;
            // The K tile as [d][kTile]: stored so (read in its type, or for S == Float and a type
            // other than f32 decoded into the scratch), or a transposed copy of rows ka..kb. Either
            // way the lanes outside [ka, kb] hold whatever the page or scratch held, and their
            // scores are replaced by -inf / 0 before any use.
            tile_rows<S>(a, t0, ka, kb, krows_buf, vrows_buf);
            if (const int64_t tp = t0 + kPrefetchTiles * kTile; tp <= kmax)
                queue_rows(a, tp, std::max(tp, kmin), std::min(tp + kTile - 1, kmax), pf);
            else pf.reset(0);
            const uint8_t* ktile = reinterpret_cast<const uint8_t*>(kt);
            bool ktile_halves = false;  // ktile holds the stored halves (S is F16 / BF16)
            if (!k_tiled) {
                Vt::template transpose_k<S>(krows_buf, static_cast<int>(ka - t0), static_cast<int>(kb - t0), d, kt, kTile);
            } else if (S != RowSrc::Float || a.kv->type() == kv::KvType::F32) {
                ktile = stored_k_tile(a, t0);
                ktile_halves = S != RowSrc::Float;
            } else {
                Vt::decode_kv(a.kv->type(), stored_k_tile(a, t0), d * kTile, kt);
            }
            // Scores.
            const auto row_q = [&](int64_t r) {
                const int64_t qi = r / nh, h = a.h0 + r % nh;
                return a.q + ((a.i0 + qi) * H + h) * d;
            };
            const auto scores = [&]<RowSrc KS>() {
                std::size_t ia = 0;
                for (; ia + QR <= static_cast<std::size_t>(n_active); ia += QR) {
                    for (int k = 0; k < QR; ++k) {
                        qrows[k] = row_q(active[ia + k]);
                        srows[k] = sc + active[ia + k] * kTile;
                    }
                    qk_rows<KS, QR>(qrows, ktile, d, sh.scale, srows, pf);
                }
                for (; ia < static_cast<std::size_t>(n_active); ++ia) {
                    qrows[0] = row_q(active[ia]);
                    srows[0] = sc + active[ia] * kTile;
                    qk_rows<KS, 1>(qrows, ktile, d, sh.scale, srows, pf);
                }
            };
            if (ktile_halves) scores.template operator()<S>();
            else scores.template operator()<RowSrc::Float>();
            // Online softmax per active row.
            for (int64_t ia2 = 0; ia2 < n_active; ++ia2) {
                const int64_t r = active[ia2];
                const int64_t qi = r / nh;
                const int64_t pos = a.positions[a.i0 + qi];
                const int u = static_cast<int>(std::max(lo_buf[qi], t0) - t0);
                const int w = static_cast<int>(std::min(pos, t_last) - t0);
                float* s = sc + r * kTile;
                for (int j = 0; j < u; ++j) s[j] = kNegInf;
                for (int j = w + 1; j < static_cast<int>(kTile); ++j) s[j] = kNegInf;
                V mx = Vt::load(s);
                for (int v = 1; v < NVT; ++v) mx = Vt::max(mx, Vt::load(s + v * W));
                const float m_old = m_buf[r];
                const float m_new = std::max(m_old, Vt::hmax(mx));
                const float alpha = m_old == kNegInf ? 0.0f : std::exp(m_old - m_new);
                const V mv = Vt::set1(m_new);
                V sum = Vt::zero();
                for (int v = 0; v < NVT; ++v) {
                    const V p = Vt::exp(Vt::sub(Vt::load(s + v * W), mv));
                    Vt::store(s + v * W, p);
                }
                for (int j = 0; j < u; ++j) s[j] = 0.0f;
                for (int j = w + 1; j < static_cast<int>(kTile); ++j) s[j] = 0.0f;
                for (int v = 0; v < NVT; ++v) sum = Vt::add(sum, Vt::load(s + v * W));
                l_buf[r] = l_buf[r] * alpha + Vt::hsum(sum);
                m_buf[r] = m_new;
                alpha_buf[r] = alpha;
            }
            // P·V, per query: its heads share the visible range and the V rows.
            const uint8_t* const* vrows = vrows_buf;
            for (std::size_t k = 0; k < static_cast<std::size_t>(n_active); k += static_cast<std::size_t>(nh)) {
                const int64_t r0 = active[k], qi = r0 / nh;
                const int64_t pos = a.positions[a.i0 + qi];
                const int u = static_cast<int>(std::max(lo_buf[qi], t0) - t0);
                const int w = static_cast<int>(std::min(pos, t_last) - t0);
                for (int64_t hh = 0; hh < nh; hh += PR) {
                    const int n = static_cast<int>(std::min<int64_t>(PR, nh - hh));
                    for (int k2 = 0; k2 < n; ++k2) {
                        orows[k2] = a.out + ((a.i0 + qi) * H + a.h0 + hh + k2) * d;
                        prows[k2] = sc + (r0 + hh + k2) * kTile;
                    }
                    const float* al = alpha_buf + r0 + hh;
                    switch (n) {
                        case 1: pv_rows<S, 1>(orows, prows, al, vrows, u, w, d, pf); break;
                        case 2: if constexpr (PR >= 2) pv_rows<S, 2>(orows, prows, al, vrows, u, w, d, pf); break;
                        case 3: if constexpr (PR >= 3) pv_rows<S, 3>(orows, prows, al, vrows, u, w, d, pf); break;
                        default: if constexpr (PR >= 4) pv_rows<S, 4>(orows, prows, al, vrows, u, w, d, pf); break;
                    }
                }
            }
        }
        // Normalise.
        for (int64_t r = 0; r < R; ++r) {
            const int64_t qi = r / nh, h = a.h0 + r % nh;
            float* o = a.out + ((a.i0 + qi) * H + h) * d;
            const float inv = 1.0f / l_buf[r];
            for (int64_t c = 0; c < d; ++c) o[c] *= inv;
        }
    }
};

}  // namespace scout::cpu::attn
