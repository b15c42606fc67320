#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fireflies/divider.hpp"
#include "fireflies/time.hpp"

namespace fireflies {

/// A sum of unit phasors exp(i 2 pi x) kept in fixed point (2^32 per unit) so that it is exact
/// and independent of the order of additions: the order parameter is bitwise the same for
/// every decomposition and every arrival order at the hub. Good for up to 2^31 fireflies.
struct phasor_sum {
    static constexpr double scale = 4294967296.0; // 2^32

    std::int64_t re = 0;
    std::int64_t im = 0;

    /// The quantised phasor of `phase` (ticks, any integer) on a circle of `period` ticks.
    static phasor_sum of(tick_t phase, tick_t period) noexcept;

    phasor_sum& operator+=(const phasor_sum& o) noexcept { re += o.re; im += o.im; return *this; }
    phasor_sum& operator-=(const phasor_sum& o) noexcept { re -= o.re; im -= o.im; return *this; }
    friend bool operator==(const phasor_sum&, const phasor_sum&) = default;

    /// |sum| / n, the order parameter of n oscillators (0 for n == 0).
    double order(std::int64_t n) const noexcept {
        if (n <= 0) return 0.0;
        return std::hypot(static_cast<double>(re), static_cast<double>(im)) / (scale * static_cast<double>(n));
    }
};

/// Phasors on a circle of `period` ticks, with the division by the period done once: the same
/// values as phasor_sum::of, faster on hot paths.
class phase_circle {
  public:
    explicit phase_circle(tick_t period) noexcept : by_period_(period) {}
    phasor_sum of(tick_t phase) const noexcept;
    tick_t period() const noexcept { return by_period_.divisor(); }

    /// The sum of of(phase) over phases already in [0, period), given as phase / period: the
    /// same integers, computed in a loop the compiler vectorises (the per-sample sweep).
    static phasor_sum sum_of_turns(const double* fractions, std::size_t n) noexcept;

  private:
    divider by_period_;
};

/// The order parameter "the seed's way": each firefly that has flashed contributes
/// theta = 2 pi ((t - t_last) mod T) / T, R = |sum exp(i theta)| / N. Since
/// exp(i theta) = exp(i 2 pi t / T) exp(-i 2 pi t_last / T), |sum| does not depend on t and
/// the sum can be kept up to date one flash at a time: O(1) per flash, not O(N) per sample.
class flash_order {
  public:
    explicit flash_order(tick_t period) noexcept : circle_(period) {}

    /// A firefly flashed at `t`; `previous` is its last flash time, or -1 if it never had.
    void flash(tick_t t, tick_t previous) noexcept {
        sum_ += circle_.of(-t);
        if (previous >= 0) sum_ -= circle_.of(-previous);
        else ++flashed_;
    }
    const phasor_sum& sum() const noexcept { return sum_; }
    std::int64_t flashed() const noexcept { return flashed_; }
    void restore(const phasor_sum& s, std::int64_t flashed) noexcept { sum_ = s; flashed_ = flashed; }

  private:
    phase_circle circle_;
    phasor_sum sum_;
    std::int64_t flashed_ = 0;
};

} // namespace fireflies
