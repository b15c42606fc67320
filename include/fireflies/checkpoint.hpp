#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fireflies/decomposition.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/report.hpp"

namespace fireflies {

/// Everything of a run's state that is not per firefly: where it stands, and the hub's counts.
struct checkpoint_meta {
    std::int64_t epoch = 0;            ///< next epoch to run; the state is at epoch * delay
    std::int64_t next_sample = 0;      ///< samples written so far
    std::int64_t interval_flashes = 0; ///< flashes after the last sample, already reported
    std::int64_t flashes_so_far = 0;   ///< flashes up to the last sample
    std::int64_t flashes_emitted = 0;  ///< totals at the checkpoint
    std::int64_t flashes_received = 0;
    std::int64_t pulses_sent = 0;
    std::int64_t pulses_delivered = 0;
    std::int64_t flashes_recorded = 0; ///< rows of /flashes in the output
    std::int64_t snapshots = 0;        ///< frames of /snapshots in the output
    std::int64_t segment = 0;          ///< how many restarts led here
    std::string config_toml;           ///< the run's settings
    /// Times of the flashes after the last sample (events telemetry; `interval_flashes` of
    /// them): the hub's largest volley of the sample in progress counts them too.
    std::vector<tick_t> interval_flash_times;
};

/// A checkpoint as rank 0 begins it: the run's state, which rank 0 writes into the file first,
/// the temporary file's id, which it then sends the workers (src/comm carries it: O(1) bytes),
/// and what the file records of rank 0's traffic.
struct checkpoint_order {
    checkpoint_meta meta;                ///< the run's position, counts and settings (config_toml)
    std::int64_t temporary_id = 0;       ///< the temporary file's suffix (the hub's process id)
    std::int64_t hub_bytes_sent = 0;     ///< bytes rank 0 sends for this checkpoint
    std::int64_t hub_bytes_received = 0; ///< bytes rank 0 receives for it
};

/// One block's share of a checkpoint: its rectangle, every firefly, and the flashes of the last
/// epoch whose pulses are still in flight (when saved: its own fireflies'; when restored: those
/// of every firefly within one cell of it, whose pulses may reach it).
struct block_state {
    block cells;
    std::vector<firefly> fireflies; ///< row by row within the block
    std::vector<flash_event> in_flight;

    std::vector<std::byte> pack() const;
    /// Throws fireflies::error when `bytes` is not a whole block_state.
    static block_state unpack(std::span<const std::byte> bytes);
};

} // namespace fireflies
