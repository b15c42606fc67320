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

firefly firefly_rules::start(std::uint64_t id) const noexcept {
    firefly f;
    f.flash_at = p_.period - uniform_below(random_bits(p_.seed, id, 0), p_.period);
    f.draws = 1;
    return f;
}

void firefly_rules::flash(firefly& f, std::uint64_t id, tick_t t) const noexcept {
    const tick_t jitter = p_.jitter > 0 ? uniform_below(random_bits(p_.seed, id, f.draws), p_.jitter) : 0;
    ++f.draws;
    f.last_flash = t;
    f.flash_at = t + (p_.period - jitter);
    f.queued = 0;
}

reaction firefly_rules::act(firefly& f, std::uint64_t id, tick_t t) const noexcept {
    if (f.queued > 0) {
        // The end of the refractory period (t == refractory_until): the phase there is exactly
        // Rf (flash_at - t = T - Rf, integer arithmetic, nothing accumulated), or just above it
        // when the refractory period was the one-tick flash instant; the held pulses add to it.
        f.flash_at -= static_cast<tick_t>(f.queued) * p_.nudge;
        f.queued = 0;
        if (f.flash_at > t) return reaction::quiet;
    }
    // Validation guarantees jitter + nudge < T, so a firefly that has just flashed at t cannot
    // be pushed to T again at the same t (and the flash instant is refractory anyway).
    flash(f, id, t);
    return reaction::flashed;
}

} // namespace fireflies
