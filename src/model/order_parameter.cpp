#include "fireflies/order_parameter.hpp"

#include <bit>
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
    const auto p = turn(static_cast<double>(r) * (1.0 / static_cast<double>(period)));
    return {static_cast<std::int64_t>(std::lrint(p.c * phasor_sum::scale)),
            static_cast<std::int64_t>(std::lrint(p.s * phasor_sum::scale))};
}
} // namespace

phasor_sum phasor_sum::of(tick_t phase, tick_t period) noexcept {
    tick_t r = phase % period;
    if (r < 0) r += period;
    return quantised(r, period);
}

namespace {

// The sweep, four terms at a time in GCC vector types (two SSE2 or one AVX2 register): the
// quantised phasor of each residue r in [0, period), the same integers as quantised(r, period).
// The same operations as turn(), in branch-free form:
//   double(r) exactly, for 0 <= r < 2^52: the bits of 2^52 + r, minus 2^52; then x = r times
//   the rounded 1 / period (a multiply, not a divide, in both: x < 1 still for any period
//   below 2^52, since (period - 1) / period is far more than an ulp under 1);
//   the quadrant int(q) of q in [0, 4): the number of the thresholds 1, 2, 3 that q reaches;
//   lrint(v), for |v| <= 2^32: (v + 1.5 * 2^52) rounds v to an integer (round-half-even, like
//   lrint in the default rounding mode), whose bits minus those of 1.5 * 2^52 are that integer.
// The sums are of integers, so their order cannot change them.
// (Every function on these types is inlined into one of the two builds below: no vector
// argument crosses a call, so GCC's ABI note about AVX arguments does not apply.)
#pragma GCC diagnostic ignored "-Wpsabi"
using v4d = double __attribute__((vector_size(32)));
using v4l = std::int64_t __attribute__((vector_size(32)));

[[gnu::always_inline]] inline v4d select(v4l mask, v4d yes, v4d no) noexcept {
    return reinterpret_cast<v4d>((mask & reinterpret_cast<v4l>(yes)) | (~mask & reinterpret_cast<v4l>(no)));
}

// Four terms into the accumulators. Inlined into each build (an always_inline that cannot be
// inlined is a compile error, so no vector ever crosses a call between SSE2 and AVX2 code).
[[gnu::always_inline]] inline void sweep_terms(v4l r_ticks, double period, v4l& re, v4l& im) noexcept {
    constexpr double two52 = 4503599627370496.0, magic = 6755399441055744.0;
    const v4l two52_bits = v4l{} + std::bit_cast<std::int64_t>(two52);
    const v4l magic_bits = v4l{} + std::bit_cast<std::int64_t>(magic);
    const v4d one = v4d{} + 1.0;
    const v4d x = (reinterpret_cast<v4d>(r_ticks | two52_bits) - two52) * (1.0 / period);
    const v4d q = x * 4.0;
    const v4l at1 = q >= 1.0, at2 = q >= 2.0, at3 = q >= 3.0;
    const v4d quadrant = select(at1, one, v4d{}) + select(at2, one, v4d{}) + select(at3, one, v4d{});
    const v4d r0 = q - quadrant;
    const v4l mirror = r0 > 0.5;
    const v4d r = select(mirror, 1.0 - r0, r0);
    const v4d y = r * (std::numbers::pi / 2.0), y2 = y * y;
    const v4d s = y * (1.0 + y2 * (-1.0 / 6 + y2 * (1.0 / 120 + y2 * (-1.0 / 5040 + y2 * (1.0 / 362880 +
                          y2 * (-1.0 / 39916800 + y2 * (1.0 / 6227020800.0)))))));
    const v4d c = 1.0 + y2 * (-0.5 + y2 * (1.0 / 24 + y2 * (-1.0 / 720 + y2 * (1.0 / 40320 +
                         y2 * (-1.0 / 3628800 + y2 * (1.0 / 479001600 + y2 * (-1.0 / 87178291200.0)))))));
    const v4d qc = select(mirror, s, c), qs = select(mirror, c, s);
    // quadrant 0: (qc, qs), 1: (-qs, qc), 2: (-qc, -qs), 3: (qs, -qc)
    const v4l odd = at1 ^ at2 ^ at3;
    const v4d cx = select(odd, qs, qc), sx = select(odd, qc, qs);
    const v4d cos_sign = select(at1 & ~at3, -one, one), sin_sign = select(at2, -one, one);
    re += reinterpret_cast<v4l>((cos_sign * cx) * phasor_sum::scale + magic) - magic_bits;
    im += reinterpret_cast<v4l>((sin_sign * sx) * phasor_sum::scale + magic) - magic_bits;
}

[[gnu::always_inline]] inline void sweep_kernel(const tick_t* residues, std::size_t n, double period,
                                               std::int64_t& re_total, std::int64_t& im_total) noexcept {
    v4l re{}, im{};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4l r;
        __builtin_memcpy(&r, residues + i, sizeof r);
        sweep_terms(r, period, re, im);
    }
    // The last 1-3 terms padded with residue 0, whose phasor is exactly (2^32, 0).
    std::int64_t padding = 0;
    if (i < n) {
        v4l r{};
        for (std::size_t k = 0; i + k < n; ++k) r[k] = residues[i + k];
        padding = static_cast<std::int64_t>(4 - (n - i));
        sweep_terms(r, period, re, im);
    }
    re_total += re[0] + re[1] + re[2] + re[3] - padding * static_cast<std::int64_t>(phasor_sum::scale);
    im_total += im[0] + im[1] + im[2] + im[3];
}

// The same loop built twice: for any x86-64 (SSE2), and with AVX2 where the CPU has it (no FMA,
// so that every operation rounds as in the scalar path). Chosen once, at the first call.
[[gnu::target("avx2")]] void sweep_avx2(const tick_t* r, std::size_t n, double period, std::int64_t& re,
                                        std::int64_t& im) noexcept {
    sweep_kernel(r, n, period, re, im);
}
void sweep_generic(const tick_t* r, std::size_t n, double period, std::int64_t& re, std::int64_t& im) noexcept {
    sweep_kernel(r, n, period, re, im);
}
using sweep_fn = void (*)(const tick_t*, std::size_t, double, std::int64_t&, std::int64_t&) noexcept;
const sweep_fn sweep = __builtin_cpu_supports("avx2") ? sweep_avx2 : sweep_generic;

} // namespace

phasor_sum phase_circle::sum_of_residues(const tick_t* residues, std::size_t n) const noexcept {
    phasor_sum total;
    sweep(residues, n, static_cast<double>(by_period_.divisor()), total.re, total.im);
    return total;
}

phasor_sum phase_circle::of_residue(tick_t r) const noexcept { return quantised(r, by_period_.divisor()); }

void flash_order::flashes_residues(const tick_t* residues, std::size_t n, const tick_t* previous, std::size_t older) {
    flashed_ += static_cast<std::int64_t>(n - older);
    sum_ += circle_.sum_of_residues(residues, n);
    sum_ -= circle_.sum_of_residues(previous, older);
}

void flash_order::flashes(const tick_t* t, const tick_t* previous, std::size_t n) {
    // +phasor(-t) for every flash, -phasor(-previous) for every flash that had one before.
    residues_.resize(2 * n);
    std::size_t older = 0;
    for (std::size_t i = 0; i < n; ++i) {
        residues_[i] = circle_.residue(-t[i]);
        if (previous[i] >= 0) residues_[n + older++] = circle_.residue(-previous[i]);
    }
    flashes_residues(residues_.data(), n, residues_.data() + n, older);
}

} // namespace fireflies
