#include "fireflies/order_parameter.hpp"
#include "fireflies/cpu.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

namespace fireflies {

namespace {

// sin and cos of 2 pi x for x in [0, 1): the nearest of 256 points on the circle from a table,
// turned by the small rest (at most 1/256 of a turn) with short Taylor polynomials (truncation
// below 1e-17), combined by the angle-sum formulas with fused multiply-adds. Each operation is
// IEEE-rounded (fma included: it rounds once, on every machine, in hardware or in libm), so the
// scalar path here and the vectorised sweeps below give the same bits. Our own code, not libm's,
// so that it is fast, inlinable and the same everywhere.
struct unit_circle_point {
    double c, s;
};

// The table's points, computed once at compile time by reduction to [0, pi/4] and Taylor
// polynomials of high degree (truncation error below 3e-14; the cardinal points exact).
constexpr unit_circle_point table_point(int j) noexcept {
    const int quadrant = j / 64;
    double r = static_cast<double>(j % 64) / 64.0; // [0, 1) of a quarter turn
    const bool mirror = r > 0.5;
    if (mirror) r = 1.0 - r;
    const double y = r * (std::numbers::pi / 2.0), y2 = y * y;
    const double s =
        y * (1.0 + y2 * (-1.0 / 6 +
                         y2 * (1.0 / 120 +
                               y2 * (-1.0 / 5040 +
                                     y2 * (1.0 / 362880 +
                                           y2 * (-1.0 / 39916800 + y2 * (1.0 / 6227020800.0)))))));
    const double c =
        1.0 +
        y2 * (-0.5 + y2 * (1.0 / 24 +
                           y2 * (-1.0 / 720 +
                                 y2 * (1.0 / 40320 + y2 * (-1.0 / 3628800 +
                                                           y2 * (1.0 / 479001600 +
                                                                 y2 * (-1.0 / 87178291200.0)))))));
    const double qc = mirror ? s : c, qs = mirror ? c : s;
    switch (quadrant) {
    case 0:
        return {qc, qs};
    case 1:
        return {-qs, qc};
    case 2:
        return {-qc, -qs};
    default:
        return {qs, -qc};
    }
}
constexpr int table_size = 256;
struct circle_table {
    unit_circle_point p[table_size];
};
constexpr circle_table make_table() noexcept {
    circle_table t{};
    for (int j = 0; j < table_size; ++j)
        t.p[j] = table_point(j);
    return t;
}
alignas(64) constexpr circle_table table = make_table();

// The small turn: delta = rest * 2 pi / 256 in [0, 0.0246), sin and cos to degree 7 and 6.
constexpr double step = std::numbers::pi / 128.0; // 2 pi / 256, exact scaling of pi
constexpr double s3 = -1.0 / 6, s5 = 1.0 / 120, s7 = -1.0 / 5040;
constexpr double c2 = -0.5, c4 = 1.0 / 24, c6 = -1.0 / 720;

inline unit_circle_point turn(double x) noexcept {
    const double scaled = x * table_size;
    const double whole = std::floor(scaled);
    const double d = (scaled - whole) * step, d2 = d * d;
    const double sd = std::fma(d * d2, std::fma(d2, std::fma(d2, s7, s5), s3), d);
    const double cd = std::fma(d2, std::fma(d2, std::fma(d2, c6, c4), c2), 1.0);
    const unit_circle_point& a = table.p[static_cast<int>(whole)];
    return {std::fma(a.c, cd, -(a.s * sd)), std::fma(a.s, cd, a.c * sd)};
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

// The sweep, four terms at a time in GCC vector types (one AVX2 register, or two SSE2 ones): the
// quantised phasor of each residue r in [0, period), the same integers as quantised(r, period),
// by the same operations as turn():
//   double(r) exactly, for 0 <= r < 2^52: the bits of 2^52 + r, minus 2^52; then x = r times
//   the rounded 1 / period (x < 1 still for any period below 2^52, since (period - 1) / period
//   is far more than an ulp under 1); the table index floor(256 x) by the same trick backwards;
//   lrint(v), for |v| <= 2^32: (v + 1.5 * 2^52) rounds v to an integer (round-half-even, like
//   lrint in the default rounding mode), whose bits minus those of 1.5 * 2^52 are that integer.
// The sums are of integers (kept modulo 2^64, where the constant bits come off exactly at the
// end), so their order cannot change them.
// (Every function on these types is inlined into one of the two builds below: no vector
// argument crosses a call, so GCC's ABI note about AVX arguments does not apply.)
#pragma GCC diagnostic ignored "-Wpsabi"
using v4d = double __attribute__((vector_size(32)));
using v4l = std::int64_t __attribute__((vector_size(32)));
using v4u = std::uint64_t __attribute__((vector_size(32)));
using v2d = double __attribute__((vector_size(16)));

// flash_order::flashes' residues of four flashes from i on by division, where the vectorised
// shortcut does not hold (order_parameter_sweep.inc's flash_residues).
struct exact_residues {
    const phase_circle& circle;
    const tick_t *t, *previous;
    tick_t *fresh, *older;
    // Flash k's, by division (a first flash's missing previous one as residue 0).
    void one(std::size_t k) const noexcept {
        fresh[k] = circle.residue(-t[k]);
        older[k] = previous[k] >= 0 ? circle.residue(-previous[k]) : 0;
    }
    [[gnu::noinline]] void operator()(std::size_t i) const noexcept {
        for (std::size_t k = i; k < i + 4; ++k)
            one(k);
    }
};

// The kernels (order_parameter_sweep.inc) are compiled twice: with AVX2 and FMA3 where the CPU
// has both (vfmadd, vroundpd), and for any x86-64 (SSE2, with fma and floor from libm lane by
// lane: the same IEEE results, slowly). Chosen once, at the first call.
namespace avx2 {
#define FIREFLIES_SWEEP_TARGET [[gnu::target("avx2,fma")]]
FIREFLIES_SWEEP_TARGET [[gnu::always_inline]] inline v4d fma(v4d a, v4d b, v4d c) noexcept {
    return __builtin_ia32_vfmaddpd256(a, b, c);
}
FIREFLIES_SWEEP_TARGET [[gnu::always_inline]] inline v4d floor(v4d a) noexcept {
    return __builtin_ia32_roundpd256(a, 0x9); // toward -infinity
}
#include "order_parameter_sweep.inc"
#undef FIREFLIES_SWEEP_TARGET
} // namespace avx2

namespace generic {
#define FIREFLIES_SWEEP_TARGET
// (vectors by reference: without AVX a 32-byte vector argument has no register to travel in)
[[gnu::always_inline]] inline v4d fma(const v4d& a, const v4d& b, const v4d& c) noexcept {
    return v4d{std::fma(a[0], b[0], c[0]), std::fma(a[1], b[1], c[1]), std::fma(a[2], b[2], c[2]),
               std::fma(a[3], b[3], c[3])};
}
[[gnu::always_inline]] inline v4d floor(const v4d& a) noexcept {
    return v4d{std::floor(a[0]), std::floor(a[1]), std::floor(a[2]), std::floor(a[3])};
}
#include "order_parameter_sweep.inc"
#undef FIREFLIES_SWEEP_TARGET
} // namespace generic

using sweep_fn = void (*)(const tick_t*, std::size_t, std::int64_t, std::int64_t, double,
                          std::int64_t&, std::int64_t&) noexcept;
const bool has_avx2 = use_avx2();
const sweep_fn sweep = has_avx2 ? avx2::sweep<false> : generic::sweep<false>;
const sweep_fn sweep_differences = has_avx2 ? avx2::sweep<true> : generic::sweep<true>;
using residues_fn = std::int64_t (*)(const tick_t*, const tick_t*, std::size_t, tick_t, tick_t,
                                     tick_t, tick_t*, tick_t*, const exact_residues&) noexcept;
const residues_fn cpu_flash_residues = has_avx2 ? avx2::flash_residues : generic::flash_residues;

} // namespace

phasor_sum phase_circle::sum_of_residues(const tick_t* residues, std::size_t n) const noexcept {
    phasor_sum total;
    sweep(residues, n, 0, 0, static_cast<double>(by_period_.divisor()), total.re, total.im);
    return total;
}

phasor_sum phase_circle::sum_of_differences(tick_t from, const tick_t* subtracted,
                                            std::size_t n) const noexcept {
    phasor_sum total;
    // ~v + 1 == -v
    sweep_differences(subtracted, n, -1, from + 1, static_cast<double>(by_period_.divisor()),
                      total.re, total.im);
    return total;
}

phasor_sum detail::generic_sum_of_residues(const phase_circle& circle, const tick_t* residues,
                                           std::size_t n) noexcept {
    phasor_sum total;
    generic::sweep<false>(residues, n, 0, 0, static_cast<double>(circle.period()), total.re,
                          total.im);
    return total;
}

phasor_sum phase_circle::of_residue(tick_t r) const noexcept {
    return quantised(r, by_period_.divisor());
}

namespace {
// The residues of n flashes (flash_order::flashes), by the given build of the kernel for the
// first n - n % 4, by division for the last 0-3; how many were first flashes.
std::int64_t residues_of(residues_fn kernel, const phase_circle& circle, const tick_t* t,
                         const tick_t* previous, std::size_t n, tick_t* fresh, tick_t* older) {
    if (n == 0) return 0;
    const exact_residues exact{circle, t, previous, fresh, older};
    std::int64_t firsts =
        kernel(t, previous, n, t[0], circle.residue(-t[0]), circle.period(), fresh, older, exact);
    for (std::size_t i = n - n % 4; i < n; ++i) {
        exact.one(i);
        firsts += previous[i] >= 0 ? 0 : 1;
    }
    return firsts;
}
} // namespace

std::int64_t detail::flash_residues(const phase_circle& circle, const tick_t* t,
                                    const tick_t* previous, std::size_t n, tick_t* fresh,
                                    tick_t* older, bool generic_build) {
    return residues_of(generic_build ? generic::flash_residues : cpu_flash_residues, circle, t,
                       previous, n, fresh, older);
}

phasor_sum detail::generic_sum_of_differences(const phase_circle& circle, tick_t from,
                                              const tick_t* subtracted, std::size_t n) noexcept {
    phasor_sum total;
    generic::sweep<true>(subtracted, n, -1, from + 1, static_cast<double>(circle.period()),
                         total.re, total.im);
    return total;
}

void flash_order::flashes(const tick_t* t, const tick_t* previous, std::size_t n) {
    constexpr std::size_t chunk = 2048;
    residues_.resize(2 * std::min(n, chunk));
    tick_t* const fresh = residues_.data();
    tick_t* const older = fresh + std::min(n, chunk);
    for (std::size_t begin = 0; begin < n; begin += chunk) {
        const std::size_t m = std::min(n - begin, chunk);
        const std::int64_t firsts =
            residues_of(cpu_flash_residues, circle_, t + begin, previous + begin, m, fresh, older);
        // older's residue 0 of each first flash took (2^32, 0) off
        sum_ += circle_.sum_of_residues(fresh, m);
        sum_ -= circle_.sum_of_residues(older, m);
        sum_.re += firsts * static_cast<std::int64_t>(phasor_sum::scale);
        flashed_ += firsts;
    }
}

} // namespace fireflies
