#include "fireflies/firefly.hpp"

#include "fireflies/random.hpp"

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
    return p;
}

// docs/model.md, "Dissipation": with x = f(phi) = ln(1 + (e^B - 1) phi) / B (phi = phase / T),
// a pulse sets x to x + eps (eps = e / T), so the new phase is
// T (e^(B (x + eps)) - 1) / (e^B - 1) = e^(B eps) phase + T (e^(B eps) - 1) / (e^B - 1):
// an affine map a phase + c, whose two constants are computed here once, from the period and
// the nudge in ticks. For B = 0 the map is phase + e (a = 1, c = e, exact in a double).
void model_params::set_dissipation(double b) noexcept {
    general_prc = b > 0 || nudge < 0;
    if (b > 0) {
        const double eps = static_cast<double>(nudge) / static_cast<double>(period);
        prc_a = std::exp(b * eps);
        prc_c = static_cast<double>(period) * std::expm1(b * eps) / std::expm1(b);
    } else {
        prc_a = 1;
        prc_c = static_cast<double>(nudge);
    }
}

} // namespace fireflies
