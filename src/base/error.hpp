// Error reporting: every user-facing failure is a scout::Error whose message says
// what is wrong and, where possible, how to fix it. No error codes, no abort().
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace scout {

class Error : public std::runtime_error {
public:
    explicit Error(std::string message) : std::runtime_error(std::move(message)) {}
};

// Throws scout::Error(message) when cond is false. Usage: check(n > 0, "n must be positive");
// A literal message costs nothing unless it is thrown. A cat(...) message is built before the
// call: in code that runs per token (the forward pass, kernels) write
// `if (!cond) throw Error(cat(...))` instead, so that nothing is allocated when all is well.
inline void check(bool cond, const char* message) {
    if (!cond) throw Error(message);
}
inline void check(bool cond, const std::string& message) {
    if (!cond) throw Error(message);
}

// Concatenates streamable values into a string: cat("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string cat(const Args&... args);

}  // namespace scout

#include <sstream>

template <typename... Args>
std::string scout::cat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
