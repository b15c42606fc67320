#include "app/recorder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>

#include "fireflies/error.hpp"
#include "fireflies/neighbourhood.hpp"
#include "fireflies/version.hpp"
#include "runtime/resources.hpp"
#include "view/terminal_view.hpp"

namespace fireflies {

namespace {

using clock = std::chrono::steady_clock;

} // namespace

recorder::recorder(const run_config& config, const decomposition& d, facts f)
    : config_(config), decomposition_(d), facts_(std::move(f)) {
    start_ = last_flush_ = last_progress_ = clock::now();
    show_progress_ = config.progress || !isatty(STDERR_FILENO);
    const checkpoint_meta* restart = facts_.restart;
    writer_ = std::make_unique<output::run_writer>(
        config, d, facts_.output,
        output::run_writer::identity{facts_.ranks, facts_.config_toml, restart});
    if (restart) {
        start_tick_ = restart->epoch * to_ticks(config.delay);
        // The time-to-sync rule over the samples written so far: the series an uninterrupted run
        // would have fed it, bitwise.
        sync_tracker rule(config.sync_threshold, to_ticks(config.period),
                          to_ticks(config.sample_every));
        rule.replay(writer_->restart_R_state());
        restart_sync_ = rule.get();
    }
    if (config.visualize) open_view();
}

void recorder::open_view() {
    if (view::is_terminal(STDOUT_FILENO)) {
        // Straight to the controlling terminal when there is one: under mpirun, rank 0's stdout
        // is relayed by mpirun, which stops relaying when it is interrupted, and the bytes that
        // give the terminal back would be lost.
        view_fd_ = ::open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        view_ = std::make_unique<view::terminal_view>(config_.width, config_.height, config_.period,
                                                      view_fd_ >= 0 ? view_fd_ : STDOUT_FILENO);
    } else {
        std::fprintf(stderr, "fireflies: --visualize: stdout is not a terminal; showing the "
                             "progress line instead\n");
        show_progress_ = true;
    }
}

recorder::~recorder() {
    view_.reset();
    if (view_fd_ >= 0) ::close(view_fd_);
}

std::int64_t recorder::flashes_recorded() {
    return writer_->flashes_recorded();
}
std::int64_t recorder::snapshots_written() const {
    return writer_->snapshots_written();
}
void recorder::flush() {
    guarded([&] { writer_->flush(); });
    last_flush_ = clock::now();
}

void recorder::restore_terminal() noexcept {
    if (view_) view::restore_terminal(view_fd_ >= 0 ? view_fd_ : STDOUT_FILENO);
}

void recorder::on_flashes(std::span<const flash_event> events) {
    writer_->add_flashes(events);
    if (view_)
        for (const flash_event& ev : events)
            view_->flash(ev.agent, to_seconds(ev.t));
}

void recorder::on_snapshot(tick_t t, const std::vector<float>& frame) {
    guarded([&] { writer_->append_snapshot(t, frame); });
}

void recorder::draw_view() {
    const auto now = clock::now();
    if (!view_ || now - last_frame_ < std::chrono::milliseconds(16)) return;
    last_frame_ = now;
    view::status st;
    st.agents = config_.width * config_.height;
    st.ranks = facts_.ranks;
    st.workers = decomposition_.workers();
    st.width = config_.width;
    st.height = config_.height;
    const tick_t through = hub_ ? std::max<tick_t>(hub_->through(), 0) : last_.t;
    st.t_sim = to_seconds(through);
    st.speed = config_.effective_speed();
    st.R = last_.R;
    const std::int64_t flashes = hub_ ? hub_->flashes_received() : flashes_;
    st.flashes = flashes;
    st.pulse = static_cast<double>(flashes) / static_cast<double>(st.agents);
    view_->draw(st.t_sim, st);
}

const std::filesystem::path& recorder::path_being_written() const {
    return writer_->path_being_written();
}

namespace {

// The banner's lines on the model: its constants, and the families and options in use.
void print_model(std::FILE* to, const run_config& c) {
    const std::int64_t cells = c.width * c.height;
    std::fprintf(
        to,
        "  model     period %g s, nudge %g s, refractory %g of the period (%s mode), delay %g s\n",
        c.period, c.nudge, c.refractory, std::string(name_of(c.mode)).c_str(), c.delay);
    if (const neighbourhood n = neighbourhood::of(c); !n.moore_one())
        std::fprintf(to,
                     "  neighbours %s, radius %" PRId64 ": %" PRId64
                     " cells around each firefly (fewer near open edges or on a narrow torus)\n",
                     std::string(name_of(c.neighbourhood)).c_str(), c.radius, n.full_count());
    if (c.period_spread > 0)
        std::fprintf(to, "  periods   own period of each firefly: %s, spread %g s around %g s\n",
                     std::string(name_of(c.period_dist)).c_str(), c.period_spread, c.period);
    if (c.dissipation > 0)
        std::fprintf(to, "  response  Mirollo-Strogatz state function, dissipation B = %g\n",
                     c.dissipation);
    if (c.coupling == coupling_kind::all_to_all)
        std::fprintf(to, "  coupling  all-to-all: each flash reaches the %s other fireflies\n",
                     view::group_thousands(cells - 1).c_str());
    if (!c.pacemakers.empty())
        std::fprintf(
            to,
            "  pacemaker %zu firefl%s with a fixed period, ignoring pulses (first at %" PRId64
            ",%" PRId64 ")\n",
            c.pacemakers.size(), c.pacemakers.size() == 1 ? "y" : "ies", c.pacemakers.front().x,
            c.pacemakers.front().y);
}

} // namespace

void recorder::banner(std::FILE* to) const {
    const std::int64_t cells = config_.width * config_.height;
    std::fprintf(to, "fireflies %s (git %s)\n", std::string(version()).c_str(),
                 std::string(git_revision()).c_str());
    if (facts_.ranks == 1)
        std::fprintf(to, "  ranks     1 (hub and one worker in one process)\n");
    else
        std::fprintf(to, "  ranks     %d = hub (rank 0) + %d workers, process grid %s\n",
                     facts_.ranks, decomposition_.workers(), decomposition_.describe().c_str());
    std::fprintf(to, "  grid      %" PRId64 " x %" PRId64 " = %s fireflies, torus, %s\n",
                 config_.width, config_.height, view::group_thousands(cells).c_str(),
                 config_.partitioned ? "partitioned (no pulses cross a block boundary)"
                                     : "coupled across ranks");
    print_model(to, config_);
    std::fprintf(
        to, "  run       %g s simulated, sample every %g s, seed %" PRIu64 ", telemetry %s%s%s%s\n",
        config_.duration, config_.sample_every, config_.seed,
        std::string(name_of(config_.telemetry)).c_str(), facts_.telemetry_note.empty() ? "" : " (",
        facts_.telemetry_note.c_str(), facts_.telemetry_note.empty() ? "" : ")");
    std::error_code ec;
    std::fprintf(to, "  output    %s\n", std::filesystem::absolute(facts_.output, ec).c_str());
    if (writer_->path_being_written() != facts_.output)
        std::fprintf(to, "            (written as %s, renamed at the end)\n",
                     writer_->path_being_written().c_str());
    if (const grid_region& r = config_.record_region; config_.record_flashes && !r.whole())
        std::fprintf(to,
                     "  flashes   recorded in --record-region: columns [%" PRId64 ", %" PRId64
                     "), rows [%" PRId64 ", %" PRId64 ")\n",
                     r.x0, r.x0 + r.width, r.y0, r.y0 + r.height);
    if (start_tick_ > 0)
        std::fprintf(to, "  restart   continuing from t = %g s (segment %lld)\n",
                     to_seconds(start_tick_), static_cast<long long>(writer_->segment()));
    if (!config_.checkpoint.empty())
        std::fprintf(to, "  checkpoint %s%s\n", config_.checkpoint.c_str(),
                     config_.checkpoint_every > 0
                         ? (" every " + std::to_string(config_.checkpoint_every) + " s").c_str()
                         : " on signal");
    std::fflush(to);
}

template <class F> void recorder::guarded(F&& f) {
    const auto t0 = clock::now();
    // Timed even when it throws: the time went to the file either way.
    struct timed {
        double& total;
        clock::time_point t0;
        ~timed() { total += std::chrono::duration<double>(clock::now() - t0).count(); }
    } t{output_seconds_, t0};
    try {
        f();
    } catch (const io_error& e) {
        throw io_error("--output " + facts_.output.string() + ": " + e.what());
    } catch (const hdf5_error& e) {
        throw hdf5_error("--output " + facts_.output.string() + ": " + e.what());
    }
}

void recorder::on_sample(const sample& s) {
    guarded([&] { writer_->append(s); });
    last_ = s;
    flashes_ += s.flashes;
    tick();
}

void recorder::tick() {
    draw_view();
    const auto now = clock::now();
    if (now - last_flush_ > std::chrono::seconds(1)) flush();
    if (show_progress_ && now - last_progress_ > std::chrono::seconds(3)) {
        progress_line();
        last_progress_ = now;
    }
}

void recorder::progress_line() {
    const double wall = std::chrono::duration<double>(clock::now() - start_).count();
    const double t = to_seconds(last_.t);
    const double pct = config_.duration > 0 ? 100.0 * t / config_.duration : 100.0;
    std::fprintf(stderr,
                 "fireflies: t=%.1f/%g s (%.1f%%) R=%.3f R_state=%.3f flashes/s=%.3g wall=%.1f s\n",
                 t, config_.duration, pct, last_.R, last_.R_state,
                 wall > 0 ? static_cast<double>(flashes_) / wall : 0.0, wall);
    std::fflush(stderr);
}

// /perf in one line, as arbor's meter report sums its timers up: each worker timer's minimum,
// mean and maximum over the workers, then the hub's own (seconds of wall time).
void recorder::print_timers(const run_totals& totals, double hub_busy_seconds,
                            double output_seconds) const {
    if (totals.finals.empty()) return;
    std::string line = "fireflies: timers s (workers min/mean/max)";
    char buf[96];
    for (const output::perf_timer& timer : output::perf_timers()) {
        double lo = totals.finals.front().timers.*timer.of, hi = lo, sum = 0;
        for (const auto& h : totals.finals) {
            lo = std::min(lo, h.timers.*timer.of);
            hi = std::max(hi, h.timers.*timer.of);
            sum += h.timers.*timer.of;
        }
        std::snprintf(buf, sizeof buf, " %s=%.3f/%.3f/%.3f", timer.name, lo,
                      sum / static_cast<double>(totals.finals.size()), hi);
        line += buf;
    }
    std::snprintf(buf, sizeof buf, " (hub rank) hub=%.3f output=%.3f", hub_busy_seconds,
                  output_seconds);
    std::printf("%s%s\n", line.c_str(), buf);
}

int recorder::finish(const run_totals& totals, double hub_busy_seconds) {
    const double wall = std::chrono::duration<double>(clock::now() - start_).count();
    const bool balanced =
        totals.flashes_balance() && totals.pulses_balance() && totals.order_mismatches == 0;
    const std::string status =
        totals.checkpointed ? "checkpointed" : (totals.interrupted ? "interrupted" : "complete");
    guarded([&] { writer_->flashes_recorded(); }); // writes the last interval's flashes
    // /perf/output, the same in the summary line
    const double output_until_totals = output_seconds_;
    guarded([&] {
        output::run_ending ending{status, wall, hub_busy_seconds, peak_resident_mib()};
        if (facts_.restart) {
            ending.restart_hub_bytes_sent = facts_.restart_bytes_sent;
            ending.restart_hub_bytes_received = facts_.restart_bytes_received;
        }
        writer_->finish(totals, ending, output_until_totals);
    });
    view_.reset(); // the terminal is the user's again before the summary
    if (show_progress_) progress_line();
    print_summary(totals, status, wall);
    print_timers(totals, hub_busy_seconds, output_until_totals);
    std::fflush(stdout);
    if (!balanced) {
        std::fprintf(stderr,
                     "fireflies: error: invariants broken: flashes emitted %" PRId64
                     " received %" PRId64 ", pulses sent %" PRId64 " delivered %" PRId64
                     " in flight %" PRId64 ", R mismatches %" PRId64 "\n",
                     totals.flashes_emitted, totals.flashes_received, totals.pulses_sent,
                     totals.pulses_delivered, totals.pulses_in_flight, totals.order_mismatches);
        return exit_codes::invariant_broken;
    }
    return 0;
}

void recorder::print_summary(const run_totals& totals, const std::string& status,
                             double wall) const {
    const double reached = to_seconds(totals.reached);
    const double firefly_seconds =
        (reached - to_seconds(start_tick_)) * static_cast<double>(config_.width * config_.height);
    char synced[64] = "time_to_sync=none";
    if (totals.time_to_sync >= 0)
        std::snprintf(synced, sizeof synced, "time_to_sync=%gs%s", to_seconds(totals.time_to_sync),
                      totals.stopped_when_synced ? " (stopped when synced)" : "");
    std::printf(
        "fireflies: done status=%s wall=%.3fs simulated=%gs rate=%.3g firefly-s/s flashes=%" PRId64
        " R=%.4f R_state=%.4f %s output=%s\n",
        status.c_str(), wall, reached, wall > 0 ? firefly_seconds / wall : 0.0,
        totals.flashes_emitted, last_.R, last_.R_state, synced, facts_.output.c_str());
}

} // namespace fireflies
