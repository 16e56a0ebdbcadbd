#include "apps/build_info.hpp"

#include "base/cpu_features.hpp"
#include "base/error.hpp"

namespace scout::apps {

std::string version_text() {
    const BuildInfo& b = k_build_info;
    // Every kernel family has a variant per level, each compiled with its own target flags
    // (base/cpu_features.hpp), so all levels are in every binary; the CPU picks at run time.
    std::string simd;
    for (const SimdLevel l : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
        simd += cat(simd.empty() ? "" : " ", simd_level_name(l));
    return cat("scout ", b.version, " (git ", b.git_commit, ")\n",
               "compiler  ", b.compiler, " (", b.build, ")\n",
               "simd      ", simd, " compiled in; this CPU runs ", simd_level_name(best_simd_level()), "\n",
               "backends  ", b.backends);
}

}  // namespace scout::apps
