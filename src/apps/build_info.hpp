// What `scout --version` reports: facts fixed when the binary was built (the values come from
// CMake; the commit is read at build time by cmake/build_info.cmake) and the SIMD levels.
#pragma once

#include <string>

namespace scout::apps {

struct BuildInfo {
    const char* version;     // the project version (CMakeLists.txt)
    const char* git_commit;  // short hash, "-dirty" with uncommitted changes
    const char* compiler;    // "GNU 12.2.0"
    const char* build;       // "Release, -march=native"
    const char* backends;    // compute backends compiled in, space separated ("cpu")
};
extern const BuildInfo k_build_info;

// The --version text: version and commit, compiler, SIMD kernel levels (and which this CPU
// runs), backends.
std::string version_text();

}  // namespace scout::apps
