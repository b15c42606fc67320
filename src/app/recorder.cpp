#include "app/recorder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <ctime>

#include <fstream>

#include "fireflies/error.hpp"
#include "fireflies/neighbourhood.hpp"
#include "fireflies/version.hpp"
#include "runtime/resources.hpp"
#include "view/terminal_view.hpp"

namespace fireflies {

namespace {

using clock = std::chrono::steady_clock;

std::string utc_now_iso8601() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}


} // namespace

recorder::recorder(const run_config& config, const decomposition& d, facts f)
    : config_(config), decomposition_(d), facts_(std::move(f)) {
    start_ = last_flush_ = last_progress_ = clock::now();
    show_progress_ = config.progress || !isatty(STDERR_FILENO);

    const checkpoint_meta* restart = facts_.restart;
    if (restart) {
        file_ = std::make_unique<output::run_file>(output::run_file::reopen(facts_.output));
        segment_ = restart->segment + 1;
        start_tick_ = restart->epoch * to_ticks(config.delay);
    } else {
        file_ = std::make_unique<output::run_file>(facts_.output, config.force);
    }
    auto& file = *file_;
    // A series of this run: new, or after a restart the existing one cut to what the checkpoint
    // had written.
    auto series_of = [&](const std::string& path, output::element_type type, std::vector<std::uint64_t> shape,
                         const std::string& units, const std::string& long_name, const std::string& description,
                         std::uint64_t chunk, std::int64_t keep) -> output::series& {
        if (restart && file.has(path)) return file.continue_series(path, static_cast<std::uint64_t>(keep));
        return file.create_series(path, type, std::move(shape), units, long_name, description, chunk);
    };
    file.set_attribute("/", "fireflies_version", std::string(version()));
    file.set_attribute("/", "git_revision", std::string(git_revision()));
    file.set_attribute("/", "config", facts_.config_toml);
    file.set_attribute("/", "mpi_size", std::int64_t{facts_.ranks});
    file.set_attribute("/", "workers", std::int64_t{d.workers()});
    file.set_attribute("/", "process_grid", d.describe());
    file.set_attribute("/", "seed", std::uint64_t{config.seed});
    file.set_attribute("/", "created", utc_now_iso8601());
    file.set_attribute("/", "width", std::int64_t{config.width});
    file.set_attribute("/", "height", std::int64_t{config.height});
    file.set_attribute("/", "period", config.period);
    file.set_attribute("/", "refractory_mode", std::string(name_of(config.mode)));
    file.set_attribute("/", "partitioned", std::int64_t{config.partitioned ? 1 : 0});
    file.set_attribute("/", "telemetry", std::string(name_of(config.telemetry)));
    file.set_attribute("/", "status", std::string("running"));
    file.set_attribute("/", "segments", std::int64_t{segment_ + 1});

    std::vector<std::int64_t> geometry, ranks, blocks;
    for (int w = 0; w < d.workers(); ++w) {
        const block& b = d.block_of(w);
        geometry.insert(geometry.end(), {b.x0, b.y0, b.width, b.height});
        ranks.push_back(facts_.ranks == 1 ? 0 : w + 1);
        blocks.push_back(w);
    }
    const auto nb = static_cast<std::uint64_t>(d.workers());
    const std::int64_t samples = restart ? restart->next_sample : 0;
    // (A file written before /blocks/t existed gets a new /blocks, whose rows all have times.)
    bool same_blocks = restart && file.has("/blocks/geometry") && file.has("/blocks/t") &&
                       file.read_int64("/blocks/geometry") == geometry;
    if (restart && file.has("/perf")) file.move("/perf", "/perf_segment" + std::to_string(restart->segment));
    if (restart && !same_blocks && file.has("/blocks")) {
        // Another decomposition: the old blocks' series stay, under the segment that made them.
        file.move("/blocks", "/blocks_segment" + std::to_string(restart->segment));
    }
    if (!same_blocks) {
        file.write_dataset("/blocks/geometry", geometry, {nb, 4}, "cells", "block x0, y0, width, height",
                           "each worker's block: x0, y0, width, height (columns [x0, x0+width), rows [y0, y0+height))");
        file.write_dataset("/blocks/rank", ranks, {nb}, "1", "MPI rank", "MPI rank that simulated each block");
        file.write_dataset("/blocks/block", blocks, {nb}, "1", "block",
                           "index of each worker's block: the row of /blocks/geometry, the column of /blocks/R");
        file.create_dimension("/blocks/geometry_field", 4, "x0, y0, width, height",
                              "the four numbers of each block in /blocks/geometry");
        file.set_attribute("/blocks", "first_sample", std::int64_t{samples});
    }
    if (restart) {
        // The time-to-sync rule over the samples written so far: the series an uninterrupted run
        // would have fed it, bitwise (the output is flushed at every checkpoint and cut to it).
        const std::vector<double> r = file.read_float64("/timeseries/R_state");
        if (static_cast<std::int64_t>(r.size()) < samples)
            throw usage_error("--restart: the output " + facts_.output.string() + " holds " +
                              std::to_string(r.size()) + " samples, fewer than the checkpoint's " +
                              std::to_string(samples));
        sync_tracker rule(config.sync_threshold, to_ticks(config.period), to_ticks(config.sample_every));
        rule.replay(std::span<const double>(r).first(static_cast<std::size_t>(samples)));
        restart_sync_ = rule.get();
    }
    series_ = std::make_unique<output::timeseries>(
        file, 1024, restart ? std::optional<std::uint64_t>(samples) : std::nullopt, config.volley_window);
    const std::int64_t block_keep = same_blocks ? samples : 0;
    block_t_ = &series_of("/blocks/t", output::element_type::f64, {}, "s", "simulated time",
                          "simulated time of each row's sample: /timeseries/t from sample /blocks@first_sample on",
                          256, block_keep);
    block_R_ = &series_of("/blocks/R", output::element_type::f64, {nb}, "1", "block order parameter (seed's way)",
                          "order parameter of each block, computed the seed's way (as /timeseries/R); row i is "
                          "sample /blocks@first_sample + i", 256, block_keep);
    block_R_state_ = &series_of("/blocks/R_state", output::element_type::f64, {nb}, "1",
                                "block order parameter of the phases",
                                "order parameter of each block's true phases (as /timeseries/R_state)", 256, block_keep);
    // Named axes (HDF5 dimension scales, as netCDF-4 lays them out) for xarray and other netCDF
    // readers; a reopened file keeps the ones it has.
    file.set_dimensions("/blocks/geometry", {"/blocks/block", "/blocks/geometry_field"});
    file.set_dimensions("/blocks/rank", {"/blocks/block"});
    for (const output::series* s : {block_R_, block_R_state_})
        file.set_dimensions(s->path(), {"/blocks/t", "/blocks/block"});
    if (config.record_flashes) {
        const std::int64_t keep = restart ? restart->flashes_recorded : 0;
        flash_t_ = &series_of("/flashes/t", output::element_type::f64, {}, "s", "flash time",
                              "time of each flash, in time order within each sample interval", 65536, keep);
        flash_agent_ = &series_of("/flashes/agent", output::element_type::i64, {}, "1", "firefly",
                                  "firefly that flashed: y * width + x", 65536, keep);
        file.create_dimension("/flashes/flash", *flash_t_, "flash", "one per flash in /flashes/t and /flashes/agent");
        for (const output::series* s : {flash_t_, flash_agent_}) file.set_dimensions(s->path(), {"/flashes/flash"});
    }
    if (config.snapshot_every > 0) {
        const std::int64_t keep = restart ? restart->snapshots : 0;
        snapshots_ = snapshot_grid::of(config.width, config.height, config.snapshot_max);
        const auto ny = static_cast<std::uint64_t>(snapshots_.ny), nx = static_cast<std::uint64_t>(snapshots_.nx);
        snapshot_t_ = &series_of("/snapshots/t", output::element_type::f64, {}, "s", "simulated time",
                                 "simulated time of each snapshot", 256, keep);
        snapshot_phase_ = &series_of(
            "/snapshots/phase", output::element_type::f32, {ny, nx}, "1", "phase / period",
            "phase / period in [0, 1) of the cell (x, y) = (px * stride_x, py * stride_y) each pixel samples, "
            "[time, y, x]", 1, keep);
        file.set_attribute("/snapshots/phase", "stride_x", std::int64_t{snapshots_.stride});
        file.set_attribute("/snapshots/phase", "stride_y", std::int64_t{snapshots_.stride});
        if (!file.has("/snapshots/x")) {
            std::vector<std::int64_t> x, y;
            for (std::int64_t px = 0; px < snapshots_.nx; ++px) x.push_back(px * snapshots_.stride);
            for (std::int64_t py = 0; py < snapshots_.ny; ++py) y.push_back(py * snapshots_.stride);
            file.write_dataset("/snapshots/x", x, {nx}, "cells", "x", "column x of the cell each pixel column samples");
            file.write_dataset("/snapshots/y", y, {ny}, "cells", "y", "row y of the cell each pixel row samples");
        }
        file.set_dimensions("/snapshots/phase", {"/snapshots/t", "/snapshots/y", "/snapshots/x"});
    }
    if (config.visualize) {
        if (view::is_terminal(STDOUT_FILENO)) {
            // Straight to the controlling terminal when there is one: under mpirun, rank 0's
            // stdout is relayed by mpirun, which stops relaying when it is interrupted, and the
            // bytes that give the terminal back would be lost.
            view_fd_ = ::open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
            view_ = std::make_unique<view::terminal_view>(config.width, config.height, config.period,
                                                          view_fd_ >= 0 ? view_fd_ : STDOUT_FILENO);
        } else {
            std::fprintf(stderr, "fireflies: --visualize: stdout is not a terminal; showing the progress line instead\n");
            show_progress_ = true;
        }
    }
    file.start_swmr();
}

