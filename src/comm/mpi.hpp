#pragma once
// The only room of src/ that talks MPI. The rest of the program sees worker_link, the hub
// transport below, the checkpoint writers' `collective` and a few helpers.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/collective.hpp"
#include "fireflies/report.hpp"
#include "fireflies/worker_link.hpp"
#include "runtime/resources.hpp"

namespace fireflies::comm {

/// A worker's part of a checkpoint: writes its block (the first argument) into the temporary file
/// rank 0 began (the second: its id) together with the other workers (the third), as
/// output::write_checkpoint does; throws fireflies::error on failure.
using checkpoint_sink = std::function<void(const block_state&, std::int64_t, const collective&)>;

/// What the workers tell the hub after reading a checkpoint for a restart (one message, from one
/// worker): code 0 and the hub's share of the restored state, or the exit code and the line to
/// print.
struct restart_result {
    std::int64_t code = 0;
    std::string line;
    /// code 0: the seed's order parameter's sum (re, im) and flashed
    std::vector<std::uint64_t> numbers;
    std::int64_t bytes = 0; ///< the message's size, counted at rank 0
};

/// How a checkpoint went, as the hub learns it: code 0, or the failing worker's exit code and
/// error.
struct checkpoint_outcome {
    int rank = 0;
    std::int64_t code = 0;
    std::string message;
};

/// MPI lifetime (one per process, made first thing in main) and the world's collectives.
class session {
  public:
    session(int& argc, char**& argv);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }

    /// Which ranks share a node's memory (MPI_COMM_TYPE_SHARED) and what each node has
    /// available: one name and one figure per node, an index per rank, gathered to rank 0 (the
    /// other ranks get an empty map). Collective; O(P) bytes, once per run.
    node_map gather_nodes() const;

    /// Rank 0's string to every rank.
    void broadcast(std::string& text) const;
    /// Rank 0's integer to every rank.
    void broadcast(long long& value) const;
    /// Ends every rank at once with `code` (for errors after the run started).
    [[noreturn]] void abort(int code) const;

    /// A worker's view of the world (ranks 1..P-1 are workers 0..P-2); checkpoints go to `sink`.
    /// Collective over the workers.
    std::unique_ptr<worker_link> make_worker_link(checkpoint_sink sink,
                                                  int reports_in_flight = 4) const;

    /// The ranks that write and read checkpoints together: the workers, or the one process of a
    /// one-process run (rank 0 of several ranks has none: throws). Collective over them.
    std::unique_ptr<collective> checkpoint_group() const;

    /// --initial-phases, on a worker: its packed block_state at t = 0, sent by the hub (blocking).
    std::vector<std::byte> receive_block() const;

    /// Restart, on a worker: the one message to the hub about the workers' reading.
    void send_restart_result(std::int64_t code, const std::string& line,
                             const std::vector<std::uint64_t>& numbers) const;
    /// Restart, on rank 0: waits for that message (from any worker).
    restart_result receive_restart_result() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
    int rank_ = 0, size_ = 1;
};

/// Rank 0's side of the reports: receives them without spinning on a core and hands them, each
/// worker's in the order it sent them, to a report_sink (the hub), receiving from a worker only
/// while the sink holds few of its reports (bounded memory).
class hub_transport {
  public:
    hub_transport(const session& s, int workers, std::size_t max_held = 8);
    ~hub_transport();

    /// Receives and absorbs every report ready now; returns how many.
    int poll(report_sink& h);
    /// Sleeps until a report may be ready (at most `longest`), backing off when idle.
    void idle(std::chrono::microseconds longest);
    /// Tells every worker to stop (once); they agree on the epoch boundary to stop at.
    void request_stop();
    /// --initial-phases: sends worker `w` its packed block_state at t = 0 (returns when the
    /// worker has it).
    void send_block(int worker, const std::vector<std::byte>& packed);
    /// Checkpoint, once rank 0 has begun the temporary file `temporary_id`: tells worker 0 (which
    /// passes it on to the others) to write their blocks into it, and waits until worker 0
    /// reports the file in place or any worker reports a failure. Rank 0's part is one message
    /// each way of a fixed size, whatever the grid and the rank count: these.
    checkpoint_outcome checkpoint(std::int64_t temporary_id);
    /// the order: the temporary file's id
    static constexpr std::int64_t checkpoint_order_bytes = 8;
    static constexpr std::int64_t checkpoint_answer_bytes = 8; ///< the answer: its code

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace fireflies::comm
