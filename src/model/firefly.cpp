#include "fireflies/firefly.hpp"

#include "fireflies/random.hpp"

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
    return p;
}

} // namespace fireflies
