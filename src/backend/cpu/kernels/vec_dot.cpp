// Kernel selection, and the Portable level: the plain scalar definitions every SIMD kernel is
// tested against. Per weight block: the integer products are summed exactly (int32), then
//   acc += (d_w * d_a) * isum                      (Q8_0, Q4_0 after its -8 offset, Q6_K)
//   acc += (d_w * d_a) * isum - (dmin_w * d_a) * msum   (Q4_K, Q5_K; msum = Σ_s m[s] Σ_sub a)
// in float32, one block after the other.
#include "backend/cpu/kernels/vec_dot.hpp"

#include "backend/cpu/kernels/gemm_panel.hpp"
#include "backend/cpu/kernels/q8_activations.hpp"
#include "base/error.hpp"
#include "quant/blocks.hpp"
#include "quant/quant.hpp"

namespace scout::cpu {
// What these kernels take from the block formats (src/quant).
using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
using quant::kQK;
using quant::type_name;
using quant::unpack_q6_k;
using quant::unpack_scale_min_k4;
namespace {

template <class ABlock>
const ABlock* act_row(const void* a, std::size_t a_stride, int t) {
    return reinterpret_cast<const ABlock*>(static_cast<const uint8_t*>(a) + static_cast<std::size_t>(t) * a_stride);
}

template <int NT>
void vec_dot_q8_0_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ8_0*>(vw);
    for (int t = 0; t < NT; ++t) {
        const BlockQ8A* a = act_row<BlockQ8A>(va, as, t);
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
            int32_t isum = 0;
            for (int i = 0; i < kQK; ++i) isum += int32_t{w[b].qs[i]} * int32_t{a[b].qs[i]};
            acc += (f16_to_f32(w[b].d) * a[b].d) * static_cast<float>(isum);
        }
        y[t * ys] = acc;
    }
}

template <int NT>
void vec_dot_q4_0_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ4_0*>(vw);
    for (int t = 0; t < NT; ++t) {
        const BlockQ8A* a = act_row<BlockQ8A>(va, as, t);
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
            int32_t isum = 0;
            for (int j = 0; j < kQK / 2; ++j) {
                isum += ((w[b].qs[j] & 0x0F) - 8) * int32_t{a[b].qs[j]};
                isum += ((w[b].qs[j] >> 4) - 8) * int32_t{a[b].qs[j + kQK / 2]};
            }
            acc += (f16_to_f32(w[b].d) * a[b].d) * static_cast<float>(isum);
        }
        y[t * ys] = acc;
    }
}

// Q4_K and Q5_K share everything but the quant of element l of a 64-element group.
template <class WBlock, int NT>
void vec_dot_k4k5_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const WBlock*>(vw);
    for (int t = 0; t < NT; ++t) {
        const BlockQ8KA* a = act_row<BlockQ8KA>(va, as, t);
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
            int32_t isum = 0, msum = 0;
            for (int s = 0; s < 8; ++s) {  // sub-block s: elements 32 s .. 32 s + 31
                uint8_t sc, m;
                unpack_scale_min_k4(s, w[b].scales, sc, m);
                const int g = s / 2;
                int32_t qa = 0, asum = 0;
                for (int l = 0; l < 32; ++l) {
                    const uint8_t byte = w[b].qs[32 * g + l];
                    int q = (s % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
                    if constexpr (sizeof(WBlock) == sizeof(BlockQ5_K)) q += ((w[b].qh[l] >> s) & 1) * 16;
                    qa += q * int32_t{a[b].qs[32 * s + l]};
                    asum += a[b].qs[32 * s + l];
                }
                isum += sc * qa;
                msum += m * asum;
            }
            acc += (f16_to_f32(w[b].d) * a[b].d) * static_cast<float>(isum);
            acc -= (f16_to_f32(w[b].dmin) * a[b].d) * static_cast<float>(msum);
        }
        y[t * ys] = acc;
    }
}

