// AVX2 + FMA + F16C int8 kernels (compiled with -mavx2 -mfma -mf16c; see vec_dot_x86.inl).
#define SCOUT_VNNI 0
#include "backend/cpu/kernels/vec_dot_x86.inl"

namespace scout::cpu::detail {
const VecDotKernels* vec_dot_kernels_avx2(DType weight) { return x86_table(weight); }
}  // namespace scout::cpu::detail
