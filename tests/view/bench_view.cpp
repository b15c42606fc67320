// How long the hub spends on one frame of the terminal view: pooling, building and writing.
// Usage: view_bench [frames]   (writes frames to /dev/null; times are per frame, median of runs)
#include "view/terminal_view.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace fv = fireflies::view;
using steady = std::chrono::steady_clock;

namespace {

double median_ms(int runs, const std::function<void(int)>& body) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = steady::now();
        body(i);
        ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
    return ms[runs / 2];
}

fv::status status_of(std::int64_t w, std::int64_t h) {
    fv::status s;
    s.agents = w * h;
    s.ranks = 3;
    s.workers = 2;
    s.width = w;
    s.height = h;
    s.R = 0.734;
    s.pulse = 2.41;
    s.flashes = 12345;
    return s;
}

/// Flashes spread over the last 1.5 s (0.3 periods): every cell a different brightness.
void light_up(fv::terminal_view& view, std::int64_t cells, double t, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> age(0.0, 1.5);
    for (std::int64_t a = 0; a < cells; ++a)
        view.flash(static_cast<std::uint64_t>(a), t - age(rng));
}

void grid_case(std::int64_t w, std::int64_t h, int cols, int rows, int frames, int null_fd) {
    std::mt19937_64 rng(42);
    fv::terminal_view view(w, h, 5.0, null_fd);
    const double t0 = 10.0;
    light_up(view, w * h, t0, rng);
    const auto s = status_of(w, h);
    std::size_t bytes = 0;
    const double full = median_ms(frames, [&](int i) {
        bytes = view.render_to_string(t0, s, cols, rows).size(); // every colour at once
        (void)i;
    });

    // draw(): the hub's real cost per frame at 30 fps, with the flashes of 1/30 s in between
    // (N / T per second), the terminal size from COLUMNS/LINES since /dev/null has none.
    setenv("COLUMNS", std::to_string(cols).c_str(), 1);
    setenv("LINES", std::to_string(rows).c_str(), 1);
    const std::int64_t per_frame = std::max<std::int64_t>(1, w * h / 5 / 30);
    std::uniform_int_distribution<std::int64_t> cell(0, w * h - 1);
    double flash_ms = 0;
    const double draw = median_ms(frames, [&](int i) {
        const double t = t0 + 0.033 * (i + 1);
        const auto f0 = steady::now();
        for (std::int64_t k = 0; k < per_frame; ++k)
            view.flash(static_cast<std::uint64_t>(cell(rng)), t);
        flash_ms = std::chrono::duration<double, std::milli>(steady::now() - f0).count();
        view.draw(t, s);
    });
    std::printf("%6lldx%-6lld in %3dx%-3d chars: full frame %7.3f ms (%7zu bytes) | "
                "draw %7.3f ms incl. %lld flashes (%.3f ms)\n",
                static_cast<long long>(w), static_cast<long long>(h), cols, rows, full, bytes, draw,
                static_cast<long long>(per_frame), flash_ms);
}

} // namespace

int main(int argc, char** argv) {
    const int frames = argc > 1 ? std::atoi(argv[1]) : 50;
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd < 0) return 1;
    grid_case(100, 59, 200, 60, frames, null_fd);    // one character pair per cell, all colours
    grid_case(30, 30, 120, 40, frames, null_fd);     // the seed's grid
    grid_case(1000, 1000, 200, 60, frames, null_fd); // max-pooled, ~17x17 cells a pair
    grid_case(1000, 1000, 120, 40, frames, null_fd);
    grid_case(4000, 4000, 200, 60, std::max(5, frames / 5), null_fd);
    ::close(null_fd);
}
