#include "output/run_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <optional>

#include "fireflies/error.hpp"
#include "fireflies/version.hpp"
#include "runtime/resources.hpp"

namespace fireflies::output {

namespace {

constexpr std::array<perf_timer, 5> timers{{
    {"simulate", &phase_timers::simulate, "time simulating",
     "wall time in the event loop (pulses, timers, samples)"},
    {"exchange", &phase_timers::exchange, "time exchanging halos",
     "wall time exchanging halo flashes with neighbour ranks, waits included"},
    {"wait", &phase_timers::wait, "time in the stop consensus",
     "wall time in the stop consensus at each epoch boundary (an all-reduce among the workers) "
     "and, "
     "with --stop-when-synced, in the reduction of each sample's R_state"},
    {"hub", &phase_timers::report, "time with the hub",
     "row 0: wall time the hub spent absorbing reports (its writes to the file included); workers: "
     "time "
     "building and handing reports to the hub, waits for the hub included"},
    {"pace", &phase_timers::pace, "time pacing", "wall time sleeping to hold --speed"},
}};

} // namespace

std::span<const perf_timer> perf_timers() noexcept {
    return timers;
}

run_writer::run_writer(const run_config& config, const decomposition& d,
                       const std::filesystem::path& path, const identity& id)
    : config_(config), path_(path), restart_(id.restart != nullptr), ranks_(id.ranks) {
    const checkpoint_meta* restart = id.restart;
    if (restart) {
        file_ = std::make_unique<run_file>(run_file::reopen(path_));
        segment_ = restart->segment + 1;
    } else {
        file_ = std::make_unique<run_file>(path_, config.force);
    }
    write_root_attributes(d, id);
    const std::int64_t samples = restart ? restart->next_sample : 0;
    const bool same_blocks = lay_out_blocks(d, id, samples);
    if (restart) {
        // The samples written so far, for the time-to-sync rule (the output is flushed at every
        // checkpoint and cut to it).
        restart_R_state_ = file_->read_float64("/timeseries/R_state");
        if (static_cast<std::int64_t>(restart_R_state_.size()) < samples)
            throw usage_error("--restart: the output " + path_.string() + " holds " +
                              std::to_string(restart_R_state_.size()) +
                              " samples, fewer than the checkpoint's " + std::to_string(samples));
        restart_R_state_.resize(static_cast<std::size_t>(samples));
    }
    series_ = std::make_unique<timeseries>(
        *file_, 1024, restart ? std::optional<std::uint64_t>(samples) : std::nullopt,
        config_.volley_window);
    lay_out_block_series(static_cast<std::uint64_t>(d.workers()), same_blocks ? samples : 0);
    lay_out_flashes(restart ? restart->flashes_recorded : 0);
    lay_out_snapshots(restart ? restart->snapshots : 0);
    file_->start_swmr();
}

run_writer::~run_writer() = default;

// A series of this run: new, or after a restart the existing one cut to what the checkpoint had
// written.
series& run_writer::series_of(const std::string& path, element_type type,
                              std::vector<std::uint64_t> shape, const std::string& units,
                              const std::string& long_name, const std::string& description,
                              std::uint64_t chunk, std::int64_t keep) {
    if (restart_ && file_->has(path))
        return file_->continue_series(path, static_cast<std::uint64_t>(keep));
    return file_->create_series(path, type, std::move(shape), units, long_name, description, chunk);
}

void run_writer::write_root_attributes(const decomposition& d, const identity& id) {
    run_file& file = *file_;
    file.set_attribute("/", "fireflies_version", std::string(version()));
    file.set_attribute("/", "git_revision", std::string(git_revision()));
    file.set_attribute("/", "config", id.config_toml);
    file.set_attribute("/", "mpi_size", std::int64_t{id.ranks});
    file.set_attribute("/", "workers", std::int64_t{d.workers()});
    file.set_attribute("/", "process_grid", d.describe());
    file.set_attribute("/", "seed", std::uint64_t{config_.seed});
    file.set_attribute("/", "created", time_now_text("%Y-%m-%dT%H:%M:%SZ", true));
    file.set_attribute("/", "width", std::int64_t{config_.width});
    file.set_attribute("/", "height", std::int64_t{config_.height});
    file.set_attribute("/", "period", config_.period);
    file.set_attribute("/", "refractory_mode", std::string(name_of(config_.mode)));
    file.set_attribute("/", "partitioned", std::int64_t{config_.partitioned ? 1 : 0});
    file.set_attribute("/", "telemetry", std::string(name_of(config_.telemetry)));
    file.set_attribute("/", "status", std::string("running"));
    file.set_attribute("/", "segments", std::int64_t{segment_ + 1});
}

// /blocks' fixed datasets (each worker's block); whether a restarted output keeps its blocks.
// After a restart on another decomposition, the old blocks' series stay under the segment that
// made them.
bool run_writer::lay_out_blocks(const decomposition& d, const identity& id, std::int64_t samples) {
    run_file& file = *file_;
    const checkpoint_meta* restart = id.restart;
    std::vector<std::int64_t> geometry, ranks, blocks;
    for (int w = 0; w < d.workers(); ++w) {
        const block& b = d.block_of(w);
        geometry.insert(geometry.end(), {b.x0, b.y0, b.width, b.height});
        ranks.push_back(id.ranks == 1 ? 0 : w + 1);
        blocks.push_back(w);
    }
    const auto nb = static_cast<std::uint64_t>(d.workers());
    // (A file written before /blocks/t existed gets a new /blocks, whose rows all have times.)
    const bool same_blocks = restart && file.has("/blocks/geometry") && file.has("/blocks/t") &&
                             file.read_int64("/blocks/geometry") == geometry;
    // The previous segment's /perf stays beside this one's.
    if (restart && file.has("/perf"))
        file.move("/perf", "/perf_segment" + std::to_string(restart->segment));
    if (restart && !same_blocks && file.has("/blocks"))
        file.move("/blocks", "/blocks_segment" + std::to_string(restart->segment));
    if (!same_blocks) {
        file.write_dataset("/blocks/geometry", geometry, {nb, 4}, "cells",
                           "block x0, y0, width, height",
                           "each worker's block: x0, y0, width, height (columns [x0, x0+width), "
                           "rows [y0, y0+height))");
        file.write_dataset("/blocks/rank", ranks, {nb}, "1", "MPI rank",
                           "MPI rank that simulated each block");
        file.write_dataset(
            "/blocks/block", blocks, {nb}, "1", "block",
            "index of each worker's block: the row of /blocks/geometry, the column of /blocks/R");
        file.create_dimension("/blocks/geometry_field", 4, "x0, y0, width, height",
                              "the four numbers of each block in /blocks/geometry");
        file.set_attribute("/blocks", "first_sample", std::int64_t{samples});
    }
    return same_blocks;
}

// /blocks' series: row i is sample /blocks@first_sample + i; `keep` rows of a reopened file stay.
void run_writer::lay_out_block_series(std::uint64_t nb, std::int64_t block_keep) {
    run_file& file = *file_;
    block_t_ = &series_of(
        "/blocks/t", element_type::f64, {}, "s", "simulated time",
        "simulated time of each row's sample: /timeseries/t from sample /blocks@first_sample on",
        256, block_keep);
    block_R_ = &series_of(
        "/blocks/R", element_type::f64, {nb}, "1", "block order parameter (seed's way)",
        "order parameter of each block, computed the seed's way (as /timeseries/R); row i is "
        "sample /blocks@first_sample + i",
        256, block_keep);
    block_R_state_ = &series_of(
        "/blocks/R_state", element_type::f64, {nb}, "1", "block order parameter of the phases",
        "order parameter of each block's true phases (as /timeseries/R_state)", 256, block_keep);
    // Named axes (HDF5 dimension scales, as netCDF-4 lays them out) for xarray and other netCDF
    // readers; a reopened file keeps the ones it has.
    file.set_dimensions("/blocks/geometry", {"/blocks/block", "/blocks/geometry_field"});
    file.set_dimensions("/blocks/rank", {"/blocks/block"});
    for (const series* s : {block_R_, block_R_state_})
        file.set_dimensions(s->path(), {"/blocks/t", "/blocks/block"});
}

void run_writer::lay_out_flashes(std::int64_t keep) {
    if (!config_.record_flashes) return;
    flash_t_ =
        &series_of("/flashes/t", element_type::f64, {}, "s", "flash time",
                   "time of each flash, in time order within each sample interval", 65536, keep);
    flash_agent_ = &series_of("/flashes/agent", element_type::i64, {}, "1", "firefly",
                              "firefly that flashed: y * width + x", 65536, keep);
    file_->create_dimension("/flashes/flash", *flash_t_, "flash",
                            "one per flash in /flashes/t and /flashes/agent");
    for (const series* s : {flash_t_, flash_agent_})
        file_->set_dimensions(s->path(), {"/flashes/flash"});
    // Only a --record-region's flashes: its rectangle, for readers that map agents to cells.
    const grid_region& r = config_.record_region;
    if (!r.whole()) {
        file_->set_attribute("/flashes", "region",
                             std::vector<std::int64_t>{r.x0, r.y0, r.width, r.height});
        file_->set_attribute(
            "/flashes", "region_fields",
            std::string(
                "x0, y0, width, height (cells): columns [x0, x0+width), rows [y0, y0+height)"));
    }
}

void run_writer::lay_out_snapshots(std::int64_t keep) {
    if (config_.snapshot_every <= 0) return;
    run_file& file = *file_;
    snapshots_ = snapshot_grid::of(config_.width, config_.height, config_.snapshot_max);
    const auto ny = static_cast<std::uint64_t>(snapshots_.ny),
               nx = static_cast<std::uint64_t>(snapshots_.nx);
    snapshot_t_ = &series_of("/snapshots/t", element_type::f64, {}, "s", "simulated time",
                             "simulated time of each snapshot", 256, keep);
    snapshot_phase_ =
        &series_of("/snapshots/phase", element_type::f32, {ny, nx}, "1", "phase / period",
                   "phase / period in [0, 1) of the cell (x, y) = (px * stride_x, py * stride_y) "
                   "each pixel samples, "
                   "[time, y, x]",
                   1, keep);
    file.set_attribute("/snapshots/phase", "stride_x", std::int64_t{snapshots_.stride});
    file.set_attribute("/snapshots/phase", "stride_y", std::int64_t{snapshots_.stride});
    if (!file.has("/snapshots/x")) {
        std::vector<std::int64_t> x, y;
        for (std::int64_t px = 0; px < snapshots_.nx; ++px)
            x.push_back(px * snapshots_.stride);
        for (std::int64_t py = 0; py < snapshots_.ny; ++py)
            y.push_back(py * snapshots_.stride);
        file.write_dataset("/snapshots/x", x, {nx}, "cells", "x",
                           "column x of the cell each pixel column samples");
        file.write_dataset("/snapshots/y", y, {ny}, "cells", "y",
                           "row y of the cell each pixel row samples");
    }
    file.set_dimensions("/snapshots/phase", {"/snapshots/t", "/snapshots/y", "/snapshots/x"});
}

void run_writer::append(const sample& s) {
    write_flashes();
    series_->append(
        sample_row{to_seconds(s.t), s.R, s.R_state, s.flashes, s.pulse, s.largest_volley});
    block_t_->append(to_seconds(s.t));
    block_R_->append(std::span<const double>(s.block_R));
    block_R_state_->append(std::span<const double>(s.block_R_state));
}

void run_writer::add_flashes(std::span<const flash_event> events) {
    if (!flash_t_) return;
    const grid_region& r = config_.record_region;
    if (r.whole()) {
        pending_flashes_.insert(pending_flashes_.end(), events.begin(), events.end());
        return;
    }
    for (const flash_event& ev : events) {
        const auto id = static_cast<std::int64_t>(ev.agent);
        if (r.contains(id % config_.width, id / config_.width)) pending_flashes_.push_back(ev);
    }
}

void run_writer::append_snapshot(tick_t t, std::span<const float> frame) {
    if (!snapshot_phase_) return;
    snapshot_t_->append(to_seconds(t));
    snapshot_phase_->append(frame);
}

void run_writer::write_flashes() {
    if (!flash_t_) return;
    // Canonical order, the same for every decomposition: time, then firefly.
    std::sort(pending_flashes_.begin(), pending_flashes_.end());
    for (const flash_event& ev : pending_flashes_) {
        flash_t_->append(to_seconds(ev.t));
        flash_agent_->append(static_cast<std::int64_t>(ev.agent));
    }
    pending_flashes_.clear();
}

std::int64_t run_writer::flashes_recorded() {
    write_flashes();
    return flash_t_ ? static_cast<std::int64_t>(flash_t_->size()) : 0;
}
std::int64_t run_writer::snapshots_written() const {
    return snapshot_t_ ? static_cast<std::int64_t>(snapshot_t_->size()) : 0;
}
std::uint64_t run_writer::samples() const noexcept {
    return series_->size();
}
void run_writer::flush() {
    file_->flush();
}
const std::filesystem::path& run_writer::path_being_written() const {
    return file_->path_being_written();
}

void run_writer::finish(const run_totals& totals, const run_ending& ending, double output_seconds) {
    write_flashes();
    std::vector<double> snapshot_times; // /snapshots/t, every segment's, for the XDMF sidecar
    file_->finish([&](finisher& f) {
        write_totals(f, totals, ending);
        write_perf(f, totals, ending, output_seconds);
        if (snapshot_phase_) snapshot_times = f.read_float64("/snapshots/t");
    });
    write_xdmf(snapshot_times);
}

void run_writer::write_totals(finisher& f, const run_totals& totals,
                              const run_ending& ending) const {
    const bool balanced =
        totals.flashes_balance() && totals.pulses_balance() && totals.order_mismatches == 0;
    f.set_attribute("/", "status", ending.status);
    f.set_attribute("/", "simulated_time", to_seconds(totals.reached));
    f.set_attribute("/", "wall_time", ending.wall_time);
    f.set_attribute("/", "samples", static_cast<std::int64_t>(series_->size()));
    f.set_attribute("/", "flashes_emitted", std::int64_t{totals.flashes_emitted});
    f.set_attribute("/", "flashes_received", std::int64_t{totals.flashes_received});
    f.set_attribute("/", "pulses_sent", std::int64_t{totals.pulses_sent});
    f.set_attribute("/", "pulses_delivered", std::int64_t{totals.pulses_delivered});
    f.set_attribute("/", "pulses_in_flight", std::int64_t{totals.pulses_in_flight});
    f.set_attribute("/", "order_mismatches", std::int64_t{totals.order_mismatches});
    f.set_attribute("/", "invariants_hold", std::int64_t{balanced ? 1 : 0});
    // Synchrony (docs/output.md): absent when R_state never stayed at the threshold for a period.
    if (totals.time_to_sync >= 0)
        f.set_attribute("/", "time_to_sync", to_seconds(totals.time_to_sync));
    f.set_attribute("/", "stopped_when_synced", std::int64_t{totals.stopped_when_synced ? 1 : 0});
}

// Per-rank timers (rank 0 first, then the workers), as NEST and arbor report them.
void run_writer::write_perf(finisher& f, const run_totals& totals, const run_ending& ending,
                            double output_seconds) const {
    std::vector<double> rss{ending.hub_peak_rss_mib}, out{output_seconds};
    std::vector<std::int64_t> ranks{0}, epochs{0};
    for (std::size_t w = 0; w < totals.finals.size(); ++w) {
        const auto& h = totals.finals[w];
        rss.push_back(h.peak_rss_mib);
        out.push_back(0); // workers do not write the file
        ranks.push_back(ranks_ == 1 ? 0 : static_cast<std::int64_t>(w) + 1);
        epochs.push_back(h.epochs);
    }
    f.write_dataset("/perf/rank", ranks, "1", "MPI rank",
                    "MPI rank of each row: the hub first, then the workers");
    std::vector<std::string> per_rank;
    for (const perf_timer& timer : timers) {
        std::vector<double> rows{timer.of == &phase_timers::report ? ending.hub_busy_seconds : 0.0};
        for (const auto& h : totals.finals)
            rows.push_back(h.timers.*timer.of);
        per_rank.push_back(std::string("/perf/") + timer.name);
        f.write_dataset(per_rank.back(), rows, "s", timer.long_name, timer.description);
    }
    f.write_dataset(
        "/perf/output", out, "s", "time writing the output",
        "row 0: wall time the hub spent writing this file (time series, flashes, snapshots) "
        "before the end-of-run totals; workers: 0, they write nothing");
    f.write_dataset("/perf/peak_rss", rss, "MiB", "peak resident memory",
                    "peak resident memory of each rank");
    f.write_dataset("/perf/epochs", epochs, "1", "epochs simulated",
                    "epochs simulated by each worker");
    per_rank.insert(per_rank.end(), {"/perf/output", "/perf/peak_rss", "/perf/epochs"});
    for (const std::string& path : per_rank)
        f.set_dimensions(path, {"/perf/rank"});
    if (config_.record_epochs) write_epoch_work(f, totals);
    if (ending.restart_hub_bytes_sent >= 0) {
        // What rank 0 sent and received to restart this segment: a fixed few dozen bytes,
        // whatever the grid.
        f.set_attribute("/perf", "restart_hub_bytes_sent", ending.restart_hub_bytes_sent);
        f.set_attribute("/perf", "restart_hub_bytes_received", ending.restart_hub_bytes_received);
    }
}

// --record-epochs: each worker's work in each epoch of this segment, [workers, epochs] (every
// worker simulates the same epochs), for scripts/efficiency_model.py.
void run_writer::write_epoch_work(output::finisher& f, const run_totals& totals) const {
    const std::size_t workers = totals.work_per_epoch.size();
    const std::size_t epochs = workers == 0 ? 0 : totals.work_per_epoch.front().size();
    for (const auto& w : totals.work_per_epoch)
        if (w.size() != epochs)
            throw error("--record-epochs: the workers recorded different numbers of epochs");
    struct field {
        const char* path;
        std::int64_t epoch_work::*of;
        const char* long_name;
        const char* description;
    };
    static constexpr field fields[] = {
        {"/perf/epoch_flashes", &epoch_work::flashes, "flashes per epoch",
         "flashes the worker's fireflies emitted in each epoch of this segment (row: worker, rank "
         "- 1)"},
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
    const std::int64_t first =
        totals.finals.empty() ? 0
                              : totals.finals.front().epochs - static_cast<std::int64_t>(epochs);
    std::vector<std::int64_t> values(workers * epochs);
    for (const field& x : fields) {
        for (std::size_t w = 0; w < workers; ++w)
            for (std::size_t e = 0; e < epochs; ++e)
                values[w * epochs + e] = totals.work_per_epoch[w][e].*x.of;
        f.write_dataset(x.path, values, {workers, epochs}, "1", x.long_name, x.description);
        f.set_attribute(x.path, "first_epoch", first);
    }
}

// An XDMF description of /snapshots, so that ParaView (its Xdmf3 readers, which it picks for
// .xmf) opens them as a time series of images: frame i at times[i], the times /snapshots/t
// holds (every segment's after a restart). Each frame is a grid one node thick in z, so that it
// lies in the X-Y plane that ParaView's default view faces (a 2DCoRectMesh lands in Y-Z, edge
// on), with one cell per pixel (the phase is cell data), spaced by the subsampling stride.
// XDMF lists dimensions, origin and spacing slowest first: z, y, x. The frame is picked in the
// HDF item itself (FILE:DATASET|start:stride:count:dataspace, Xdmf3's hyperslab): ParaView
// 5.11's Xdmf3 reads a HyperSlab DataItem as an empty array.
void run_writer::write_xdmf(const std::vector<double>& times) const {
    if (!snapshot_phase_ || times.empty()) return;
    const std::filesystem::path xmf = std::filesystem::path(path_).replace_extension(".xmf");
    const std::string h5 = path_.filename().string();
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
            << "  <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 " << ny + 1 << " "
            << nx + 1 << "\"/>\n"
            << "  <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
            << "   <DataItem Dimensions=\"3\" Format=\"XML\">0 0 0</DataItem>\n"
            << "   <DataItem Dimensions=\"3\" Format=\"XML\">1 " << snapshots_.stride << " "
            << snapshots_.stride << "</DataItem>\n"
            << "  </Geometry>\n"
            << "  <Attribute Name=\"phase\" AttributeType=\"Scalar\" Center=\"Cell\">\n"
            << "   <DataItem Dimensions=\"" << ny << " " << nx
            << "\" NumberType=\"Float\" Precision=\"4\" Format=\"HDF\">" << h5
            << ":/snapshots/phase|" << i << " 0 0:1 1 1:1 " << ny << " " << nx << ":" << frames
            << " " << ny << " " << nx << "</DataItem>\n"
            << "  </Attribute>\n </Grid>\n";
    }
    out << "</Grid>\n</Domain>\n</Xdmf>\n";
    if (!out) throw io_error("cannot write " + xmf.string());
}

} // namespace fireflies::output
