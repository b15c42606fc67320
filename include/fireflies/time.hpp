#pragma once
#include <cstdint>

namespace fireflies {

/// Simulated time and phases are integers of nanoseconds ("ticks"), as NEST keeps time on a
/// grid of tics: event order and the phase arithmetic are then exact, so a run is bitwise the
/// same for every decomposition, and no floating-point drift can make an event loop spin.
using tick_t = std::int64_t;

inline constexpr double ticks_per_second = 1e9;

/// Seconds to ticks, rounded to the nearest nanosecond. The caller validates the range.
constexpr tick_t to_ticks(double seconds) noexcept {
    const double t = seconds * ticks_per_second;
    return static_cast<tick_t>(t < 0 ? t - 0.5 : t + 0.5);
}

constexpr double to_seconds(tick_t t) noexcept {
    return static_cast<double>(t) / ticks_per_second;
}

} // namespace fireflies
