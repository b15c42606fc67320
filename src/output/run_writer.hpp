#pragma once
// The run's output file as the user reads it (docs/output.md): the one place that names its
// groups, datasets, units, chunking and dimension scales, creates them or continues them after a
// restart, appends what the hub produces and completes the file with the totals and /perf. The
// console (banner, progress, live view, exit code) is the app's (app/recorder.hpp).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/output.hpp"

namespace fireflies::output {

/// A per-rank timer as /perf names it (docs/output.md), in /perf's order.
struct perf_timer {
    const char* name;
    double phase_timers::*of;
    const char* long_name;
    const char* description;
};
/// The workers' timers of /perf. Row 0, the hub's, is 0 in each but `hub`, where it is the
/// hub's own time absorbing reports.
std::span<const perf_timer> perf_timers() noexcept;

/// How a run ends, for the file's last attributes and /perf.
struct run_ending {
    std::string status;          ///< complete, interrupted or checkpointed
    double wall_time = 0;        ///< s, the run's wall time
    double hub_busy_seconds = 0; ///< s, the hub's time absorbing reports (/perf/hub, row 0)
    double hub_peak_rss_mib = 0; ///< MiB, rank 0's peak resident memory
    /// After a restart: rank 0's bytes sent and received to restart this segment (the workers
    /// read the checkpoint themselves), as /perf attributes; negative: not a restart.
    std::int64_t restart_hub_bytes_sent = -1;
    std::int64_t restart_hub_bytes_received = -1;
};

/// The HDF5 file of one run: created (or, after a restart, continued and cut to the
/// checkpoint), in SWMR mode from construction on, until finish().
class run_writer {
  public:
    /// Who and what wrote the file (the root's attributes).
    struct identity {
        int ranks = 1;                            ///< MPI ranks of the run
        std::string config_toml;                  ///< the run's settings, as --config reads them
        const checkpoint_meta* restart = nullptr; ///< continue this run's output after a restart
    };
    /// Creates `path` (refusing an existing one without config.force), or with id.restart reopens
    /// it and cuts every series to what the checkpoint had written. Throws hdf5_error, io_error,
    /// or usage_error when a restarted output holds fewer samples than its checkpoint.
    run_writer(const run_config& config, const decomposition& d, const std::filesystem::path& path,
               const identity& id);
    ~run_writer();
    run_writer(const run_writer&) = delete;
    run_writer& operator=(const run_writer&) = delete;

    /// After a restart: /timeseries/R_state up to the checkpoint (the time-to-sync rule replays
    /// it); empty otherwise.
    const std::vector<double>& restart_R_state() const noexcept { return restart_R_state_; }
    /// The output's segment: 0, or one more than the checkpoint's after a restart.
    std::int64_t segment() const noexcept { return segment_; }

    /// One row of /timeseries and /blocks; the flashes held since the last sample first.
    void append(const sample& s);
    /// Flash events as the hub passes them on (any order within a sample interval): those in the
    /// recorded region are held and written, sorted, before the next sample (without
    /// --record-flashes: ignored).
    void add_flashes(std::span<const flash_event> events);
    /// One frame of /snapshots (without --snapshot-every: ignored).
    void append_snapshot(tick_t t, std::span<const float> frame);

    /// Flashes written to /flashes so far (the held ones written first), for a checkpoint.
    std::int64_t flashes_recorded();
    std::int64_t snapshots_written() const;
    /// Samples in /timeseries (every segment's).
    std::uint64_t samples() const noexcept;
    /// Makes everything appended so far visible to readers and safe on disk.
    void flush();

    /// Completes the file: the held flashes, the root's totals, /perf (rank 0 first, then the
    /// workers), and beside it the XDMF description of /snapshots. `output_seconds` is the wall
    /// time spent writing the file until then (/perf/output, row 0).
    void finish(const run_totals& totals, const run_ending& ending, double output_seconds);

    const std::filesystem::path& path() const noexcept { return path_; }
    const std::filesystem::path& path_being_written() const;

  private:
    void write_root_attributes(const decomposition& d, const identity& id);
    bool lay_out_blocks(const decomposition& d, const identity& id, std::int64_t samples);
    void lay_out_block_series(std::uint64_t nb, std::int64_t keep);
    void lay_out_flashes(std::int64_t keep);
    void lay_out_snapshots(std::int64_t keep);
    series& series_of(const std::string& path, element_type type, std::vector<std::uint64_t> shape,
                      const std::string& units, const std::string& long_name,
                      const std::string& description, std::uint64_t chunk, std::int64_t keep);
    void write_flashes();
    void write_totals(finisher& f, const run_totals& totals, const run_ending& ending) const;
    void write_perf(finisher& f, const run_totals& totals, const run_ending& ending,
                    double output_seconds) const;
    void write_epoch_work(finisher& f, const run_totals& totals) const;
    void write_xdmf(const std::vector<double>& times) const;

    run_config config_;
    std::filesystem::path path_;
    bool restart_ = false;
    std::int64_t segment_ = 0;
    std::int64_t ranks_ = 1;
    std::unique_ptr<run_file> file_;
    std::unique_ptr<timeseries> series_;
    series* block_t_ = nullptr;
    series* block_R_ = nullptr;
    series* block_R_state_ = nullptr;
    series* flash_t_ = nullptr;
    series* flash_agent_ = nullptr;
    series* snapshot_t_ = nullptr;
    series* snapshot_phase_ = nullptr;
    snapshot_grid snapshots_;
    std::vector<flash_event> pending_flashes_; // this sample interval's, written sorted
    std::vector<double> restart_R_state_;
};

} // namespace fireflies::output
