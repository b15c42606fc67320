#pragma once
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "fireflies/hub.hpp"
#include "output/run_writer.hpp"

namespace fireflies::view {
class terminal_view;
}

namespace fireflies {

/// What rank 0 tells the user about a run, and hands the file (output::run_writer): the start
/// banner, the samples as they come (progress line, live view), the end summary and exit code.
class recorder final : public hub::observer {
  public:
    struct facts {
        int ranks = 1;
        std::string config_toml;
        std::filesystem::path output;
        const checkpoint_meta* restart = nullptr; ///< continue this run's output after a restart
        /// rank 0's traffic for the restart (/perf attributes)
        std::int64_t restart_bytes_sent = 0;
        std::int64_t restart_bytes_received = 0;
        std::string telemetry_note; ///< why --telemetry auto chose what it did
    };
    recorder(const run_config& config, const decomposition& d, facts f);
    ~recorder() override;

    void banner(std::FILE* to) const;
    void on_sample(const sample& s) override;
    void on_flashes(std::span<const flash_event> events) override;
    void on_snapshot(tick_t t, const std::vector<float>& frame) override;
    /// The hub whose state the live view shows (through time, flash count).
    void attach(const hub& h) noexcept { hub_ = &h; }
    /// Leaves the terminal as it was (for exits that skip destructors).
    void restore_terminal() noexcept;
    /// Wall-clock housekeeping between reports: progress line, periodic flush.
    void tick();
    /// Completes the file with the totals and prints the summary; returns the exit code.
    int finish(const run_totals& totals, double hub_busy_seconds);

    const std::filesystem::path& path_being_written() const;

    /// Output position, for a checkpoint.
    std::int64_t flashes_recorded();
    std::int64_t snapshots_written() const;
    std::int64_t segment() const noexcept { return writer_->segment(); }
    /// After a restart: the time-to-sync rule replayed over the R_state series the output holds
    /// up to the checkpoint (the hub and every worker continue from it).
    const sync_tracker::state& restart_sync() const noexcept { return restart_sync_; }
    /// Makes everything appended so far visible to readers and safe on disk.
    void flush();

  private:
    void progress_line();
    void print_timers(const run_totals& totals, double hub_busy_seconds,
                      double output_seconds) const;
    void print_summary(const run_totals& totals, const std::string& status, double wall) const;
    /// Runs `f`, timed into output_seconds_; a failure of the output file (full disk, HDF5) is
    /// reported naming the file.
    template <class F> void guarded(F&& f);
    void open_view();
    void draw_view();

    run_config config_;
    const decomposition& decomposition_;
    facts facts_;
    std::unique_ptr<output::run_writer> writer_;
    std::unique_ptr<view::terminal_view> view_;
    int view_fd_ = -1; // /dev/tty, when the view draws there
    const hub* hub_ = nullptr;
    std::chrono::steady_clock::time_point last_frame_;
    std::chrono::steady_clock::time_point start_, last_flush_, last_progress_;
    /// wall time in writes to the output file (guarded), for /perf/output
    double output_seconds_ = 0;
    bool show_progress_ = false;
    sample last_{};
    std::int64_t flashes_ = 0;
    tick_t start_tick_ = 0; // simulated time this run started from (a restart's checkpoint)
    sync_tracker::state restart_sync_;
};

} // namespace fireflies
