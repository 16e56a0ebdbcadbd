// Turns a run-time DType into a compile-time template argument: the one place that lists
// which weight formats the kernels are instantiated for (few instantiations keep the build short).
#pragma once

#include <type_traits>

#include "base/dtype.hpp"
#include "base/error.hpp"

namespace scout::cuda {

template <DType DT>
using DTypeTag = std::integral_constant<DType, DT>;

// f(DTypeTag<DT>{}) for the weight formats the GPU reads: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
template <class F>
void dispatch_weight_dtype(DType t, const char* what, F&& f) {
    switch (t) {
        case DType::F32: f(DTypeTag<DType::F32>{}); return;
        case DType::F16: f(DTypeTag<DType::F16>{}); return;
        case DType::BF16: f(DTypeTag<DType::BF16>{}); return;
        case DType::Q8_0: f(DTypeTag<DType::Q8_0>{}); return;
        case DType::Q4_0: f(DTypeTag<DType::Q4_0>{}); return;
        case DType::Q4_K: f(DTypeTag<DType::Q4_K>{}); return;
        case DType::Q5_K: f(DTypeTag<DType::Q5_K>{}); return;
        case DType::Q6_K: f(DTypeTag<DType::Q6_K>{}); return;
        default: break;
    }
    throw Error(cat(what, ": weights of type ", dtype_name(t), " are not supported on the GPU"));
}

// The float formats only (norm weights, the HF expert layout).
template <class F>
void dispatch_float_dtype(DType t, const char* what, F&& f) {
    switch (t) {
        case DType::F32: f(DTypeTag<DType::F32>{}); return;
        case DType::F16: f(DTypeTag<DType::F16>{}); return;
        case DType::BF16: f(DTypeTag<DType::BF16>{}); return;
        default: break;
    }
    throw Error(cat(what, ": needs F32, F16 or BF16 weights, not ", dtype_name(t)));
}

inline unsigned grid_1d(int64_t n, int block) { return static_cast<unsigned>((n + block - 1) / block); }

}  // namespace scout::cuda
