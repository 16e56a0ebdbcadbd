#include "apps/progress.hpp"

#include <unistd.h>

#include <algorithm>

#include "apps/cli_util.hpp"

namespace scout::apps {

ProgressBar::ProgressBar(std::string label, uint64_t total, std::FILE* out)
    : label_(std::move(label)), total_(std::max<uint64_t>(total, 1)), out_(out), tty_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(uint64_t done) {
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0.0;
    if (tty_) {
        if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(frac * kWidth);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.append(static_cast<std::size_t>(kWidth - filled), '.');
        std::fprintf(out_, "\r%s [%s] %3.0f%% %s / %s  %s/s  ETA %.0fs   ", label_.c_str(), bar.c_str(), frac * 100,
                     human_bytes(static_cast<double>(done)).c_str(), human_bytes(static_cast<double>(total_)).c_str(),
                     human_bytes(rate).c_str(), eta);
        std::fflush(out_);
    } else {
        const int decile = static_cast<int>(frac * 10);
        if (decile == last_decile_) return;
        last_decile_ = decile;
        std::fprintf(out_, "%s: %3d%% (%s of %s, %s/s)\n", label_.c_str(), decile * 10,
                     human_bytes(static_cast<double>(done)).c_str(), human_bytes(static_cast<double>(total_)).c_str(),
                     human_bytes(rate).c_str());
    }
}

void ProgressBar::finish() {
    if (finished_) return;
    finished_ = true;
    update(total_);
    if (tty_) std::fprintf(out_, "\n");
}

LazyProgressBar::LazyProgressBar(std::string label, std::FILE* out) : label_(std::move(label)), out_(out) {}

std::function<void(uint64_t, uint64_t)> LazyProgressBar::callback() {
    return [this](uint64_t done, uint64_t total) {
        if (!bar_) bar_.emplace(label_, total, out_);
        bar_->update(done);
    };
}

void LazyProgressBar::finish() {
    if (bar_) bar_->finish();
}

}  // namespace scout::apps