recorder::~recorder() {
    view_.reset();
    if (view_fd_ >= 0) ::close(view_fd_);
}

std::int64_t recorder::flashes_recorded() {
    write_flashes();
    return flash_t_ ? static_cast<std::int64_t>(flash_t_->size()) : 0;
}
std::int64_t recorder::snapshots_written() const {
    return snapshot_t_ ? static_cast<std::int64_t>(snapshot_t_->size()) : 0;
}
void recorder::flush() {
    guarded([&] { file_->flush(); });
    last_flush_ = clock::now();
}

void recorder::restore_terminal() noexcept {
    if (view_) view::restore_terminal(view_fd_ >= 0 ? view_fd_ : STDOUT_FILENO);
}

void recorder::on_flashes(std::span<const flash_event> events) {
    if (flash_t_) pending_flashes_.insert(pending_flashes_.end(), events.begin(), events.end());
    if (view_)
        for (const flash_event& ev : events) view_->flash(ev.agent, to_seconds(ev.t));
}

void recorder::on_snapshot(tick_t t, const std::vector<float>& frame) {
    if (!snapshot_phase_) return;
    guarded([&] {
        snapshot_t_->append(to_seconds(t));
        snapshot_phase_->append(std::span<const float>(frame));
    });
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

// An XDMF description of /snapshots, so that ParaView (its Xdmf3 readers, which it picks for
// .xmf) opens them as a time series of images: frame i at times[i], the times /snapshots/t
// holds (every segment's after a restart). Each frame is a grid one node thick in z, so that it
// lies in the X-Y plane that ParaView's default view faces (a 2DCoRectMesh lands in Y-Z, edge
// on), with one cell per pixel (the phase is cell data), spaced by the subsampling stride.
// XDMF lists dimensions, origin and spacing slowest first: z, y, x. The frame is picked in the
// HDF item itself (FILE:DATASET|start:stride:count:dataspace, Xdmf3's hyperslab): ParaView
// 5.11's Xdmf3 reads a HyperSlab DataItem as an empty array.
void recorder::write_xdmf(const std::vector<double>& times) const {
    if (!snapshot_phase_ || times.empty()) return;
    const std::filesystem::path xmf = std::filesystem::path(facts_.output).replace_extension(".xmf");
    const std::string h5 = std::filesystem::path(facts_.output).filename().string();
    const auto frames = snapshot_phase_->size();
    const auto nx = snapshots_.nx, ny = snapshots_.ny;
    auto shortest = [](double v) { // the shortest text that reads back as v
        char text[32];
        return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);
    };
    std::ofstream out(xmf);
    out << "<?xml version=\"1.0\" ?>\n<Xdmf Version=\"3.0\">\n<Domain>\n"
        << "<Grid Name=\"fireflies\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
    for (std::uint64_t i = 0; i < times.size(); ++i) {
        out << " <Grid Name=\"frame" << i << "\" GridType=\"Uniform\">\n"
            << "  <Time Value=\"" << shortest(times[i]) << "\"/>\n"
            << "  <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 " << ny + 1 << " " << nx + 1 << "\"/>\n"
            << "  <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
            << "   <DataItem Dimensions=\"3\" Format=\"XML\">0 0 0</DataItem>\n"
            << "   <DataItem Dimensions=\"3\" Format=\"XML\">1 " << snapshots_.stride << " " << snapshots_.stride
            << "</DataItem>\n"
            << "  </Geometry>\n"
            << "  <Attribute Name=\"phase\" AttributeType=\"Scalar\" Center=\"Cell\">\n"
            << "   <DataItem Dimensions=\"" << ny << " " << nx
            << "\" NumberType=\"Float\" Precision=\"4\" Format=\"HDF\">" << h5 << ":/snapshots/phase|"
            << i << " 0 0:1 1 1:1 " << ny << " " << nx << ":" << frames << " " << ny << " " << nx << "</DataItem>\n"
            << "  </Attribute>\n </Grid>\n";
    }
    out << "</Grid>\n</Domain>\n</Xdmf>\n";
    if (!out) throw io_error("cannot write " + xmf.string());
}

