// Progress display for long work (writing or paging in weights): a redrawn bar with bytes,
// rate and ETA on a terminal; plain lines every 10% otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace scout::apps {

class ProgressBar {
public:
    ProgressBar(std::string label, uint64_t total, std::FILE* out = stderr);
    void update(uint64_t done);
    void finish();

private:
    std::string label_;
    uint64_t total_;
    std::FILE* out_;
    bool tty_;
    bool finished_ = false;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

// A ProgressBar made at the first report, for writers that know the total only once they start:
//     LazyProgressBar progress("writing demo model");
//     write_something(..., progress.callback());
//     progress.finish();  // nothing when nothing was reported
class LazyProgressBar {
public:
    explicit LazyProgressBar(std::string label, std::FILE* out = stderr);
    // progress(done, total); refers to this object, which must outlive the callback's use.
    std::function<void(uint64_t, uint64_t)> callback();
    void finish();

private:
    std::string label_;
    std::FILE* out_;
    std::optional<ProgressBar> bar_;
};

}  // namespace scout::apps
