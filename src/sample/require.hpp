// Internal to src/sample: a check whose message is only built on failure. scout::check takes a
// ready std::string, which costs an allocation (and for cat(), an ostringstream) on every call
// even when the condition holds; the sampler runs once per generated token and promises not to
// allocate in steady state.
#pragma once

#include "base/error.hpp"

namespace scout::sample_detail {

template <typename... Args>
inline void require(bool cond, const Args&... message_parts) {
    if (!cond) [[unlikely]] throw Error(cat(message_parts...));
}

}  // namespace scout::sample_detail
