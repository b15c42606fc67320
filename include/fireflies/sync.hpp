#pragma once
// Synchrony measures of a run (docs/output.md, "Synchrony"): the time to synchrony, decided from
// the R_state series alone, and the largest volley of a sample interval, from its flash times.
// Pure functions of their inputs, so that the hub, every worker and a restart compute the same.
#include <cstdint>
#include <span>
#include <vector>

#include "fireflies/time.hpp"

namespace fireflies {

/// When the grid synchronised: the first sample from which R_state stays at or above the
/// threshold for a whole period (samples k0..k all >= threshold with (k - k0) * sample >=
/// period; time_to_sync = k0 * sample). Fed the series one sample at a time, in order.
///
/// The hub keeps one to write `time_to_sync`; with --stop-when-synced every worker keeps one
/// too, fed the same R_state (a reduction of the same integer sums), so that all decide at the
/// same sample; a restart rebuilds it by replaying the series already in the output.
class sync_tracker {
  public:
    /// What a tracker knows after some samples; all it needs to go on.
    struct state {
        std::int64_t next = 0; ///< the next sample it expects
        /// first sample of the current run of samples >= threshold, or -1
        std::int64_t stretch = -1;
        std::int64_t start = -1; ///< once synchronised: k0, the first sample of the stretch
        /// once synchronised: the sample at which the stretch reached a period
        std::int64_t decided = -1;
        friend bool operator==(const state&, const state&) = default;
    };

    /// `threshold` in (0, 1]; `period` and `sample` in ticks, positive.
    sync_tracker(double threshold, tick_t period, tick_t sample) noexcept;

    /// Sample `k` has R_state `r`. Samples must come in order: k == state().next, else throws
    /// fireflies::error.
    void add(std::int64_t k, double r);
    /// add() for samples state().next, state().next + 1, ... of `series`.
    void replay(std::span<const double> series);

    bool synced() const noexcept { return state_.start >= 0; }
    /// The time to synchrony (ticks), or -1.
    tick_t time_to_sync() const noexcept { return synced() ? state_.start * sample_ : -1; }
    /// The sample after which a run with --stop-when-synced stops: one sample after the
    /// decision (a worker learns a sample's R_state one sample later), or -1.
    std::int64_t stop_after() const noexcept { return synced() ? state_.decided + 1 : -1; }
    const state& get() const noexcept { return state_; }
    /// Continues from `s` (as get() returned it for the same threshold, period and sample).
    void set(const state& s) noexcept { state_ = s; }
    /// Samples a stretch must span: ceil(period / sample).
    std::int64_t span() const noexcept { return span_; }

  private:
    double threshold_;
    tick_t sample_;
    std::int64_t span_;
    state state_;
};

/// The largest number of flashes within any window of `window` ticks: the most flash times t_j
/// with t_i <= t_j < t_i + window, over i. `times` in any order; 0 when empty. Exact: the flash
/// times put in buckets no wider than the window (a counting sort's pass into `scratch`), about
/// one per flash, bound each bucket's windows by the flashes of the buckets they can reach, and
/// only the few buckets whose bound beats the best count so far are counted exactly, after a
/// sort of their flashes and those of the buckets where their windows end. O(n) but for those
/// sorts; a window narrower than about the times' range / n sorts them all.
std::int64_t largest_volley(std::span<const tick_t> times, tick_t window,
                            std::vector<tick_t>& scratch);

} // namespace fireflies