const std::filesystem::path& recorder::path_being_written() const { return file_->path_being_written(); }

void recorder::banner(std::FILE* to) const {
    const std::int64_t cells = config_.width * config_.height;
    std::fprintf(to, "fireflies %s (git %s)\n", std::string(version()).c_str(), std::string(git_revision()).c_str());
    if (facts_.ranks == 1)
        std::fprintf(to, "  ranks     1 (hub and one worker in one process)\n");
    else
        std::fprintf(to, "  ranks     %d = hub (rank 0) + %d workers, process grid %s\n", facts_.ranks,
                     decomposition_.workers(), decomposition_.describe().c_str());
    std::fprintf(to, "  grid      %" PRId64 " x %" PRId64 " = %s fireflies, torus, %s\n", config_.width, config_.height,
                 view::group_thousands(cells).c_str(),
                 config_.partitioned ? "partitioned (no pulses cross a block boundary)" : "coupled across ranks");
    std::fprintf(to, "  model     period %g s, nudge %g s, refractory %g of the period (%s mode), delay %g s\n",
                 config_.period, config_.nudge, config_.refractory, std::string(name_of(config_.mode)).c_str(), config_.delay);
    if (const neighbourhood n = neighbourhood::of(config_); !n.moore_one())
        std::fprintf(to, "  neighbours %s, radius %" PRId64 ": %" PRId64 " cells around each firefly (fewer near open edges or on a narrow torus)\n",
                     std::string(name_of(config_.neighbourhood)).c_str(), config_.radius, n.full_count());
    if (config_.period_spread > 0)
        std::fprintf(to, "  periods   own period of each firefly: %s, spread %g s around %g s\n",
                     std::string(name_of(config_.period_dist)).c_str(), config_.period_spread, config_.period);
    if (config_.dissipation > 0)
        std::fprintf(to, "  response  Mirollo-Strogatz state function, dissipation B = %g\n", config_.dissipation);
    if (config_.coupling == coupling_kind::all_to_all)
        std::fprintf(to, "  coupling  all-to-all: each flash reaches the %s other fireflies\n",
                     view::group_thousands(cells - 1).c_str());
    if (!config_.pacemakers.empty())
        std::fprintf(to, "  pacemaker %zu firefl%s with a fixed period, ignoring pulses (first at %" PRId64 ",%" PRId64 ")\n",
                     config_.pacemakers.size(), config_.pacemakers.size() == 1 ? "y" : "ies",
                     config_.pacemakers.front().x, config_.pacemakers.front().y);
    std::fprintf(to, "  run       %g s simulated, sample every %g s, seed %" PRIu64 ", telemetry %s%s%s%s\n",
                 config_.duration, config_.sample_every, config_.seed,
                 std::string(name_of(config_.telemetry)).c_str(), facts_.telemetry_note.empty() ? "" : " (",
                 facts_.telemetry_note.c_str(), facts_.telemetry_note.empty() ? "" : ")");
    std::error_code ec;
    std::fprintf(to, "  output    %s\n", std::filesystem::absolute(facts_.output, ec).c_str());
    if (file_->path_being_written() != facts_.output)
        std::fprintf(to, "            (written as %s, renamed at the end)\n", file_->path_being_written().c_str());
    if (start_tick_ > 0) std::fprintf(to, "  restart   continuing from t = %g s (segment %lld)\n", to_seconds(start_tick_),
                                      static_cast<long long>(segment_));
    if (!config_.checkpoint.empty())
        std::fprintf(to, "  checkpoint %s%s\n", config_.checkpoint.c_str(),
                     config_.checkpoint_every > 0 ? (" every " + std::to_string(config_.checkpoint_every) + " s").c_str() : " on signal");
    std::fflush(to);
}

