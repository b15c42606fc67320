#pragma once
#include <cstdint>

#include "fireflies/config.hpp"
#include "fireflies/time.hpp"

namespace fireflies {

/// The model's constants in ticks (see time.hpp), derived once from a run_config.
struct model_params {
    tick_t period = 0;     ///< T
    tick_t nudge = 0;      ///< e, phase added by one pulse
    tick_t refractory = 0; ///< Rf, in ticks of phase (refractory fraction * T)
    tick_t jitter = 0;     ///< phase after a flash is U(0, jitter)
    tick_t delay = 0;      ///< d, flash to pulse arrival
    refractory_mode mode = refractory_mode::drop;
    std::uint64_t seed = 0;

    static model_params from(const run_config& c) noexcept;
};

/// Everything that is one firefly, and all a checkpoint needs of it. The phase is kept as an
/// anchor: phi(t) = anchor_phase + (t - anchor_time), exact in integer ticks.
struct firefly {
    tick_t anchor_time = 0;
    tick_t anchor_phase = 0;
    tick_t refractory_until = 0; ///< pulses strictly before this time find the firefly refractory
    tick_t next_timer = 0;       ///< its own next event: the flash, or (queue mode) refractory end
    std::uint32_t queued = 0;    ///< pulses held during the refractory period (queue mode)
    std::uint32_t draws = 0;     ///< random draws used so far (the counter of its random stream)

    tick_t phase_at(tick_t t) const noexcept { return anchor_phase + (t - anchor_time); }
    friend bool operator==(const firefly&, const firefly&) = default;
};

/// What one event did to a firefly.
enum class reaction : std::uint8_t { quiet, flashed };

/// The model's rules, one function per event (MODEL.md). Pure: no I/O, no scheduling. The
/// scheduler decides *when* an event happens; these decide *what* it does.
///
/// Order of events at equal times, for one firefly: pulses first (by source id), then its own
/// timer. Pulses are identical, so their order among themselves never changes the outcome.
class firefly_rules {
  public:
    explicit firefly_rules(const model_params& p) noexcept : p_(p) {}
    const model_params& params() const noexcept { return p_; }

    /// State at t = 0: phase U(0, T) from draw 0 of firefly `id`.
    firefly start(std::uint64_t id) const noexcept;

    /// A pulse arrives at `t`. Refractory: dropped or queued. Otherwise phase += e, and a
    /// firefly pushed to T flashes at once (at `t`).
    reaction pulse(firefly& f, std::uint64_t id, tick_t t) const noexcept;

    /// The firefly's own timer fires at `t == f.next_timer`: it flashes, or (queue mode) its
    /// refractory period ends with the phase set to exactly Rf and the held pulses applied.
    reaction timer(firefly& f, std::uint64_t id, tick_t t) const noexcept;

    /// Phase in [0, T) at t, for a firefly whose events up to t have been applied.
    tick_t phase(const firefly& f, tick_t t) const noexcept { return f.phase_at(t); }

  private:
    void flash(firefly& f, std::uint64_t id, tick_t t) const noexcept;
    reaction end_refractory(firefly& f, std::uint64_t id) const noexcept;
    void rearm(firefly& f) const noexcept;
    model_params p_;
};

} // namespace fireflies
