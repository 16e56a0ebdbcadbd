#include "test_util.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace scout::test {

CommandResult run_command(const std::string& command, bool merge_stderr) {
    CommandResult r;
    FILE* pipe = ::popen((command + (merge_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::filesystem::path tokenizer_file() {
    const std::filesystem::path p = SCOUT_TOKENIZER_PATH;
    return std::filesystem::exists(p) ? p : std::filesystem::path();
}

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && *ci != 0;
}

}  // namespace scout::test
