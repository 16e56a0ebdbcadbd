#include "apps/interrupt.hpp"

#include <csignal>

namespace scout::apps {

namespace {
std::atomic<bool> g_interrupted{false};  // lock-free, so safe to set from a signal handler
extern "C" void on_sigint(int) { g_interrupted.store(true); }
}  // namespace

std::atomic<bool>& install_interrupt_handler() {
    static_assert(std::atomic<bool>::is_always_lock_free);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking read at the prompt returns on Ctrl-C
    sigaction(SIGINT, &sa, nullptr);
    return g_interrupted;
}

}  // namespace scout::apps
