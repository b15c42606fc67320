#pragma once
// The only room of src/ that talks MPI. The rest of the program sees worker_link, the hub
// transport below and a few collective helpers.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fireflies/report.hpp"
#include "fireflies/worker_link.hpp"
#include "runtime/resources.hpp"

namespace fireflies::comm {

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

    /// A worker's view of the world (ranks 1..P-1 are workers 0..P-2).
    std::unique_ptr<worker_link> make_worker_link(int reports_in_flight = 4) const;

    /// A worker's share of a restart: its packed block_state, sent by the hub (blocking).
    std::vector<std::byte> receive_block() const;

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
    /// Checkpoint: asks worker `w` for its packed block and waits for it (one in transit).
    std::vector<std::byte> fetch_block(int worker);
    /// Restart: sends worker `w` its packed block (returns when the worker has it).
    void send_block(int worker, const std::vector<std::byte>& packed);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace fireflies::comm
