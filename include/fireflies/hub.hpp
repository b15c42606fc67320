#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "fireflies/sync.hpp"

namespace fireflies {

/// One row of the time series, as the hub assembles it from every worker's reports.
struct sample {
    std::int64_t index = 0;
    tick_t t = 0;             ///< simulated time, ticks
    double R = 0;             ///< the seed's order parameter (time since last flash)
    double R_state = 0;       ///< order parameter of the true phases
    std::int64_t flashes = 0; ///< flashes in (previous sample, t]
    double pulse = 0;         ///< flashes so far / N
    /// The most flashes of the interval within any window of --volley-window (events
    /// telemetry), or -1 where the hub did not see the interval's flashes (summary telemetry).
    std::int64_t largest_volley = -1;
    std::vector<double> block_R;       ///< per worker, the seed's R of its block
    std::vector<double> block_R_state; ///< per worker, R of its block's true phases
};

/// Totals of a run, checked at the end: nothing may be lost between workers and hub.
struct run_totals {
    std::int64_t flashes_emitted = 0;  ///< by the workers
    std::int64_t flashes_received = 0; ///< by the hub (counted flash by flash in events mode)
    std::int64_t pulses_sent = 0;
    std::int64_t pulses_delivered = 0;
    std::int64_t pulses_in_flight = 0;
    std::int64_t samples = 0;
    std::int64_t order_mismatches = 0; ///< samples where the hub's R sum differed from the workers'
    bool interrupted = false;
    bool checkpointed = false;        ///< the stop saved a checkpoint
    bool stopped_when_synced = false; ///< --stop-when-synced ended the run before its duration
    /// the first time R_state stayed >= the threshold for a period; -1: not
    tick_t time_to_sync = -1;
    tick_t reached = 0;                ///< simulated time every worker reached
    std::vector<report_header> finals; ///< each worker's final report (timers, memory)
    /// With --record-epochs: each worker's work in each epoch of the run's segment, from its
    /// final report (empty without).
    std::vector<std::vector<epoch_work>> work_per_epoch;

    bool flashes_balance() const noexcept { return flashes_emitted == flashes_received; }
    bool pulses_balance() const noexcept {
        return pulses_sent == pulses_delivered + pulses_in_flight;
    }
};

/// The telemetry hub (rank 0): takes every worker's reports in any interleaving, and turns them
/// into samples in order. Sums are integers, so a sample is bitwise the same whatever the
/// arrival order and the decomposition. No MPI here: the caller feeds it.
class hub final : public report_sink {
  public:
    /// Receives what the hub produces; both calls happen in simulated-time order.
    class observer {
      public:
        virtual ~observer() = default;
        virtual void on_sample(const sample&) {}
        /// Flash events as they arrive: each worker's in time order, workers interleaved.
        virtual void on_flashes(std::span<const flash_event>) {}
        /// A phase snapshot, phase / period of each pixel (snapshot_grid), row by row.
        virtual void on_snapshot(tick_t, const std::vector<float>&) {}
    };

    hub(const run_config& config, const decomposition& d, observer& out);

    /// One report from a worker, in that worker's sending order.
    void absorb(const report_header& header, const report_body& body) override;

    /// Simulated time up to which every worker's flashes have been passed to the observer.
    tick_t through() const noexcept;
    /// Flashes received so far.
    std::int64_t flashes_received() const noexcept { return totals_.flashes_received; }

    /// Reports held because they are ahead of the slowest worker (flow control: the transport
    /// stops receiving from a worker while this is large).
    std::size_t held(int worker) const override {
        return queues_.at(static_cast<std::size_t>(worker)).size();
    }
    bool done() const noexcept { return done_; }
    /// Rounds (samples and checkpoints) completed so far: held() changes for every worker only
    /// when this does, and for one worker when it absorbs one of its reports.
    std::uint64_t rounds() const override { return rounds_; }

    /// Every worker has reached the same checkpoint and waits to hand over its block.
    bool checkpoint_ready() const noexcept { return checkpoint_ready_; }
    /// The run's position and counts at that checkpoint (config_toml left empty).
    checkpoint_meta checkpoint_state() const;
    /// The checkpoint is written: go on.
    void checkpoint_done();

    /// Continue from a checkpoint: counts from `meta` and the time-to-sync rule over the samples
    /// already written (`sync`: rank 0 replays the output's R_state series, the series an
    /// uninterrupted run would have fed it), then each block's last flash times, one block at a
    /// time (restore_block) or added up by the workers, each over its own block (restore_flashes:
    /// the seed's order parameter's sum over the fireflies' last flashes, as
    /// flash_order::flash(last_flash, -1) adds them, and how many have flashed).
    void restore(const checkpoint_meta& meta, const sync_tracker::state& sync);
    /// The time-to-sync rule so far (its state().next is next_sample()).
    const sync_tracker& sync() const noexcept { return sync_; }
    void restore_block(const block_state& b);
    void restore_flashes(const phasor_sum& last_flashes, std::int64_t flashed);
    const run_totals& totals() const noexcept { return totals_; }
    std::int64_t next_sample() const noexcept { return next_sample_; }

  private:
    struct held_report {
        report_header header;
        std::vector<flash_event> events;
        std::vector<tick_t> previous;
        std::vector<snapshot_pixel> pixels;
        bool applied = false;
    };
    void take(const report_header& header, std::span<const flash_event> events,
              std::span<const tick_t> previous);
    void take_region(const report_header& header, std::span<const flash_event> events);
    [[noreturn]] void reject_flashes(const report_header& header,
                                     std::span<const flash_event> events,
                                     std::span<const tick_t> previous) const;
    void apply(held_report& r);
    void advance(std::size_t worker);
    void emit_ready();
    bool fronts_all(report_kind kind) const; // every worker's front report is of this kind
    bool assemble_frame();
    void emit_sample();
    void add_up_finals();
    void check_stop_when_synced();
    void next_round(); // every worker's front marker done with: pop it, apply what is behind it

    run_config config_;
    std::int64_t cells_;
    tick_t period_, sample_;
    std::vector<std::int64_t> block_cells_;
    observer& out_;
    std::vector<std::deque<held_report>> queues_;
    std::vector<tick_t> through_; // per worker, the last applied report's `through`
    snapshot_grid snapshots_;
    std::vector<float> frame_;
    flash_order flash_order_;
    std::int64_t interval_flashes_ = 0;
    std::int64_t flashes_so_far_ = 0;
    std::int64_t next_sample_ = 0;
    // workers whose front report is an applied marker (sample, checkpoint, final)
    std::size_t ready_ = 0;
    std::uint64_t rounds_ = 0;
    bool done_ = false;
    bool checkpoint_ready_ = false;
    checkpoint_meta base_; // counts carried over from the checkpoint this run continues
    run_totals totals_;
    // Synchrony: the time-to-sync rule fed every sample; the flash times of the sample in
    // progress (events telemetry) for its largest volley, and whether they are all there.
    sync_tracker sync_;
    tick_t volley_window_;
    std::vector<tick_t> interval_times_, volley_scratch_;
    bool interval_complete_ = true;
};

} // namespace fireflies