template <int NT>
void vec_dot_q6_k_q8(int64_t nb, const void* vw, const void* va, std::size_t as, float* y, int64_t ys) {
    const auto* w = static_cast<const BlockQ6_K*>(vw);
    for (int t = 0; t < NT; ++t) {
        const BlockQ8KA* a = act_row<BlockQ8KA>(va, as, t);
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
            int32_t isum = 0;
            for (int h = 0; h < 2; ++h) {  // the layout of blocks.hpp, half by half
                const uint8_t* ql = w[b].ql + 64 * h;
                const uint8_t* qh = w[b].qh + 32 * h;
                const int8_t* sc = w[b].scales + 8 * h;
                const int8_t* aq = a[b].qs + 128 * h;
                for (int l = 0; l < 32; ++l) {
                    const int is = l / 16;
                    int q[4];
                    unpack_q6_k(ql, qh, l, q);
                    isum += sc[is + 0] * q[0] * aq[l] + sc[is + 2] * q[1] * aq[l + 32] + sc[is + 4] * q[2] * aq[l + 64] +
                            sc[is + 6] * q[3] * aq[l + 96];
                }
            }
            acc += (f16_to_f32(w[b].d) * a[b].d) * static_cast<float>(isum);
        }
        y[t * ys] = acc;
    }
}

// tile[k] = the kernel instantiated for k + 1 tokens.
template <int... I>
struct Widths {};
template <template <int> class K, int... I>
constexpr VecDotKernels table_of(Widths<I...>) {
    return {{K<I + 1>::fn...}, kMaxTileTokens};
}
template <template <int> class K>
constexpr VecDotKernels table() {
    return table_of<K>(Widths<0, 1, 2, 3, 4, 5, 6, 7>{});
}
template <int NT>
struct Q8_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_q8_0_q8<NT>;
};
template <int NT>
struct Q4_0Fn {
    static constexpr VecDotTileFn fn = vec_dot_q4_0_q8<NT>;
};
template <int NT>
struct Q4_KFn {
    static constexpr VecDotTileFn fn = vec_dot_k4k5_q8<BlockQ4_K, NT>;
};
template <int NT>
struct Q5_KFn {
    static constexpr VecDotTileFn fn = vec_dot_k4k5_q8<BlockQ5_K, NT>;
};
template <int NT>
struct Q6_KFn {
    static constexpr VecDotTileFn fn = vec_dot_q6_k_q8<NT>;
};
constexpr VecDotKernels kQ8_0 = table<Q8_0Fn>();
constexpr VecDotKernels kQ4_0 = table<Q4_0Fn>();
constexpr VecDotKernels kQ4_K = table<Q4_KFn>();
constexpr VecDotKernels kQ5_K = table<Q5_KFn>();
constexpr VecDotKernels kQ6_K = table<Q6_KFn>();

}  // namespace

namespace detail {

const VecDotKernels* vec_dot_kernels_portable(DType weight) {
    switch (weight) {
        case DType::Q8_0: return &kQ8_0;
        case DType::Q4_0: return &kQ4_0;
        case DType::Q4_K: return &kQ4_K;
        case DType::Q5_K: return &kQ5_K;
        case DType::Q6_K: return &kQ6_K;
        default: return nullptr;
    }
}

#ifndef SCOUT_X86_KERNELS
const VecDotKernels* vec_dot_kernels_avx2(DType) { return nullptr; }
const VecDotKernels* vec_dot_kernels_avx512(DType) { return nullptr; }
const PanelKernel* panel_kernel_avx512(DType) { return nullptr; }
#endif

}  // namespace detail

const VecDotKernels& vec_dot_kernels(DType weight, SimdLevel level) {
    if (!has_q8_kernel(weight)) throw Error(cat("no int8 kernel for weight type ", type_name(weight)));
    if (!simd_level_supported(level))
        throw Error(cat("SIMD level ", simd_level_name(level), " is not supported by this processor"));
    const VecDotKernels* k = nullptr;
    switch (level) {
        case SimdLevel::Portable: k = detail::vec_dot_kernels_portable(weight); break;
        case SimdLevel::Avx2: k = detail::vec_dot_kernels_avx2(weight); break;
        case SimdLevel::Avx512: k = detail::vec_dot_kernels_avx512(weight); break;
    }
    if (k == nullptr)
        throw Error(cat("SIMD level ", simd_level_name(level), " kernels are not part of this build"));
    return *k;
}

const PanelKernel* panel_kernel(DType weight, SimdLevel level) {
    if (level != SimdLevel::Avx512 || !simd_level_supported(level)) return nullptr;
    return detail::panel_kernel_avx512(weight);
}

float vec_dot_q8(DType weight, SimdLevel level, int64_t nb, const void* w, const void* a) {
    float y = 0.0f;
    vec_dot_kernels(weight, level).tile[0](nb, w, a, 0, &y, 0);
    return y;
}

}  // namespace scout::cpu