void recorder::write_flashes() {
    if (!flash_t_) return;
    // Canonical order, the same for every decomposition: time, then firefly.
    std::sort(pending_flashes_.begin(), pending_flashes_.end());
    for (const flash_event& ev : pending_flashes_) {
        flash_t_->append(to_seconds(ev.t));
        flash_agent_->append(static_cast<std::int64_t>(ev.agent));
    }
    pending_flashes_.clear();
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
    guarded([&] { record(s); });
    tick();
}

void recorder::record(const sample& s) {
    write_flashes();
    series_->append(output::sample_row{to_seconds(s.t), s.R, s.R_state, s.flashes, s.pulse, s.largest_volley});
    block_t_->append(to_seconds(s.t));
    block_R_->append(std::span<const double>(s.block_R));
    block_R_state_->append(std::span<const double>(s.block_R_state));
    last_ = s;
    flashes_ += s.flashes;
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
    std::fprintf(stderr, "fireflies: t=%.1f/%g s (%.1f%%) R=%.3f R_state=%.3f flashes/s=%.3g wall=%.1f s\n", t,
                 config_.duration, pct, last_.R, last_.R_state, wall > 0 ? static_cast<double>(flashes_) / wall : 0.0,
                 wall);
    std::fflush(stderr);
}

namespace {
// The workers' timers as /perf names them, in its order. Row 0, the hub's, is 0 in each but
// hub, where it is the hub's own time absorbing reports.
struct worker_timer {
    const char* name;
    double phase_timers::*of;
    const char* long_name;
    const char* description;
};
constexpr worker_timer worker_timers[] = {
    {"simulate", &phase_timers::simulate, "time simulating", "wall time in the event loop (pulses, timers, samples)"},
    {"exchange", &phase_timers::exchange, "time exchanging halos",
     "wall time exchanging halo flashes with neighbour ranks, waits included"},
    {"wait", &phase_timers::wait, "time in the stop consensus",
     "wall time in the stop consensus at each epoch boundary (an all-reduce among the workers) and, "
     "with --stop-when-synced, in the reduction of each sample's R_state"},
    {"hub", &phase_timers::report, "time with the hub",
     "row 0: wall time the hub spent absorbing reports (its writes to the file included); workers: time "
     "building and handing reports to the hub, waits for the hub included"},
    {"pace", &phase_timers::pace, "time pacing", "wall time sleeping to hold --speed"},
};
} // namespace

