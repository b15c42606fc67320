#include "fireflies/order_parameter.hpp"

#include <numbers>

namespace fireflies {

namespace {

// sin and cos of 2 pi x for x in [0, 1), by reduction to [0, pi/4] and Taylor polynomials
// (truncation error below 3e-14, far under the 2^-32 quantum of phasor_sum). Our own code, not
// libm's, so that it is fast, inlinable and the same on every machine.
struct unit_circle_point {
    double c, s;
};

inline unit_circle_point turn(double x) noexcept {
    const double q = x * 4.0;
    const auto quadrant = static_cast<int>(q); // 0..3
    double r = q - quadrant;                    // [0, 1) of a quarter turn
    const bool mirror = r > 0.5;
    if (mirror) r = 1.0 - r;
    const double y = r * (std::numbers::pi / 2.0), y2 = y * y;
    const double s = y * (1.0 + y2 * (-1.0 / 6 + y2 * (1.0 / 120 + y2 * (-1.0 / 5040 + y2 * (1.0 / 362880 +
                          y2 * (-1.0 / 39916800 + y2 * (1.0 / 6227020800.0)))))));
    const double c = 1.0 + y2 * (-0.5 + y2 * (1.0 / 24 + y2 * (-1.0 / 720 + y2 * (1.0 / 40320 +
                         y2 * (-1.0 / 3628800 + y2 * (1.0 / 479001600 + y2 * (-1.0 / 87178291200.0)))))));
    // angle within the quarter: y, or pi/2 - y when mirrored
    const double qc = mirror ? s : c, qs = mirror ? c : s;
    switch (quadrant & 3) {
    case 0: return {qc, qs};
    case 1: return {-qs, qc};
    case 2: return {-qc, -qs};
    default: return {qs, -qc};
    }
}

} // namespace

namespace {
phasor_sum quantised(tick_t r, tick_t period) noexcept {
    const auto p = turn(static_cast<double>(r) / static_cast<double>(period));
    return {static_cast<std::int64_t>(std::lrint(p.c * phasor_sum::scale)),
            static_cast<std::int64_t>(std::lrint(p.s * phasor_sum::scale))};
}
} // namespace

phasor_sum phasor_sum::of(tick_t phase, tick_t period) noexcept {
    tick_t r = phase % period;
    if (r < 0) r += period;
    return quantised(r, period);
}

phasor_sum phase_circle::sum_of_turns(const double* x, std::size_t n) noexcept {
    // Each quantised term is an integer below 2^32 in magnitude, so sums of up to 2^20 of them
    // are exact in a double: chunks of 2^20 summed as doubles, then as integers. Rounding is
    // (v + 1.5 * 2^52) - 1.5 * 2^52, round-half-even like lrint in the default rounding mode.
    constexpr double magic = 6755399441055744.0;
    constexpr std::size_t chunk = std::size_t{1} << 20;
    phasor_sum total;
    for (std::size_t begin = 0; begin < n; begin += chunk) {
        const std::size_t end = begin + chunk < n ? begin + chunk : n;
        double re = 0, im = 0;
        for (std::size_t i = begin; i < end; ++i) {
            const double q = x[i] * 4.0;
            const double quadrant = static_cast<double>(static_cast<int>(q));
            double r = q - quadrant;
            const bool mirror = r > 0.5;
            r = mirror ? 1.0 - r : r;
            const double y = r * (std::numbers::pi / 2.0), y2 = y * y;
            const double s = y * (1.0 + y2 * (-1.0 / 6 + y2 * (1.0 / 120 + y2 * (-1.0 / 5040 + y2 * (1.0 / 362880 +
                                  y2 * (-1.0 / 39916800 + y2 * (1.0 / 6227020800.0)))))));
            const double c = 1.0 + y2 * (-0.5 + y2 * (1.0 / 24 + y2 * (-1.0 / 720 + y2 * (1.0 / 40320 +
                                 y2 * (-1.0 / 3628800 + y2 * (1.0 / 479001600 + y2 * (-1.0 / 87178291200.0)))))));
            const double qc = mirror ? s : c, qs = mirror ? c : s;
            // quadrant 0: (qc, qs), 1: (-qs, qc), 2: (-qc, -qs), 3: (qs, -qc)
            const bool odd = quadrant == 1.0 || quadrant == 3.0;
            const double cx = odd ? qs : qc, sx = odd ? qc : qs;
            const double cos_sign = (quadrant == 1.0 || quadrant == 2.0) ? -1.0 : 1.0;
            const double sin_sign = (quadrant >= 2.0) ? -1.0 : 1.0;
            re += ((cos_sign * cx) * phasor_sum::scale + magic) - magic;
            im += ((sin_sign * sx) * phasor_sum::scale + magic) - magic;
        }
        total.re += static_cast<std::int64_t>(re);
        total.im += static_cast<std::int64_t>(im);
    }
    return total;
}

phasor_sum phase_circle::of(tick_t phase) const noexcept {
    const tick_t period = by_period_.divisor();
    // Flash times are >= 0 and -t is handled by symmetry: (-t) mod T = T - (t mod T).
    tick_t r = by_period_.quotient(phase < 0 ? -phase : phase);
    r = (phase < 0 ? -phase : phase) - r * period;
    if (phase < 0 && r != 0) r = period - r;
    return quantised(r, period);
}

} // namespace fireflies
