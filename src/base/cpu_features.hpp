// Which SIMD instruction sets this processor offers, read once with cpuid (via the compiler's
// __builtin_cpu_supports). Kernels come in per-ISA variants compiled with their own target flags;
// the caller picks one with best_simd_level() or forces a lower level (tests run every level the
// machine supports against the plain reference).
#pragma once

#include <string_view>

namespace scout {

struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512bf16 = false;
};

// Ordered: a higher level implies every lower one is usable.
enum class SimdLevel {
    Portable = 0,  // plain C++ (whatever the compiler vectorises for the build target)
    Avx2 = 1,      // AVX2 + FMA + F16C
    Avx512 = 2,    // AVX-512 F/BW/VL + VNNI (the "Zen 4 / Ice Lake and later" set)
};

CpuFeatures detect_cpu_features();
// The highest level whose instructions this processor has.
SimdLevel best_simd_level();
bool simd_level_supported(SimdLevel level);
std::string_view simd_level_name(SimdLevel level);

}  // namespace scout
