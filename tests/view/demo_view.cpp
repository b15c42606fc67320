// Draws a synthetic grid of fireflies (a phase wave that slowly synchronises) with the terminal
// view, so the view can be looked at, and tmux-tested, without the simulator.
// Usage: view_demo [width height seconds]   (Ctrl-C ends it early; the terminal is restored)
#include "view/terminal_view.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>
#include <vector>

namespace fv = fireflies::view;

namespace {
volatile std::sig_atomic_t stop = 0;
extern "C" void on_signal(int) {
    stop = 1;
}
} // namespace

int main(int argc, char** argv) {
    const std::int64_t w = argc > 2 ? std::atoll(argv[1]) : 30;
    const std::int64_t h = argc > 2 ? std::atoll(argv[2]) : 30;
    const double seconds = argc > 3 ? std::atof(argv[3]) : 20.0;
    const double period = 5.0, speed = 4.0, fps = 30.0;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    std::vector<double> next(static_cast<std::size_t>(w * h));
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
            next[y * w + x] =
                std::fmod(0.37 * x + 0.11 * y + 1.7 * std::sin(0.9 * x * y), period) + period;
    fv::status s;
    s.agents = w * h;
    s.ranks = 1;
    s.workers = 1;
    s.width = w;
    s.height = h;
    s.speed = speed;
    fv::terminal_view view(w, h, period, 1);
    std::int64_t flashes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int frame = 0; !stop; ++frame) {
        const double t = speed * frame / fps;
        if (t > seconds) break;
        double re = 0, im = 0;
        for (std::size_t a = 0; a < next.size(); ++a) {
            while (next[a] <= t) { // flash, then pull a little towards the grid's mean phase
                view.flash(a, next[a]);
                ++flashes;
                next[a] += period * (0.9 + 0.1 * std::fmod(next[a], period) / period);
            }
            const double theta = 2 * M_PI * (next[a] - t) / period;
            re += std::cos(theta);
            im += std::sin(theta);
        }
        s.t_sim = t;
        s.R = std::hypot(re, im) / static_cast<double>(next.size());
        s.flashes = flashes;
        s.pulse = static_cast<double>(flashes) / static_cast<double>(next.size());
        view.draw(t, s);
        std::this_thread::sleep_until(
            start + std::chrono::microseconds(static_cast<long>((frame + 1) * 1e6 / fps)));
    }
}
