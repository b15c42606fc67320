#pragma once
#include <chrono>
#include <cstddef>
#include <span>
#include <thread>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/report.hpp"

namespace fireflies {

/// Everything a worker's simulation needs from the outside world, and nothing more: the model
/// code never sees an MPI communicator (src/comm implements this over MPI; the one-process run
/// implements it with plain calls).
class worker_link {
  public:
    virtual ~worker_link() = default;

    /// End of an epoch: send `outgoing[n]` (the flashes of border fireflies) to neighbour
    /// `neighbours[n]` and append every neighbour's flashes of the same epoch to `incoming`.
    virtual void exchange(const std::vector<int>& neighbours,
                          const std::vector<std::vector<flash_event>>& outgoing,
                          std::vector<flash_event>& incoming) = 0;

    /// End of an epoch with --coupling all-to-all: every worker's flashes of the epoch, this
    /// worker's `mine` among them, appended to `all` (an all-gather among the workers; every
    /// worker makes the same calls in the same order). The order in which the workers' flashes
    /// arrive is the link's: the caller sorts them. The default serves a single worker, whose
    /// flashes are all; a link to several workers overrides it.
    virtual void gather_flashes(const std::vector<flash_event>& mine,
                                std::vector<flash_event>& all) {
        all.insert(all.end(), mine.begin(), mine.end());
    }

    /// Hand a report to the hub. Blocks while too many earlier reports are still unreceived
    /// (bounded memory, nothing dropped). The buffers may be reused when it returns.
    virtual void send_report(const report_header& header, const report_body& body) = 0;

    /// Wait until the wall-clock time `t` (to hold --speed); a one-process run draws meanwhile.
    virtual void idle_until(std::chrono::steady_clock::time_point t) {
        std::this_thread::sleep_until(t);
    }

    /// Asked by every worker at every epoch boundary but the last: true on all of them at the
    /// same boundary if any rank was asked to stop (SIGINT, SIGTERM, SIGUSR1, or the hub). The
    /// answer may lag the request by an epoch (a pipelined non-blocking all-reduce).
    virtual bool stop_requested() = 0;

    /// Checkpoint: write this block's state into the checkpoint file, together with the other
    /// workers, once the hub has every report up to here and says so. Returns when this worker's
    /// part is on disk.
    virtual void save_checkpoint(const block_state& mine) = 0;

    /// --stop-when-synced: the sum over every worker of one sample's R_state partial sum, as a
    /// pipelined reduction among the workers: begun at sample k with this worker's sum, ended at
    /// sample k + 1 by finish_state_sum(), which returns the total (waiting, if need be, until
    /// every worker has begun it). Every worker makes the same calls in the same order, at most
    /// one reduction open at a time. The default serves a single worker, whose sum is the total;
    /// a link to several workers overrides both.
    virtual void start_state_sum(const phasor_sum& mine) { state_sum_ = mine; }
    virtual phasor_sum finish_state_sum() { return state_sum_; }

  private:
    phasor_sum state_sum_;
};

} // namespace fireflies
