#pragma once
// Whether a run fits in the memory of the nodes it runs on, decided before anything is created.
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "runtime/resources.hpp"

namespace fireflies {

/// What one rank of a run is expected to hold at its peak, bytes. Measured figures (worker RSS
/// at 4000 x 4000 minus a 10 x 10 run: 75 B per firefly; the hub keeps no per-firefly table)
/// with a margin, plus each rank's fixed buffers.
struct memory_estimate {
    static constexpr double worker_per_firefly = 96; ///< state, coroutine frame, timer entries
    static constexpr double worker_fixed = 48.0 * (1 << 20); ///< report buffers, MPI, the program
    static constexpr double hub_fixed = 80.0 * (1 << 20);    ///< receive buffers (8 x 6 MiB), MPI
    /// a flash held until its sample is written, doubled for growth
    static constexpr double recorded_flash = 32;
    /// a flash time held for the largest volley, its sort scratch, growth
    static constexpr double volley_flash = 24;

    /// Rank `rank` of a run with decomposition `d` (rank 0 the hub; one process: both).
    static double rank_bytes(const run_config& config, const decomposition& d, int ranks, int rank);
    /// The hub's share for --record-flashes: one sample interval's flashes of the whole grid, or
    /// of the --record-region.
    static double recording_bytes(const run_config& config);
    /// What --record-flashes adds at the hub: recording_bytes and, when recording the whole grid
    /// makes --telemetry auto choose events, the flash times held for the largest volley.
    static double recording_share(const run_config& config, int workers);
    /// The hub's share for /timeseries/largest_volley (events telemetry, as --telemetry auto
    /// chooses it for `workers` workers): one sample interval's flash times.
    static double volley_bytes(const run_config& config, int workers = 1);
};

/// Refuses (fireflies::usage_error, one line with the figures) a run whose ranks need more than
/// their node has available: the ranks of one node share its memory, so their needs add up.
/// Nodes whose available memory is unknown (0) pass.
void check_memory(const run_config& config, const decomposition& d, int ranks,
                  const node_map& nodes);

} // namespace fireflies
