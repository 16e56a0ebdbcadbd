#include "backend/cpu/ops/matmul.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "backend/cpu/ops/matmul_float.hpp"
#include "backend/cpu/kernels/q8_activations.hpp"
#include "backend/cpu/ops/matmul_quant.hpp"
#include "base/error.hpp"

namespace scout::cpu {

namespace {

using SliceFn = void (*)(const float*, int64_t, const WeightMatrix&, float*, int64_t, int64_t);

SliceFn nt_kernel(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return simd::nt_rows_avx512;
        case SimdLevel::Avx2: return simd::nt_rows_avx2;
        case SimdLevel::Portable: break;
    }
    return simd::nt_rows_portable;
}

SliceFn nn_kernel(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return simd::nn_cols_avx512;
        case SimdLevel::Avx2: return simd::nn_cols_avx2;
        case SimdLevel::Portable: break;
    }
    return simd::nn_cols_portable;
}

bool float_kernels_cover(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F16; }

void check_level(SimdLevel level) {
    if (!(simd_level_supported(level))) throw Error(cat("this processor lacks the ", simd_level_name(level), " instructions the kernel was asked to use"));
}

}  // namespace

SimdLevel default_simd_level() {
    static const SimdLevel level = best_simd_level();  // cpuid once; immutable afterwards
    return level;
}

void matmul_nt(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool, SimdLevel level) {
    if (dtype_is_quantized(w.dtype)) {
        matmul_nt_quant(x, T, w, y, pool, level);
        return;
    }
    if (!(float_kernels_cover(w.dtype))) throw Error(cat("weight dtype ", dtype_name(w.dtype), " is not supported by the CPU kernels"));
    check_level(level);
    const SliceFn kernel = nt_kernel(level);
    pool.parallel_for_grain(w.rows, 8, [&](int64_t n0, int64_t n1, int) { kernel(x, T, w, y, n0, n1); });
}

void matmul_nt(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    matmul_nt(x, T, w, y, pool, default_simd_level());
}

void matmul_nt_group(const float* x, int64_t T, std::span<const MatmulOut> outs, ThreadPool& pool, SimdLevel level) {
    check_level(level);
    // Per product: its first row in the combined row space and, if quantized, its input. Fixed
    // arrays and per-thread input buffers kept between calls: a forward pass allocates nothing.
    constexpr std::size_t kMaxGroup = 8;
    if (outs.size() > kMaxGroup) throw Error("matmul_nt_group: at most 8 products per group");
    std::array<int64_t, kMaxGroup + 1> first_row{};
    std::array<const QuantizedInput*, kMaxGroup> inputs{};
    thread_local std::array<QuantizedInput, kMaxGroup> quantized;
    std::size_t n_quantized = 0;
    for (std::size_t i = 0; i < outs.size(); ++i) {
        const WeightMatrix& w = outs[i].w;
        if (i > 0 && w.cols != outs[0].w.cols) throw Error("matmul_nt_group: all weights must take the same input width");
        first_row[i + 1] = first_row[i] + w.rows;
        if (dtype_is_quantized(w.dtype)) {
            for (std::size_t j = 0; j < i && !inputs[i]; ++j)
                if (inputs[j] && same_input_format(outs[j].w.dtype, w.dtype)) inputs[i] = inputs[j];
            if (!inputs[i]) {
                quantize_input_into(x, T, w.cols, w.dtype, pool, quantized[n_quantized]);
                inputs[i] = &quantized[n_quantized++];
            }
        } else if (!float_kernels_cover(w.dtype)) {
            throw Error(cat("weight dtype ", dtype_name(w.dtype), " is not supported by the CPU kernels"));
        }
    }
    const SliceFn float_kernel = nt_kernel(level);
    pool.parallel_for_grain(first_row[outs.size()], 16, [&](int64_t r0, int64_t r1, int) {
        for (std::size_t i = 0; i < outs.size(); ++i) {
            const int64_t n0 = std::max(r0, first_row[i]) - first_row[i];
            const int64_t n1 = std::min(r1, first_row[i + 1]) - first_row[i];
            if (n0 >= n1) continue;
            if (inputs[i])
                matmul_nt_quant_rows(inputs[i]->bytes.data(), inputs[i]->row_bytes, T, outs[i].w, outs[i].y, n0, n1, level);
            else
                float_kernel(x, T, outs[i].w, outs[i].y, n0, n1);
        }
    });
}

void matmul_nt_group(const float* x, int64_t T, std::span<const MatmulOut> outs, ThreadPool& pool) {
    matmul_nt_group(x, T, outs, pool, default_simd_level());
}

std::size_t prepared_row_bytes(DType weight, int64_t K) {
    if (dtype_is_quantized(weight)) return activation_row_bytes(weight, K);
    if (!float_kernels_cover(weight)) throw Error(cat("weight dtype ", dtype_name(weight), " is not supported by the CPU kernels"));
    return 0;
}

bool same_prepared_format(DType a, DType b) {
    const bool qa = dtype_is_quantized(a), qb = dtype_is_quantized(b);
    return qa == qb && (!qa || same_input_format(a, b));
}

void prepare_row(DType weight, const float* x, int64_t K, uint8_t* out) {
    if (dtype_is_quantized(weight)) quantize_activation_row(weight, x, out, K);
}

void matmul_nt_rows(const PreparedRows& in, int64_t T, const WeightMatrix& w, float* y, int64_t n0, int64_t n1) {
    const SimdLevel level = default_simd_level();
    if (dtype_is_quantized(w.dtype)) {
        check(in.q != nullptr, "matmul_nt_rows: a quantized weight needs its prepared rows");
        matmul_nt_quant_rows(in.q, in.q_row_bytes, T, w, y, n0, n1, level);
    } else {
        nt_kernel(level)(in.x, T, w, y, n0, n1);
    }
}

void matmul_nn(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool, SimdLevel level) {
    if (dtype_is_quantized(w.dtype)) {
        // Block formats are packed along rows; the [in, out] layout only occurs in HF
        // checkpoints (never quantized), so the portable kernel's row conversion suffices.
        level = SimdLevel::Portable;
    } else if (!float_kernels_cover(w.dtype)) {
        throw Error(cat("weight dtype ", dtype_name(w.dtype), " is not supported by the CPU kernels"));
    }
    check_level(level);
    const SliceFn kernel = nn_kernel(level);
    pool.parallel_for_grain(w.cols, simd::kNnColumnGrain,
                            [&](int64_t n0, int64_t n1, int) { kernel(x, T, w, y, n0, n1); });
}

void matmul_nn(const float* x, int64_t T, const WeightMatrix& w, float* y, ThreadPool& pool) {
    matmul_nn(x, T, w, y, pool, default_simd_level());
}

void matmul_nt_ref(const float* x, int64_t T, const WeightMatrix& w, float* y) {
    for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < w.rows; ++n) {
            double s = 0.0;
            for (int64_t k = 0; k < w.cols; ++k) s += static_cast<double>(x[t * w.cols + k]) * w.at(n, k);
            y[t * w.rows + n] = static_cast<float>(s);
        }
}

void matmul_nn_ref(const float* x, int64_t T, const WeightMatrix& w, float* y) {
    for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < w.cols; ++n) {
            double s = 0.0;
            for (int64_t k = 0; k < w.rows; ++k) s += static_cast<double>(x[t * w.rows + k]) * w.at(k, n);
            y[t * w.cols + n] = static_cast<float>(s);
        }
}

}  // namespace scout::cpu
