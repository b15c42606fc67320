#include "fireflies/firefly.hpp"

#include "fireflies/random.hpp"

#include <algorithm>
#include <cmath>

namespace fireflies {

model_params model_params::from(const run_config& c) noexcept {
    model_params p;
    p.period = to_ticks(c.period);
    p.nudge = to_ticks(c.nudge);
    p.refractory = to_ticks(c.refractory * c.period);
    p.jitter = to_ticks(c.jitter);
    p.delay = to_ticks(c.delay);
    p.mode = c.mode;
    p.seed = c.seed;
    p.set_dissipation(c.dissipation);
    p.spread = to_ticks(c.period_spread);
    p.distribution = c.period_dist;
    p.refractory_fraction = c.refractory;
    p.pacemakers = !c.pacemakers.empty();
    return p;
}

std::vector<pacemaker_period> pacemaker_periods(const run_config& c) {
    std::vector<pacemaker_period> out;
    for (const pacemaker& m : c.pacemakers)
        out.push_back({static_cast<std::uint64_t>(m.y * c.width + m.x),
                       to_ticks(m.period > 0 ? m.period : c.period)});
    std::sort(out.begin(), out.end());
    return out;
}

bool is_pacemaker(const std::vector<pacemaker_period>& pacemakers, std::uint64_t id) noexcept {
    const auto at = std::lower_bound(pacemakers.begin(), pacemakers.end(), pacemaker_period{id, 0});
    return at != pacemakers.end() && at->id == id;
}

own_period own_period_of(const model_params& p, const std::vector<pacemaker_period>& pacemakers,
                         std::uint64_t id) {
    const auto at = std::lower_bound(pacemakers.begin(), pacemakers.end(), pacemaker_period{id, 0});
    if (at == pacemakers.end() || at->id != id) return natural_period(p, id);
    return {at->period, pacemaker_refractory};
}

// docs/model.md, "Period spread": draws period_stream + k of the firefly, k = 0, 1, ...; the
// same double operations in the same order on every rank (and in tests/reference).
own_period natural_period(const model_params& p, std::uint64_t id) noexcept {
    if (p.spread <= 0) return {p.period, p.refractory};
    tick_t period = p.period;
    const tick_t floor = std::max<tick_t>(p.nudge, 0) + p.jitter; // every period stays above
    if (p.distribution == period_distribution::uniform) {
        period = p.period - p.spread +
                 uniform_below(random_bits(p.seed, id, period_stream), 2 * p.spread + 1);
    } else {
        // Box-Muller, truncated by rejection: pairs of draws until the period is above the floor
        // (validation keeps that floor at least one standard deviation below T, so that 64 tries
        // fail with probability below 0.16^64); after 64, T.
        for (std::uint64_t k = 0; k < 64; ++k) {
            const std::uint64_t b1 = random_bits(p.seed, id, period_stream + 2 * k);
            const std::uint64_t b2 = random_bits(p.seed, id, period_stream + 2 * k + 1);
            const double u1 = static_cast<double>((b1 >> 11) + 1) * 0x1p-53; // (0, 1]
            const double u2 = static_cast<double>(b2 >> 11) * 0x1p-53;       // [0, 1)
            const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
            double offset = static_cast<double>(p.spread) * z;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
            __asm__("" : "+x"(offset)); // two roundings, never one fused multiply-add
#endif
            const tick_t candidate = std::llround(static_cast<double>(p.period) + offset);
            if (candidate > floor) {
                period = candidate;
                break;
            }
        }
    }
    // Rf = r times its own period, rounded to a tick, below the period.
    tick_t refractory = std::llround(p.refractory_fraction * static_cast<double>(period));
    if (refractory >= period) refractory = period - 1;
    return {period, refractory};
}

// docs/model.md, "Dissipation": with x = f(phi) = ln(1 + (e^B - 1) phi) / B (phi = phase / T),
// a pulse sets x to x + eps (eps = e / T), so the new phase is
// T (e^(B (x + eps)) - 1) / (e^B - 1) = e^(B eps) phase + T (e^(B eps) - 1) / (e^B - 1):
// an affine map a phase + c, whose two constants are computed here once, from the period and
// the nudge in ticks. For B = 0 the map is phase + e (a = 1, c = e, exact in a double).
void model_params::set_dissipation(double b) noexcept {
    general_prc = b > 0 || nudge < 0;
    dissipation = b;
    if (b > 0) {
        const double eps = static_cast<double>(nudge) / static_cast<double>(period);
        prc_a = std::exp(b * eps);
        prc_num = std::expm1(b * eps);
        prc_den = std::expm1(b);
        prc_c = static_cast<double>(period) * prc_num / prc_den;
    } else {
        prc_a = 1;
        prc_c = static_cast<double>(nudge);
    }
}

} // namespace fireflies
