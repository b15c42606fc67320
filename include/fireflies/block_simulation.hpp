#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/sync.hpp"
#include "fireflies/time.hpp"

namespace fireflies {

class worker_link;
class event_loop;

/// What the program asks of a worker besides simulating, decided by the program from the run's
/// options (cadence_of, src/app/program.hpp) and told to the simulation, which knows nothing of
/// the live view, the checkpoint file or the wall clock's pace.
struct worker_cadence {
    /// Simulated seconds per wall second (--speed, or the live view's 1); 0: as fast as it goes.
    double speed = 0;
    /// Flashes reach the hub at least this often, in ticks of simulated time (the live view's
    /// frames); 0: with the samples and when report_flash_cap flashes wait.
    tick_t report_every = 0;
    /// A checkpoint where a signal stops the run (--checkpoint given).
    bool checkpoints = false;
    /// And one at the first epoch boundary after a sample past every multiple of this many ticks
    /// (--checkpoint-every); 0: none.
    tick_t checkpoint_every = 0;
};

/// One worker's block of fireflies and its event loop over simulated time, in epochs of the pulse
/// delay (docs/design.md says how). It talks to the world through a worker_link only: the hub
/// gets its reports, its neighbours its border flashes, the checkpoint writer its block. The
/// state and the loop are private to the scheduler (src/scheduler/event_loop.hpp).
class block_simulation {
  public:
    /// A flash-only report goes to the hub when this many flashes wait (24 bytes each with its
    /// previous flash time): few enough messages that the hub wakes seldom, small enough buffers.
    static constexpr std::size_t report_flash_cap = std::size_t{1} << 18;

    /// Worker `worker`'s block of decomposition `d`, every firefly at its start (the seed).
    block_simulation(const run_config& config, const decomposition& d, int worker);
    /// Continues from a checkpoint: the block's saved state (with every in-flight flash), at
    /// epoch `epoch` with `next_sample` samples taken.
    block_simulation(const run_config& config, const decomposition& d, int worker,
                     block_state restored, std::int64_t epoch, std::int64_t next_sample);
    ~block_simulation();
    block_simulation(const block_simulation&) = delete;
    block_simulation& operator=(const block_simulation&) = delete;

    /// Runs to the end of the simulated duration, or until the link asks to stop, or (with
    /// --stop-when-synced) until the epoch boundary after sync_tracker::stop_after(); paced,
    /// reporting and checkpointing as `cadence` says.
    void run(worker_link& link, const worker_cadence& cadence);

    /// --stop-when-synced after a restart: what the time-to-sync rule knows of the samples
    /// before this one (rank 0 replays the series in the output; every worker gets the same).
    void resume_sync(const sync_tracker::state& s);

    /// This block's state at the current epoch boundary, with its own in-flight flashes.
    block_state save() const;
    const block& cells() const noexcept;
    /// Every firefly of the block, row by row.
    std::vector<firefly> fireflies() const;
    /// The grid's id of the block's firefly `local` (row by row within the block).
    std::uint64_t global_id(std::uint32_t local) const noexcept;
    /// The bytes reserved for the fireflies' coroutine frames (0 with the flat engine).
    std::size_t frame_bytes() const noexcept;

  private:
    std::unique_ptr<event_loop> loop_;
};

} // namespace fireflies