// /perf in one line, as arbor's meter report sums its timers up: each worker timer's minimum,
// mean and maximum over the workers, then the hub's own (seconds of wall time).
void recorder::print_timers(const run_totals& totals, double hub_busy_seconds, double output_seconds) const {
    if (totals.finals.empty()) return;
    std::string line = "fireflies: timers s (workers min/mean/max)";
    char buf[96];
    for (const worker_timer& timer : worker_timers) {
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
    std::snprintf(buf, sizeof buf, " (hub rank) hub=%.3f output=%.3f", hub_busy_seconds, output_seconds);
    std::printf("%s%s\n", line.c_str(), buf);
}

// --record-epochs: each worker's work in each epoch of this segment, [workers, epochs] (every
// worker simulates the same epochs), for scripts/efficiency_model.py.
void recorder::write_epoch_work(output::finisher& f, const run_totals& totals) const {
    const std::size_t workers = totals.work_per_epoch.size();
    const std::size_t epochs = workers == 0 ? 0 : totals.work_per_epoch.front().size();
    for (const auto& w : totals.work_per_epoch)
        if (w.size() != epochs) throw error("--record-epochs: the workers recorded different numbers of epochs");
    struct field {
        const char* path;
        std::int64_t epoch_work::*of;
        const char* long_name;
        const char* description;
    };
    static constexpr field fields[] = {
        {"/perf/epoch_flashes", &epoch_work::flashes, "flashes per epoch",
         "flashes the worker's fireflies emitted in each epoch of this segment (row: worker, rank - 1)"},
        {"/perf/epoch_pulses", &epoch_work::pulses, "pulses applied per epoch",
         "pulses applied to the worker's fireflies in each epoch of this segment"},
        {"/perf/epoch_arrivals", &epoch_work::arrivals, "flashes delivered per epoch",
         "flashes (the worker's own of the epoch before and its neighbours' border flashes) whose "
         "pulses the worker delivered in each epoch of this segment"},
        {"/perf/epoch_visits", &epoch_work::visits, "due-list visits per epoch",
         "entries of the due list the worker visited in each epoch of this segment (turns due, "
         "stale entries included, once per sample interval the epoch is split into)"},
    };
    // The segment's first epoch (after a restart, the checkpoint's), on each.
    const std::int64_t first = totals.finals.empty() ? 0 : totals.finals.front().epochs - static_cast<std::int64_t>(epochs);
    std::vector<std::int64_t> values(workers * epochs);
    for (const field& x : fields) {
        for (std::size_t w = 0; w < workers; ++w)
            for (std::size_t e = 0; e < epochs; ++e) values[w * epochs + e] = totals.work_per_epoch[w][e].*x.of;
        f.write_dataset(x.path, values, {workers, epochs}, "1", x.long_name, x.description);
        f.set_attribute(x.path, "first_epoch", first);
    }
}

int recorder::finish(const run_totals& totals, double hub_busy_seconds) {
    const double wall = std::chrono::duration<double>(clock::now() - start_).count();
    const bool balanced = totals.flashes_balance() && totals.pulses_balance() && totals.order_mismatches == 0;
    const std::string status =
        totals.checkpointed ? "checkpointed" : (totals.interrupted ? "interrupted" : "complete");
    const double reached = to_seconds(totals.reached);
    const double firefly_seconds =
        (reached - to_seconds(start_tick_)) * static_cast<double>(config_.width * config_.height);

    guarded([&] { write_flashes(); });
    double output_until_totals = 0; // /perf/output, the same in the summary line
    std::vector<double> snapshot_times; // /snapshots/t, every segment's, for the XDMF sidecar
    guarded([&] { file_->finish([&](output::finisher& f) {
        f.set_attribute("/", "status", status);
        f.set_attribute("/", "simulated_time", reached);
        f.set_attribute("/", "wall_time", wall);
        f.set_attribute("/", "samples", static_cast<std::int64_t>(series_->size()));
        f.set_attribute("/", "flashes_emitted", std::int64_t{totals.flashes_emitted});
        f.set_attribute("/", "flashes_received", std::int64_t{totals.flashes_received});
        f.set_attribute("/", "pulses_sent", std::int64_t{totals.pulses_sent});
        f.set_attribute("/", "pulses_delivered", std::int64_t{totals.pulses_delivered});
        f.set_attribute("/", "pulses_in_flight", std::int64_t{totals.pulses_in_flight});
        f.set_attribute("/", "order_mismatches", std::int64_t{totals.order_mismatches});
        f.set_attribute("/", "invariants_hold", std::int64_t{balanced ? 1 : 0});
        // Synchrony (docs/output.md): absent when R_state never stayed at the threshold for a period.
        if (totals.time_to_sync >= 0) f.set_attribute("/", "time_to_sync", to_seconds(totals.time_to_sync));
        f.set_attribute("/", "stopped_when_synced", std::int64_t{totals.stopped_when_synced ? 1 : 0});
        // Per-rank timers (rank 0 first, then the workers), as NEST and arbor report them.
        std::vector<double> rss, out;
        std::vector<std::int64_t> ranks, epochs;
        rss.push_back(peak_resident_mib());
        output_until_totals = output_seconds_;
        out.push_back(output_until_totals);
        ranks.push_back(0);
        epochs.push_back(0);
        for (std::size_t w = 0; w < totals.finals.size(); ++w) {
            const auto& h = totals.finals[w];
            rss.push_back(h.peak_rss_mib);
            out.push_back(0); // workers do not write the file
            ranks.push_back(facts_.ranks == 1 ? 0 : static_cast<std::int64_t>(w) + 1);
            epochs.push_back(h.epochs);
        }
        f.write_dataset("/perf/rank", ranks, "1", "MPI rank", "MPI rank of each row: the hub first, then the workers");
        std::vector<std::string> per_rank;
        for (const worker_timer& timer : worker_timers) {
            std::vector<double> rows{timer.of == &phase_timers::report ? hub_busy_seconds : 0.0};
            for (const auto& h : totals.finals) rows.push_back(h.timers.*timer.of);
            per_rank.push_back(std::string("/perf/") + timer.name);
            f.write_dataset(per_rank.back(), rows, "s", timer.long_name, timer.description);
        }
        f.write_dataset("/perf/output", out, "s", "time writing the output",
                        "row 0: wall time the hub spent writing this file (time series, flashes, snapshots) "
                        "before the end-of-run totals; workers: 0, they write nothing");
        f.write_dataset("/perf/peak_rss", rss, "MiB", "peak resident memory", "peak resident memory of each rank");
        f.write_dataset("/perf/epochs", epochs, "1", "epochs simulated", "epochs simulated by each worker");
        per_rank.insert(per_rank.end(), {"/perf/output", "/perf/peak_rss", "/perf/epochs"});
        for (const std::string& path : per_rank) f.set_dimensions(path, {"/perf/rank"});
        if (config_.record_epochs) write_epoch_work(f, totals);
        if (snapshot_phase_) snapshot_times = f.read_float64("/snapshots/t");
        if (facts_.restart) {
            // What rank 0 sent and received to restart this segment: a fixed few dozen bytes,
            // whatever the grid (the workers read the checkpoint themselves).
            f.set_attribute("/perf", "restart_hub_bytes_sent", facts_.restart_bytes_sent);
            f.set_attribute("/perf", "restart_hub_bytes_received", facts_.restart_bytes_received);
        }
    }); });

    write_xdmf(snapshot_times);
    view_.reset(); // the terminal is the user's again before the summary
    if (show_progress_) progress_line();
    char synced[64] = "time_to_sync=none";
    if (totals.time_to_sync >= 0)
        std::snprintf(synced, sizeof synced, "time_to_sync=%gs%s", to_seconds(totals.time_to_sync),
                      totals.stopped_when_synced ? " (stopped when synced)" : "");
    std::printf("fireflies: done status=%s wall=%.3fs simulated=%gs rate=%.3g firefly-s/s flashes=%" PRId64
                " R=%.4f R_state=%.4f %s output=%s\n",
                status.c_str(), wall, reached, wall > 0 ? firefly_seconds / wall : 0.0, totals.flashes_emitted,
                last_.R, last_.R_state, synced, facts_.output.c_str());
    print_timers(totals, hub_busy_seconds, output_until_totals);
    std::fflush(stdout);
    if (!balanced) {
        std::fprintf(stderr,
                     "fireflies: error: invariants broken: flashes emitted %" PRId64 " received %" PRId64
                     ", pulses sent %" PRId64 " delivered %" PRId64 " in flight %" PRId64 ", R mismatches %" PRId64 "\n",
                     totals.flashes_emitted, totals.flashes_received, totals.pulses_sent, totals.pulses_delivered,
                     totals.pulses_in_flight, totals.order_mismatches);
        return exit_codes::invariant_broken;
    }
    return 0;
}

} // namespace fireflies
