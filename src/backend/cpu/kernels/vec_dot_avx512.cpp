// AVX-512 VNNI int8 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni plus
// the AVX2 set; see vec_dot_x86.inl): vpdpbusd / vpdpwssd on 256-bit registers.
#define SCOUT_VNNI 1
#include "backend/cpu/kernels/vec_dot_x86.inl"

namespace scout::cpu::detail {
const VecDotKernels* vec_dot_kernels_avx512(DType weight) { return x86_table(weight); }
}  // namespace scout::cpu::detail
