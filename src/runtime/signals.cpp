#include "runtime/signals.hpp"

#include <atomic>
#include <csignal>

namespace fireflies {

namespace {
std::atomic<int> requested{0};
extern "C" void on_stop_signal(int sig) {
    requested.store(sig, std::memory_order_relaxed);
}
} // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGUSR1})
        sigaction(sig, &sa, nullptr);
}

int stop_signal() noexcept {
    return requested.load(std::memory_order_relaxed);
}
void request_stop(int signal) noexcept {
    requested.store(signal, std::memory_order_relaxed);
}

} // namespace fireflies
