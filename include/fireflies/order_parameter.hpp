#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

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

    phasor_sum& operator+=(const phasor_sum& o) noexcept {
        re += o.re;
        im += o.im;
        return *this;
    }
    phasor_sum& operator-=(const phasor_sum& o) noexcept {
        re -= o.re;
        im -= o.im;
        return *this;
    }
    friend bool operator==(const phasor_sum&, const phasor_sum&) = default;

    /// |sum| / n, the order parameter of n oscillators (0 for n == 0).
    double order(std::int64_t n) const noexcept {
        if (n <= 0) return 0.0;
        return std::hypot(static_cast<double>(re), static_cast<double>(im)) /
               (scale * static_cast<double>(n));
    }
};

/// Phasors on a circle of `period` ticks, with the division by the period done once: the same
/// values as phasor_sum::of, faster on hot paths.
class phase_circle {
  public:
    explicit phase_circle(tick_t period) noexcept : by_period_(period) {}
    phasor_sum of(tick_t phase) const noexcept { return of_residue(residue(phase)); }
    tick_t period() const noexcept { return by_period_.divisor(); }

    /// phase mod period, in [0, period), for any phase with |phase| < 2^62.
    tick_t residue(tick_t phase) const noexcept {
        const tick_t a = phase < 0 ? -phase : phase;
        const tick_t r = a - by_period_.quotient(a) * by_period_.divisor();
        return phase < 0 && r != 0 ? by_period_.divisor() - r : r;
    }
    /// of() for a phase already in [0, period).
    phasor_sum of_residue(tick_t r) const noexcept;

    /// The sum of of(r) over residues r already in [0, period): the same integers as adding
    /// of() one at a time, computed in a loop the compiler vectorises (integer accumulators, so
    /// the order of additions cannot matter). The per-sample sweep and the hub's batches.
    phasor_sum sum_of_residues(const tick_t* residues, std::size_t n) const noexcept;
    /// The same over the residues from - subtracted[i], each already in [0, period): a block's
    /// phases at t are (T + t) - flash_at, summed without writing them out first.
    phasor_sum sum_of_differences(tick_t from, const tick_t* subtracted,
                                  std::size_t n) const noexcept;

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
        if (previous >= 0)
            sum_ -= circle_.of(-previous);
        else
            ++flashed_;
    }
    /// flash(t[i], previous[i]) for i = 0..n-1, where previous[i] is already the firefly's flash
    /// before t[i] (also when the same firefly flashes twice in the batch). The same sums,
    /// computed a chunk at a time, so that the residues stay in the first-level cache: the
    /// residues of -t and -previous mod T four at a time, each -t from the chunk's first by a
    /// subtraction and -previous from it by an addition (a batch's flashes nearly always lie
    /// within a period of each other, and a flash's previous one within two periods), by a
    /// division only for the four where that does not hold; then their phasors in two
    /// vectorised sweeps (a first flash's missing previous one as residue 0, whose phasor
    /// (2^32, 0) is added back).
    void flashes(const tick_t* t, const tick_t* previous, std::size_t n);
    const phase_circle& circle() const noexcept { return circle_; }

    const phasor_sum& sum() const noexcept { return sum_; }
    std::int64_t flashed() const noexcept { return flashed_; }
    void restore(const phasor_sum& s, std::int64_t flashed) noexcept {
        sum_ = s;
        flashed_ = flashed;
    }

  private:
    phase_circle circle_;
    phasor_sum sum_;
    std::int64_t flashed_ = 0;
    std::vector<tick_t> residues_; // scratch of flashes()
};

namespace detail {
/// phase_circle::sum_of_residues by the generic build of the sweep (SSE2, fma and floor from
/// libm), whatever the CPU: for tests, which compare it with the build the CPU runs.
phasor_sum generic_sum_of_residues(const phase_circle& circle, const tick_t* residues,
                                   std::size_t n) noexcept;
/// phase_circle::sum_of_differences by the generic build, for the same tests.
phasor_sum generic_sum_of_differences(const phase_circle& circle, tick_t from,
                                      const tick_t* subtracted, std::size_t n) noexcept;
/// flash_order::flashes' residues of n flashes: fresh[i] = circle.residue(-t[i]), older[i] =
/// circle.residue(-previous[i]), or 0 where previous[i] < 0 (a first flash); returns how many
/// first flashes. By the build the CPU runs, or by the generic one (`generic_build`): for tests.
std::int64_t flash_residues(const phase_circle& circle, const tick_t* t, const tick_t* previous,
                            std::size_t n, tick_t* fresh, tick_t* older, bool generic_build);
} // namespace detail

} // namespace fireflies
