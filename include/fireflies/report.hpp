#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "fireflies/order_parameter.hpp"
#include "fireflies/time.hpp"

namespace fireflies {

/// One flash: firefly `agent` (global id y * width + x) flashed at `t`.
struct flash_event {
    tick_t t = 0;
    std::uint64_t agent = 0;
    friend bool operator==(const flash_event&, const flash_event&) = default;
    friend bool operator<(const flash_event& a, const flash_event& b) noexcept {
        return a.t < b.t || (a.t == b.t && a.agent < b.agent);
    }
};

/// One pixel of a phase snapshot: phase / period in [0, 1) of the cell the pixel samples.
struct snapshot_pixel {
    std::int64_t index = 0; ///< py * nx + px
    double value = 0;
};

/// The pixel grid of the snapshots: pixel (px, py) samples cell (px * stride, py * stride), so a
/// frame has at most `snapshot_max` pixels a side.
struct snapshot_grid {
    std::int64_t stride = 1, nx = 0, ny = 0;
    static snapshot_grid of(std::int64_t width, std::int64_t height,
                            std::int64_t max_side) noexcept {
        const std::int64_t side = width > height ? width : height;
        const std::int64_t stride = (side + max_side - 1) / max_side;
        return {stride, (width + stride - 1) / stride, (height + stride - 1) / stride};
    }
};

/// The work one worker did in one epoch (--record-epochs): deterministic counts, the same on
/// every run of the same configuration, from which scripts/efficiency_model.py computes the
/// critical path of the epochs' dependencies between neighbouring blocks. 32 bytes.
struct epoch_work {
    std::int64_t flashes = 0;  ///< flashes its fireflies emitted in the epoch
    std::int64_t pulses = 0;   ///< pulses applied to its fireflies (pulse deliveries)
    std::int64_t arrivals = 0; ///< flashes (its own and its neighbours') whose pulses it delivered
    /// entries of the due list visited (turns due in the epoch, stale ones included)
    std::int64_t visits = 0;
    friend bool operator==(const epoch_work&, const epoch_work&) = default;
};

/// What follows a report's header (its `events`, `pixels` and `epoch_records` say how long the
/// parts are): the flash events (events telemetry, in time order), for each the time of the
/// same firefly's flash before it (-1 for its first: the hub computes the seed's order parameter
/// from the two, with no table of every firefly's last flash of its own), the snapshot pixels,
/// and (a final report with --record-epochs) the work of each epoch of the run's segment.
struct report_body {
    std::span<const flash_event> events;
    std::span<const tick_t> previous; ///< as long as events
    std::span<const snapshot_pixel> pixels;
    std::span<const epoch_work> epochs;
};

/// What a worker sends the hub: this header, then `events` flash events (events telemetry),
/// in time order. A worker's reports arrive in order; each covers the flashes after the previous
/// one up to `through`.
enum class report_kind : std::int32_t {
    flashes = 0,    ///< only flashes (the worker's buffer filled up between samples)
    sample = 1,     ///< the worker reached sample `sample`: partial sums for it are filled in
    final = 2,      ///< the worker stopped; the totals are filled in
    checkpoint = 3, ///< the worker is at epoch `epochs` and hands its block to the hub next;
                    ///< the totals so far are filled in
};

/// Per-rank time spent, in seconds of wall time, summed over the run.
struct phase_timers {
    double simulate = 0; ///< the event loop: pulses, timers, samples
    double exchange = 0; ///< packing and sending halo flashes, unpacking received ones
    /// the stop consensus at each epoch boundary (an all-reduce among the workers), and the R_state
    /// reduction of each sample with --stop-when-synced
    double wait = 0;
    double report = 0; ///< building and sending reports to the hub (incl. back-pressure)
    double pace = 0;   ///< sleeping to hold --speed
};

struct report_header {
    std::int32_t worker = 0;
    report_kind kind = report_kind::flashes;
    tick_t through = 0;       ///< every flash of this worker with t <= through has been reported
    std::int64_t sample = -1; ///< sample index (kind == sample)
    phasor_sum state;         ///< sum of exp(i 2 pi phi / T) over the block at the sample time
    phasor_sum flash_sum;     ///< the seed's R sum over the block's fireflies that have flashed
    std::int64_t flashed = 0; ///< the block's fireflies that have flashed at least once
    std::int64_t flashes = 0; ///< flashes since the previous report
    std::int64_t events = 0;  ///< flash events after the header (0 in summary telemetry)
    std::int64_t pixels = 0;  ///< snapshot pixels after the events (snapshot samples only)
    /// epoch_work records after the pixels (final, --record-epochs)
    std::int64_t epoch_records = 0;
    // Totals, kind == final.
    std::int64_t flashes_total = 0;    ///< flashes emitted by this worker
    std::int64_t pulses_sent = 0;      ///< pulses its flashes sent (one per coupled neighbour)
    std::int64_t pulses_delivered = 0; ///< pulses it applied to its own fireflies
    std::int64_t pulses_in_flight = 0; ///< pulses to its fireflies not yet arrived at the end
    std::int64_t epochs = 0;
    std::int32_t interrupted = 0;  ///< 1 when stopped early (signal)
    std::int32_t checkpointed = 0; ///< 1 when the stop saved a checkpoint
    phase_timers timers;
    double peak_rss_mib = 0;
};

/// Where the hub's transport hands the reports it receives: the hub (fireflies::hub), or a test's
/// recorder. The transport moves bytes and keeps each worker's reports in order; the sink
/// absorbs them and says how many of a worker's it holds, for flow control.
class report_sink {
  public:
    virtual ~report_sink() = default;
    /// One report from a worker, in that worker's sending order.
    virtual void absorb(const report_header& header, const report_body& body) = 0;
    /// Reports of `worker` held and not yet done with: the transport stops receiving from a
    /// worker while this (plus its receives in progress) reaches its limit.
    virtual std::size_t held(int worker) const = 0;
    /// Rounds completed (a sample, a checkpoint): held() changes for every worker only when this
    /// does, and otherwise for one worker when it absorbs one of its reports.
    virtual std::uint64_t rounds() const = 0;
};

} // namespace fireflies
