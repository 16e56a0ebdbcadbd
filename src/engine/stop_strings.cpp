#include "engine/stop_strings.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "base/error.hpp"
#include "text/utf8.hpp"

namespace scout::engine {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
    for (const auto& s : stops_) check(!s.empty(), "stop strings must not be empty");
}

std::string StopStringFilter::add(std::string_view piece) {
    if (stopped_) return {};
    pending_ += piece;
    // Nothing before pending_ can start a stop string (it was not held back). Of the stop strings
    // in pending_, the one that completed first (the earliest end; on a tie the longer, which
    // starts earlier) is where the text stops: as if the text had come one byte at a time.
    std::size_t cut = std::string::npos, cut_end = std::string::npos;
    for (const auto& s : stops_) {
        const std::size_t at = pending_.find(s);
        if (at == std::string::npos) continue;
        if (at + s.size() < cut_end || (at + s.size() == cut_end && at < cut)) {
            cut = at;
            cut_end = at + s.size();
        }
    }
    if (cut != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, cut);
        pending_.clear();
        return out;
    }
    // The longest tail that is a proper prefix of a stop string, or an unfinished character.
    std::size_t keep = text::utf8::incomplete_tail(pending_);
    for (const auto& s : stops_)
        for (std::size_t len = std::min(s.size() - 1, pending_.size()); len > keep; --len)
            if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
}

std::string StopStringFilter::finish() {
    if (stopped_) return {};
    return std::exchange(pending_, {});
}

}  // namespace scout::engine
