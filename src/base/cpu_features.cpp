#include "base/cpu_features.hpp"

namespace scout {

CpuFeatures detect_cpu_features() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = __builtin_cpu_supports("f16c");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    return f;
}

bool simd_level_supported(SimdLevel level) {
    const CpuFeatures f = detect_cpu_features();
    switch (level) {
        case SimdLevel::Portable:
            return true;
        case SimdLevel::Avx2:
            return f.avx2 && f.fma && f.f16c;
        case SimdLevel::Avx512:
            return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
    }
    return false;
}

SimdLevel best_simd_level() {
    if (simd_level_supported(SimdLevel::Avx512)) return SimdLevel::Avx512;
    if (simd_level_supported(SimdLevel::Avx2)) return SimdLevel::Avx2;
    return SimdLevel::Portable;
}

std::string_view simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::Portable:
            return "portable";
        case SimdLevel::Avx2:
            return "avx2";
        case SimdLevel::Avx512:
            return "avx512";
    }
    return "?";
}

}  // namespace scout
