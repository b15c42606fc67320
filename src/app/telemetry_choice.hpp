#pragma once
// --telemetry auto: flash events to the hub (the card's shape) while the hub can absorb them,
// summary telemetry (the same series, O(P) data per sample) past that.
#include <string>

#include "fireflies/config.hpp"

namespace fireflies {

/// The figures the choice rests on, measured (docs/performance.md): a worker core simulates
/// about 2e7 firefly-seconds per wall second, each firefly flashes about once a period, and the
/// hub absorbs about 5.5e7 flash events per second of its time; the choice keeps a margin.
struct telemetry_capacity {
    static constexpr double worker_rate = 2e7; ///< firefly-s per wall s per worker
    static constexpr double hub_events = 4e7;  ///< flash events per wall s the hub may take
};

/// With config.telemetry_auto, sets config.telemetry for a run of `workers` workers and clears
/// the flag; returns the reason, for the banner ("auto: ..."). Events when --record-flashes or
/// --visualize need them, or when the flash events the run would send per wall second (the
/// workers' rate, or the grid's at --speed, divided by the period) stay within what the hub
/// absorbs; summary otherwise. Without the flag, changes nothing and returns "".
std::string choose_telemetry(run_config& config, int workers);

} // namespace fireflies
