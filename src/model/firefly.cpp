#include "fireflies/firefly.hpp"

#include <algorithm>

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
    f.anchor_time = 0;
    f.anchor_phase = uniform_below(random_bits(p_.seed, id, 0), p_.period);
    f.draws = 1;
    // A firefly that starts below Rf is refractory until its phase reaches Rf.
    f.refractory_until = f.anchor_phase < p_.refractory ? p_.refractory - f.anchor_phase : 0;
    rearm(f);
    return f;
}

void firefly_rules::rearm(firefly& f) const noexcept {
    const bool refractory_event = p_.mode == refractory_mode::queue && f.anchor_time < f.refractory_until;
    f.next_timer = refractory_event ? f.refractory_until : f.anchor_time + (p_.period - f.anchor_phase);
}

void firefly_rules::flash(firefly& f, std::uint64_t id, tick_t t) const noexcept {
    const tick_t jitter = p_.jitter > 0 ? uniform_below(random_bits(p_.seed, id, f.draws), p_.jitter) : 0;
    ++f.draws;
    f.anchor_time = t;
    f.anchor_phase = jitter;
    // The flash instant itself is refractory (at least one tick), so that other pulses arriving
    // at the same instant cannot make the firefly flash again at once, even with Rf <= jitter.
    f.refractory_until = t + std::max<tick_t>(p_.refractory - jitter, 1);
    f.queued = 0;
    rearm(f);
}

reaction firefly_rules::end_refractory(firefly& f, std::uint64_t id) const noexcept {
    // The phase is set to exactly Rf (never accumulated), then the held pulses apply.
    const tick_t t = f.refractory_until;
    // Exactly Rf (phase_at is exact integer arithmetic; it exceeds Rf only when the refractory
    // period was the one-tick flash instant because jitter >= Rf).
    const tick_t phi = std::max(p_.refractory, f.phase_at(t)) + static_cast<tick_t>(f.queued) * p_.nudge;
    f.queued = 0;
    if (phi >= p_.period) {
        flash(f, id, t);
        return reaction::flashed;
    }
    f.anchor_time = t;
    f.anchor_phase = phi;
    rearm(f);
    return reaction::quiet;
}

reaction firefly_rules::pulse(firefly& f, std::uint64_t id, tick_t t) const noexcept {
    reaction r = reaction::quiet;
    // Queue mode, a pulse at the very instant the refractory period ends: the held pulses are
    // applied first (at that instant), then this one.
    if (p_.mode == refractory_mode::queue && f.anchor_time < f.refractory_until &&
        t >= f.refractory_until)
        r = end_refractory(f, id);
    if (t < f.refractory_until) {
        if (p_.mode == refractory_mode::queue) ++f.queued;
        return r;
    }
    // Validation guarantees jitter + nudge < T, so a firefly that has just flashed at t cannot
    // be pushed to T again by a pulse at the same t: at most one flash per event.
    const tick_t phi = f.phase_at(t) + p_.nudge;
    if (phi >= p_.period) {
        flash(f, id, t);
        return reaction::flashed;
    }
    f.anchor_time = t;
    f.anchor_phase = phi;
    rearm(f);
    return r;
}

reaction firefly_rules::timer(firefly& f, std::uint64_t id, tick_t t) const noexcept {
    if (p_.mode == refractory_mode::queue && t == f.refractory_until && f.anchor_time < t)
        return end_refractory(f, id);
    flash(f, id, t);
    return reaction::flashed;
}

} // namespace fireflies
