#include "config/settings.hpp"

#include "fireflies/neighbourhood.hpp"
#include "fireflies/time.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <vector>

namespace fireflies::config {
namespace {

// ---- limits -------------------------------------------------------------------------------

/// Each side fits an `int`: MPI process grids and counts are ints.
constexpr std::int64_t max_side = std::numeric_limits<std::int32_t>::max();
/// W*H at most 2^53, so that the cell count (the order parameter's N) is exact in a double.
constexpr std::int64_t max_cells = std::int64_t{1} << 53;
/// Simulated time is int64 nanoseconds (up to 9.2e9 s); 1e9 s leaves room for sums of times.
constexpr double max_seconds = 1e9;
/// Pacemakers (--pacemaker) at most: LEDs, not a second population (each worker keeps the list).
constexpr std::size_t max_pacemakers = 4096;
/// The time resolution: one tick.
constexpr double resolution = 1.0 / ticks_per_second;

// ---- reading text -------------------------------------------------------------------------

std::string quoted(std::string_view text) {
    std::string out = "'"; // not "'" + std::string(text): g++ 12 -O3 warns -Wrestrict on that
    return out.append(text) += '\'';
}

/// TOML and people write "+5"; from_chars does not take the sign.
std::string_view drop_plus(std::string_view text) {
    if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+')
        text.remove_prefix(1);
    return text;
}

template <class Int> std::string parse_int(std::string_view text, Int& out) {
    const auto t = drop_plus(text);
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec == std::errc::result_out_of_range && end == t.data() + t.size())
        return quoted(text) + " is out of range";
    if (ec != std::errc{} || end != t.data() + t.size() || t.empty())
        return quoted(text) + " is not an integer";
    return {};
}

std::string parse_double(std::string_view text, double& out) {
    const auto t = drop_plus(text);
    double x = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (ec == std::errc::result_out_of_range && end == t.data() + t.size())
        return quoted(text) + " is out of range";
    if (ec != std::errc{} || end != t.data() + t.size() || t.empty())
        return quoted(text) + " is not a number";
    if (!std::isfinite(x)) return quoted(text) + " is not a finite number";
    out = x;
    return {};
}

template <std::int64_t run_config::*field>
std::string read_count(run_config& c, std::string_view text) {
    return parse_int(text, c.*field);
}
template <std::int64_t run_config::*field> std::string write_count(const run_config& c) {
    return std::to_string(c.*field);
}

std::string read_seed(run_config& c, std::string_view text) {
    if (text.starts_with('-'))
        return quoted(text) + " is not an integer in [0, " +
               std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]";
    return parse_int(text, c.seed);
}
std::string write_seed(const run_config& c) {
    return std::to_string(c.seed);
}

template <double run_config::*field> std::string read_double(run_config& c, std::string_view text) {
    return parse_double(text, c.*field);
}
template <double run_config::*field> std::string write_double(const run_config& c) {
    return toml::float_literal(c.*field);
}

template <bool run_config::*field> std::string read_flag(run_config& c, std::string_view text) {
    if (text == "true") {
        c.*field = true;
    } else if (text == "false") {
        c.*field = false;
    } else {
        return quoted(text) + " is not true or false";
    }
    return {};
}
template <bool run_config::*field> std::string write_flag(const run_config& c) {
    return c.*field ? "true" : "false";
}

// A choice among an enum's named values (choice_names in config.hpp): why `text` is none of
// them, listing `also` (words the option takes besides, such as auto) before the names.
template <class E>
std::string not_a_choice(std::string_view text, std::initializer_list<std::string_view> also = {}) {
    std::string list;
    for (std::string_view word : also)
        list += (list.empty() ? "" : ", ") + std::string(word);
    for (std::string_view name : choice_names<E>::names)
        list += (list.empty() ? "" : ", ") + std::string(name);
    return quoted(text) + " must be one of: " + list;
}
template <class E, E run_config::*field> bool take_choice(run_config& c, std::string_view text) {
    const auto& names = choice_names<E>::names;
    const auto at = std::find(names.begin(), names.end(), text);
    if (at == names.end()) return false;
    c.*field = static_cast<E>(at - names.begin());
    return true;
}
template <class E, E run_config::*field>
std::string read_choice(run_config& c, std::string_view text) {
    return take_choice<E, field>(c, text) ? std::string() : not_a_choice<E>(text);
}
template <class E, E run_config::*field> std::string write_choice(const run_config& c) {
    std::string out = "\""; // (as in quoted(): g++ 12 -O3 warns -Wrestrict on "\"" + std::string)
    return out.append(name_of(c.*field)) += '"';
}

// --telemetry: auto, or one of the modes.
std::string read_telemetry(run_config& c, std::string_view text) {
    if (text == "auto") {
        c.telemetry_auto = true;
        c.telemetry = telemetry_mode::events;
        return {};
    }
    c.telemetry_auto = false;
    return take_choice<telemetry_mode, &run_config::telemetry>(c, text)
               ? std::string()
               : not_a_choice<telemetry_mode>(text, {"auto"});
}
std::string write_telemetry(const run_config& c) {
    return c.telemetry_auto ? "\"auto\"" : write_choice<telemetry_mode, &run_config::telemetry>(c);
}
bool same_telemetry(const run_config& a, const run_config& b) {
    return a.telemetry_auto == b.telemetry_auto && a.telemetry == b.telemetry;
}

template <std::string run_config::*field>
std::string read_path(run_config& c, std::string_view text) {
    c.*field = std::string(text);
    return {};
}
template <std::string run_config::*field> std::string write_path(const run_config& c) {
    return toml::quote(c.*field);
}

// --record-region X0,Y0,W,H: four integers (cells), W and H at least 1; "" is the whole grid.
// (Whether the rectangle lies in the grid is validate()'s: it needs --width and --height.)
std::string read_region(run_config& c, std::string_view text) {
    if (text.empty()) {
        c.record_region = {};
        return {};
    }
    std::array<std::int64_t, 4> v{};
    std::string_view rest = text;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::size_t comma = i + 1 < v.size() ? rest.find(',') : std::string_view::npos;
        if ((comma == std::string_view::npos) != (i + 1 == v.size()) ||
            !parse_int(rest.substr(0, comma), v[i]).empty())
            return quoted(text) + " is not X0,Y0,W,H (four integers, cells)";
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (v[0] < 0 || v[1] < 0) return quoted(text) + " starts at a negative column or row";
    if (v[2] < 1 || v[3] < 1) return quoted(text) + " is empty: W and H must be at least 1";
    c.record_region = {v[0], v[1], v[2], v[3]};
    return {};
}
std::string write_region(const run_config& c) {
    const grid_region& r = c.record_region;
    if (r.whole()) return "\"\"";
    return "\"" + std::to_string(r.x0) + "," + std::to_string(r.y0) + "," +
           std::to_string(r.width) + "," + std::to_string(r.height) + "\"";
}
// --pacemaker X,Y[,PERIOD]: each item one pacemaker (repeatable; in the file an array of
// strings). The cell and the period are checked against the grid in find_problem.
std::string read_pacemakers(run_config& c, std::span<const std::string> items) {
    std::vector<pacemaker> out;
    for (const std::string& item : items) {
        std::vector<std::string_view> parts;
        std::string_view rest = item;
        for (std::size_t comma; (comma = rest.find(',')) != std::string_view::npos;
             rest.remove_prefix(comma + 1))
            parts.push_back(rest.substr(0, comma));
        parts.push_back(rest);
        if (parts.size() != 2 && parts.size() != 3)
            return quoted(item) + " is not X,Y or X,Y,PERIOD";
        pacemaker p;
        for (auto [text, value] : {std::pair{parts[0], &p.x}, std::pair{parts[1], &p.y}})
            if (const auto why = parse_int(text, *value); !why.empty())
                return quoted(item) + ": " + why;
        if (parts.size() == 3) {
            if (const auto why = parse_double(parts[2], p.period); !why.empty())
                return quoted(item) + ": " + why;
            if (!(p.period > 0))
                return quoted(item) + ": the period " + quoted(parts[2]) + " is not positive";
        }
        out.push_back(p);
    }
    c.pacemakers = std::move(out);
    return {};
}
/// A pacemaker as --pacemaker takes it: "X,Y", or "X,Y,PERIOD" with the period's shortest
/// spelling that reads back to it.
std::string pacemaker_text(const pacemaker& p) {
    std::string out = std::to_string(p.x) + "," + std::to_string(p.y);
    return p.period > 0 ? out + "," + show(p.period) : out;
}
std::string write_pacemakers(const run_config& c) {
    std::string out = "[";
    for (std::size_t i = 0; i < c.pacemakers.size(); ++i)
        out += (i ? ", " : "") + toml::quote(pacemaker_text(c.pacemakers[i]));
    return out + "]";
}

/// Equality of one field, for the restart check.
template <auto field> bool same(const run_config& a, const run_config& b) {
    return a.*field == b.*field;
}

// ---- the table ----------------------------------------------------------------------------

// clang-format off
constexpr std::array table{
    // Model
    setting{"width", "Model", "CELLS", "cells",
            "grid width; the grid is a torus (see --boundary), each firefly has 8 neighbours (see --neighbourhood)", "",
            value_kind::count, on_restart::must_match, read_count<&run_config::width>,
            write_count<&run_config::width>, same<&run_config::width>},
    setting{"height", "Model", "CELLS", "cells", "grid height", "",
            value_kind::count, on_restart::must_match, read_count<&run_config::height>,
            write_count<&run_config::height>, same<&run_config::height>},
    setting{"period", "Model", "SECONDS", "seconds",
            "flash period T: the phase grows at rate 1 and the firefly flashes when it reaches T",
            "", value_kind::seconds, on_restart::must_match, read_double<&run_config::period>,
            write_double<&run_config::period>, same<&run_config::period>},
    setting{"nudge", "Model", "SECONDS", "seconds of phase",
            "phase a pulse adds to a firefly that is not refractory (e); between minus the "
            "period and the period, negative for inhibitory pulses (the phase is floored at 0)", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::nudge>,
            write_double<&run_config::nudge>, same<&run_config::nudge>},
    setting{"prc-dissipation", "Model", "B", "1 (dimensionless), in [0, 100]",
            "dissipation B of the Mirollo-Strogatz state function x = ln(1 + (e^B - 1) phase/T) / B: "
            "a pulse raises x by nudge/period (capped at 1: the firefly flashes), so it moves a "
            "firefly near the top of its cycle further; 0 is the constant advance by the nudge", "",
            value_kind::number, on_restart::must_match, read_double<&run_config::dissipation>,
            write_double<&run_config::dissipation>, same<&run_config::dissipation>},
    setting{"period-spread", "Model", "SECONDS", "seconds",
            "spread S of the fireflies' own periods around --period: each firefly's period is "
            "drawn once from its id (standard deviation S, or half-width S for uniform); 0: "
            "identical fireflies", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::period_spread>,
            write_double<&run_config::period_spread>, same<&run_config::period_spread>},
    setting{"period-distribution", "Model", "normal|uniform", "normal | uniform",
            "how the own periods spread: normal (truncated to keep every period above nudge + "
            "jitter) or uniform on [period - spread, period + spread]", "",
            value_kind::choice, on_restart::must_match, read_choice<period_distribution, &run_config::period_dist>,
            write_choice<period_distribution, &run_config::period_dist>,
            same<&run_config::period_dist>},
    setting{"initial-phases", "Model", "FILE", "path; empty: random",
            "start phases from an HDF5 file: a [height, width] dataset /phase in seconds, or the last "
            "frame of /snapshots/phase of an earlier fireflies output (unsubsampled: stride 1)",
            "random (draw 0 of each firefly)",
            value_kind::path, on_restart::must_match, read_path<&run_config::initial_phases>,
            write_path<&run_config::initial_phases>, same<&run_config::initial_phases>},
    setting{"refractory", "Model", "FRACTION", "fraction of the period, in [0, 1)",
            "refractory length Rf = refractory * period, counted from the phase reset", "",
            value_kind::number, on_restart::must_match, read_double<&run_config::refractory>,
            write_double<&run_config::refractory>, same<&run_config::refractory>},
    setting{"refractory-mode", "Model", "drop|queue", "drop | queue",
            "what a refractory firefly does with a pulse: drop ignores it (the grid synchronises), "
            "queue applies it when the refractory period ends (what the seed's code did)",
            "", value_kind::choice, on_restart::must_match, read_choice<refractory_mode, &run_config::mode>, write_choice<refractory_mode, &run_config::mode>,
            same<&run_config::mode>},
    setting{"delay", "Model", "SECONDS", "seconds",
            "propagation delay d from a flash to its neighbours' pulses; at least 1 ns", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::delay>,
            write_double<&run_config::delay>, same<&run_config::delay>},
    setting{"jitter", "Model", "SECONDS", "seconds",
            "the phase after a flash is uniform in [0, jitter); below the period", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::jitter>,
            write_double<&run_config::jitter>, same<&run_config::jitter>},
    setting{"boundary", "Model", "periodic|open", "periodic | open",
            "the grid's edges: periodic wraps them (a torus), open leaves fireflies near an edge "
            "with fewer neighbours (of the default 8: 5 on an edge, 3 in a corner)", "",
            value_kind::choice, on_restart::must_match, read_choice<boundary_kind, &run_config::boundary>,
            write_choice<boundary_kind, &run_config::boundary>, same<&run_config::boundary>},
    setting{"neighbourhood", "Model", "moore|von-neumann", "moore | von-neumann",
            "which cells within the radius R (--radius) of a firefly are its neighbours: moore by Chebyshev "
            "distance (the square, (2R + 1)^2 - 1 cells), von-neumann by Manhattan distance (the "
            "diamond, 2R(R + 1) cells)", "",
            value_kind::choice, on_restart::must_match, read_choice<neighbourhood_kind, &run_config::neighbourhood>,
            write_choice<neighbourhood_kind, &run_config::neighbourhood>, same<&run_config::neighbourhood>},
    setting{"radius", "Model", "R", "cells",
            "reach R of the neighbourhood: a flash sends a pulse to every other cell within R (each "
            "distinct cell once); at least 1, and above 1 at most the grid's largest distance "
            "between two cells", "",
            value_kind::count, on_restart::must_match, read_count<&run_config::radius>,
            write_count<&run_config::radius>, same<&run_config::radius>},
    setting{"coupling", "Model", "lattice|all-to-all", "lattice | all-to-all",
            "who a flash's pulses reach: lattice, the neighbours on the grid; all-to-all, every "
            "other firefly (N - 1 pulses per flash, the same nudge and delay)", "",
            value_kind::choice, on_restart::must_match, read_choice<coupling_kind, &run_config::coupling>,
            write_choice<coupling_kind, &run_config::coupling>, same<&run_config::coupling>},
    setting{"pacemaker", "Model", "X,Y[,PERIOD]", "cell x,y and seconds; repeatable (an array of strings)",
            "the firefly at cell (X, Y) becomes a pacemaker: it flashes every PERIOD seconds (default "
            "--period) from its start phase on, and ignores pulses; its pulses reach the others as "
            "any flash's", "none",
            value_kind::path, on_restart::must_match, nullptr, write_pacemakers, same<&run_config::pacemakers>,
            '\0', read_pacemakers},
    setting{"partitioned", "Model", "", "true | false",
            "cut the links between ranks' blocks: pulses never cross a block boundary (the "
            "seed's islands)", "",
            value_kind::flag, on_restart::must_match, read_flag<&run_config::partitioned>,
            write_flag<&run_config::partitioned>, same<&run_config::partitioned>},
    // Run
    setting{"duration", "Run", "SECONDS", "seconds of simulated time",
            "simulated time to run; 0 gives only the t = 0 sample", "",
            value_kind::seconds, on_restart::may_differ, read_double<&run_config::duration>,
            write_double<&run_config::duration>, same<&run_config::duration>},
    setting{"sample-every", "Run", "SECONDS", "seconds of simulated time",
            "interval between order-parameter samples (0.5 s is the seed's 2 Hz)", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::sample_every>,
            write_double<&run_config::sample_every>, same<&run_config::sample_every>},
    setting{"seed", "Run", "UINT64", "integer in [0, 2^64)",
            "random seed; the same seed gives the same run for any number of ranks", "",
            value_kind::seed, on_restart::must_match, read_seed, write_seed,
            same<&run_config::seed>},
    setting{"telemetry", "Run", "auto|events|summary", "auto | events | summary",
            "what workers send the hub: every flash (events), per-sample partial sums (summary; the "
            "same series, but largest_volley -1), or auto: events unless the run would send the hub "
            "more flash events than it absorbs (the banner says which)",
            "", value_kind::choice, on_restart::may_differ, read_telemetry, write_telemetry, same_telemetry},
    setting{"engine", "Run", "coroutine|flat", "coroutine | flat",
            "how workers run their fireflies: one C++20 coroutine each (coroutine), or the same "
            "event loop calling the rules directly (flat, the benchmark reference); same results",
            "", value_kind::choice, on_restart::may_differ, read_choice<engine_kind, &run_config::engine>, write_choice<engine_kind, &run_config::engine>,
            same<&run_config::engine>},
    // Synchrony
    setting{"sync-threshold", "Synchrony", "FRACTION", "order parameter, in (0, 1]",
            "time_to_sync (a root attribute of the output): the first time R_state stays at or "
            "above this for a whole period", "",
            value_kind::number, on_restart::may_differ, read_double<&run_config::sync_threshold>,
            write_double<&run_config::sync_threshold>, same<&run_config::sync_threshold>},
    setting{"stop-when-synced", "Synchrony", "", "true | false",
            "end the run once time_to_sync is known: every rank stops at the epoch boundary after "
            "the next sample (the same simulated time for any number of ranks); status complete, "
            "exit code 0", "",
            value_kind::flag, on_restart::may_differ, read_flag<&run_config::stop_when_synced>,
            write_flag<&run_config::stop_when_synced>, same<&run_config::stop_when_synced>},
    setting{"volley-window", "Synchrony", "SECONDS", "seconds of simulated time",
            "width of the window of /timeseries/largest_volley: the most flashes of each sample "
            "interval within any window this wide (events telemetry; at least --sample-every: "
            "all the interval's flashes)", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::volley_window>,
            write_double<&run_config::volley_window>, same<&run_config::volley_window>},
    // Output
    setting{"output", "Output", "PATH", "path; empty: the default name",
            "HDF5 file to write", "fireflies-YYYYmmdd-HHMMSS-<pid>.h5 in the current directory",
            value_kind::path, on_restart::must_match, read_path<&run_config::output>,
            write_path<&run_config::output>, same<&run_config::output>, 'o'},
    setting{"force", "Output", "", "true | false", "overwrite --output if it exists", "",
            value_kind::flag, on_restart::may_differ, read_flag<&run_config::force>,
            write_flag<&run_config::force>, same<&run_config::force>},
    setting{"progress", "Output", "", "true | false",
            "show the progress line on stderr even when it is a terminal (it is always shown "
            "when stderr is a file or pipe, as in batch jobs)", "",
            value_kind::flag, on_restart::may_differ, read_flag<&run_config::progress>,
            write_flag<&run_config::progress>, same<&run_config::progress>},
    setting{"record-epochs", "Output", "", "true | false",
            "write each worker's work in every epoch (flashes, pulses applied, flashes delivered, "
            "due-list visits) to /perf/epoch_*, for scripts/efficiency_model.py; 32 bytes per "
            "epoch per worker, sent to the hub with the worker's final report", "",
            value_kind::flag, on_restart::may_differ, read_flag<&run_config::record_epochs>,
            write_flag<&run_config::record_epochs>, same<&run_config::record_epochs>},
    setting{"record-flashes", "Output", "", "true | false",
            "write every flash to /flashes/t and /flashes/agent (the whole grid needs --telemetry "
            "events; see --record-region)", "",
            value_kind::flag, on_restart::must_match, read_flag<&run_config::record_flashes>,
            write_flag<&run_config::record_flashes>, same<&run_config::record_flashes>},
    setting{"record-region", "Output", "X0,Y0,W,H", "cells; empty: the whole grid",
            "with --record-flashes, record only the flashes of the fireflies in columns [X0, X0+W) "
            "and rows [Y0, Y0+H); the region's flashes reach the hub in summary telemetry too", "the whole grid",
            value_kind::path, on_restart::must_match, read_region, write_region, same<&run_config::record_region>},
    setting{"snapshot-every", "Output", "SECONDS", "seconds of simulated time; 0: none",
            "write the phase field to /snapshots/phase at this interval (a multiple of "
            "--sample-every)", "",
            value_kind::seconds, on_restart::must_match, read_double<&run_config::snapshot_every>,
            write_double<&run_config::snapshot_every>, same<&run_config::snapshot_every>},
    setting{"snapshot-max", "Output", "PIXELS", "pixels",
            "largest side of a snapshot frame; larger grids are subsampled with one stride", "",
            value_kind::count, on_restart::must_match, read_count<&run_config::snapshot_max>,
            write_count<&run_config::snapshot_max>, same<&run_config::snapshot_max>},
    setting{"visualize", "Output", "", "true | false",
            "draw the grid live in the terminal on rank 0 (the seed's view)", "",
            value_kind::flag, on_restart::may_differ, read_flag<&run_config::visualize>,
            write_flag<&run_config::visualize>, same<&run_config::visualize>},
    setting{"speed", "Output", "X", "simulated seconds per wall second; 0: unlimited",
            "hold the simulation to this pace on every worker (results do not depend on it); "
            "0 means unlimited, or 1 with --visualize", "",
            value_kind::number, on_restart::may_differ, read_double<&run_config::speed>,
            write_double<&run_config::speed>, same<&run_config::speed>},
    // Checkpoint
    setting{"checkpoint", "Checkpoint", "PATH", "path; empty: none",
            "write the whole state here when the run is stopped by SIGUSR1, SIGTERM or SIGINT, "
            "and periodically (atomically: a temporary file, then rename)", "none",
            value_kind::path, on_restart::may_differ, read_path<&run_config::checkpoint>,
            write_path<&run_config::checkpoint>, same<&run_config::checkpoint>},
    setting{"checkpoint-every", "Checkpoint", "SECONDS",
            "seconds of simulated time; 0: only on a signal",
            "simulated time between checkpoints", "",
            value_kind::seconds, on_restart::may_differ, read_double<&run_config::checkpoint_every>,
            write_double<&run_config::checkpoint_every>, same<&run_config::checkpoint_every>},
    setting{"restart", "Checkpoint", "PATH", "path; empty: start at t = 0",
            "continue the run saved in this checkpoint (any number of ranks); its output file "
            "is continued", "none",
            value_kind::path, on_restart::may_differ, read_path<&run_config::restart>,
            write_path<&run_config::restart>, same<&run_config::restart>},
};
// clang-format on

// ---- the file's values ----------------------------------------------------------------------

std::string_view type_noun(toml::value_type type) {
    using t = toml::value_type;
    switch (type) {
    case t::string:
        return "a string";
    case t::boolean:
        return "a boolean";
    case t::integer:
        return "an integer";
    case t::floating:
        return "a float";
    case t::array:
        return "an array";
    case t::inline_table:
        return "an inline table";
    case t::date:
        return "a date";
    case t::time:
        return "a time";
    case t::date_time:
        return "a date-time";
    }
    return "a value";
}

/// What a setting of kind `kind` takes, or each element of a list takes (`plural`).
std::string_view expected_noun(value_kind kind, bool plural) {
    switch (kind) {
    case value_kind::count:
    case value_kind::seed:
        return plural ? "integers" : "an integer";
    case value_kind::seconds:
    case value_kind::number:
        return plural ? "numbers" : "a number";
    case value_kind::choice:
    case value_kind::path:
        return plural ? "strings in double quotes" : "a string in double quotes";
    case value_kind::flag:
        return plural ? "booleans" : "true or false";
    }
    return "a value";
}

/// A value as the file wrote it, for messages: strings quoted again.
std::string shown(toml::value_type type, const std::string& text) {
    return type == toml::value_type::string ? toml::quote(text) : text;
}

// ---- range rules --------------------------------------------------------------------------

std::string too_long(double x) {
    return show(x) + " s is more than 1e9 s (simulated time is kept in int64 nanoseconds)";
}

std::optional<std::string> cells(std::int64_t n) {
    if (n < 1) return std::to_string(n) + " must be at least 1 cell";
    if (n > max_side)
        return std::to_string(n) + " is more than " + std::to_string(max_side) + " cells";
    return std::nullopt;
}

/// A length of time that must be positive and at least one tick.
std::optional<std::string> positive_time(double x) {
    if (!std::isfinite(x)) return show(x) + " is not a finite number";
    if (!(x > 0)) return show(x) + " is not a positive number of seconds";
    if (x < resolution) return show(x) + " s is below the time resolution of 1 ns";
    if (x > max_seconds) return too_long(x);
    return std::nullopt;
}

std::optional<std::string> non_negative_time(double x) {
    if (!std::isfinite(x)) return show(x) + " is not a finite number";
    if (x < 0) return show(x) + " is not a non-negative number of seconds";
    if (x > max_seconds) return too_long(x);
    return std::nullopt;
}

/// jitter, and a nudge that is not negative: below the period, also once rounded to ticks.
std::optional<std::string> below_period(double x, double period) {
    if (auto why = non_negative_time(x)) return why;
    if (x >= period) return show(x) + " must be less than the period (" + show(period) + " s)";
    if (to_ticks(x) >= to_ticks(period))
        return show(x) + " rounds to the period (" + show(period) + " s) at the 1 ns resolution";
    return std::nullopt;
}

} // namespace

std::span<const setting> settings() {
    return table;
}

const setting* find_setting(std::string_view name) {
    for (const auto& s : table)
        if (s.name == name) return &s;
    return nullptr;
}

bool accepts(value_kind kind, toml::value_type type) {
    using t = toml::value_type;
    switch (kind) {
    case value_kind::count:
    case value_kind::seed:
        return type == t::integer;
    case value_kind::seconds:
    case value_kind::number:
        return type == t::integer || type == t::floating;
    case value_kind::choice:
    case value_kind::path:
        return type == t::string;
    case value_kind::flag:
        return type == t::boolean;
    }
    return false;
}

std::string read_entry(const setting& s, run_config& c, const toml::entry& e) {
    if (s.read_list) {
        if (e.type != toml::value_type::array)
            return shown(e.type, e.text) + " is " + std::string(type_noun(e.type)) +
                   ", expected an array of " + std::string(expected_noun(s.kind, true));
        std::vector<std::string> items;
        for (const auto& item : e.items) {
            if (!accepts(s.kind, item.type))
                return "element " + shown(item.type, item.text) + " of " + e.text + " is " +
                       std::string(type_noun(item.type)) + ", expected " +
                       std::string(expected_noun(s.kind, false));
            items.push_back(item.text);
        }
        return s.read_list(c, items);
    }
    if (!accepts(s.kind, e.type))
        return shown(e.type, e.text) + " is " + std::string(type_noun(e.type)) + ", expected " +
               std::string(expected_noun(s.kind, false));
    return s.read(c, e.text);
}

const setting* restart_mismatch(const run_config& saved, const run_config& now) {
    // Anything not explicitly free must match, so that a row without a decision errs safe.
    for (const auto& s : table)
        if (s.restart != on_restart::may_differ && !s.same(saved, now)) return &s;
    return nullptr;
}

// The pulse's effect: the nudge (inhibitory ones above minus the period), the phase response's
// dissipation, the refractory fraction.
static std::optional<problem> pulse_problem(const run_config& c) {
    if (c.nudge < 0) {
        // Inhibitory pulses: above minus the period, also once rounded to ticks.
        if (-c.nudge >= c.period)
            return problem{"nudge", show(c.nudge) + " must be more than minus the period (-" +
                                        show(c.period) + " s)"};
        if (to_ticks(-c.nudge) >= to_ticks(c.period))
            return problem{"nudge", show(c.nudge) + " rounds to minus the period (-" +
                                        show(c.period) + " s) at the 1 ns resolution"};
    } else if (auto why = below_period(c.nudge, c.period)) {
        return problem{"nudge", *why};
    }
    if (!std::isfinite(c.dissipation))
        return problem{"prc-dissipation", show(c.dissipation) + " is not a finite number"};
    if (!(c.dissipation >= 0 && c.dissipation <= 100))
        return problem{"prc-dissipation", show(c.dissipation) + " must be in [0, 100]"};
    if (!std::isfinite(c.refractory))
        return problem{"refractory", show(c.refractory) + " is not a finite number"};
    if (!(c.refractory >= 0 && c.refractory < 1))
        return problem{"refractory", show(c.refractory) + " must be in [0, 1)"};
    if (to_ticks(c.refractory * c.period) >= to_ticks(c.period))
        return problem{"refractory", show(c.refractory) + " makes the refractory period (" +
                                         show(c.refractory * c.period) +
                                         " s) round to the whole period at the 1 ns resolution"};
    return std::nullopt;
}

// Who is coupled to whom: the boundary, the neighbourhood and its radius, the coupling.
static std::optional<problem> coupling_choice_problem(const run_config& c) {
    if (c.boundary != boundary_kind::periodic && c.boundary != boundary_kind::open)
        return problem{"boundary", "is not periodic or open"};
    if (c.neighbourhood != neighbourhood_kind::moore &&
        c.neighbourhood != neighbourhood_kind::von_neumann)
        return problem{"neighbourhood", "is not moore or von-neumann"};
    if (c.radius < 1)
        return problem{"radius", std::to_string(c.radius) + " must be at least 1 cell"};
    if (const neighbourhood reach = neighbourhood::of(c);
        c.radius > 1 && c.radius > reach.diameter())
        return problem{
            "radius",
            std::to_string(c.radius) + " reaches beyond the " + std::to_string(c.width) + " x " +
                std::to_string(c.height) + " grid: with --boundary " +
                std::string(name_of(c.boundary)) + " no two cells are more than " +
                std::to_string(reach.diameter()) + " apart (" +
                (c.neighbourhood == neighbourhood_kind::moore ? "Chebyshev" : "Manhattan") +
                " distance)"};
    if (c.coupling != coupling_kind::lattice && c.coupling != coupling_kind::all_to_all)
        return problem{"coupling", "is not lattice or all-to-all"};
    return std::nullopt;
}

// A period spread: every own period stays above nudge + jitter (ticks), and below 1e9 s.
static std::optional<problem> period_spread_problem(const run_config& c) {
    if (!(c.period_spread > 0)) return std::nullopt;
    const tick_t floor = std::max<tick_t>(to_ticks(c.nudge), 0) + to_ticks(c.jitter);
    const tick_t room = to_ticks(c.period) - floor, spread = to_ticks(c.period_spread);
    const bool uniform = c.period_dist == period_distribution::uniform;
    if (spread >= room)
        return problem{"period-spread",
                       show(c.period_spread) +
                           " s must be less than the period minus the nudge and the jitter (" +
                           show(to_seconds(room)) + " s): every own period stays above " +
                           show(to_seconds(floor)) + " s"};
    if (c.period + (uniform ? 1 : 9) * c.period_spread > max_seconds)
        return problem{"period-spread",
                       show(c.period_spread) + " s makes periods of more than 1e9 s"};
    return std::nullopt;
}

// Each value on its own, in table order: the grid and the model's, then the run's and the
// output's; then the rules that tie values together.
static std::optional<problem> model_problem(const run_config& c) {
    if (auto why = cells(c.width)) return problem{"width", *why};
    if (auto why = cells(c.height)) return problem{"height", *why};
    if (auto why = positive_time(c.period)) return problem{"period", *why};
    if (auto p = pulse_problem(c)) return p;
    if (auto why = positive_time(c.delay)) return problem{"delay", *why};
    if (auto why = below_period(c.jitter, c.period)) return problem{"jitter", *why};
    if (to_ticks(c.jitter) + to_ticks(c.nudge) >= to_ticks(c.period))
        return problem{"jitter", show(c.jitter) + " plus the nudge (" + show(c.nudge) +
                                     ") must stay below the period (" + show(c.period) +
                                     "), or a firefly could flash twice at one instant"};
    if (auto why = non_negative_time(c.period_spread)) return problem{"period-spread", *why};
    if (auto p = coupling_choice_problem(c)) return p;
    if (c.period_dist != period_distribution::normal &&
        c.period_dist != period_distribution::uniform)
        return problem{"period-distribution", "is not normal or uniform"};
    return period_spread_problem(c);
}

static std::optional<problem> run_problem(const run_config& c) {
    if (auto why = non_negative_time(c.duration)) return problem{"duration", *why};
    if (auto why = positive_time(c.sample_every)) return problem{"sample-every", *why};
    if (c.mode != refractory_mode::drop && c.mode != refractory_mode::queue)
        return problem{"refractory-mode", "is not drop or queue"};
    if (c.telemetry != telemetry_mode::events && c.telemetry != telemetry_mode::summary)
        return problem{"telemetry", "is not events or summary"};
    if (c.engine != engine_kind::coroutine && c.engine != engine_kind::flat)
        return problem{"engine", "is not coroutine or flat"};
    if (!std::isfinite(c.sync_threshold) || !(c.sync_threshold > 0 && c.sync_threshold <= 1))
        return problem{"sync-threshold",
                       show(c.sync_threshold) + " must be in (0, 1] (an order parameter)"};
    if (auto why = positive_time(c.volley_window)) return problem{"volley-window", *why};
    if (auto why = non_negative_time(c.snapshot_every)) return problem{"snapshot-every", *why};
    if (c.snapshot_every > 0) {
        const double ratio = static_cast<double>(to_ticks(c.snapshot_every)) /
                             static_cast<double>(to_ticks(c.sample_every));
        if (ratio < 1 || ratio != std::floor(ratio))
            return problem{"snapshot-every", show(c.snapshot_every) +
                                                 " is not a whole multiple of --sample-every (" +
                                                 show(c.sample_every) + ")"};
    }
    if (c.snapshot_max < 1 || c.snapshot_max > 65536)
        return problem{"snapshot-max", std::to_string(c.snapshot_max) + " must be in [1, 65536]"};
    if (!std::isfinite(c.speed) || c.speed < 0 || c.speed > 1e9)
        return problem{"speed", show(c.speed) + " must be a number in [0, 1e9] (0: unlimited)"};
    if (auto why = non_negative_time(c.checkpoint_every)) return problem{"checkpoint-every", *why};
    if (c.checkpoint_every > 0 && c.checkpoint.empty())
        return problem{"checkpoint-every", "needs --checkpoint FILE"};
    return std::nullopt;
}

// What is recorded and shown: --record-region, --record-flashes, --visualize.
static std::optional<problem> recording_problem(const run_config& c) {
    if (!c.record_region.whole()) {
        const grid_region& r = c.record_region;
        if (!c.record_flashes)
            return problem{"record-region",
                           "needs --record-flashes (it chooses which flashes it records)"};
        if (r.x0 >= c.width || r.y0 >= c.height || r.width > c.width - r.x0 ||
            r.height > c.height - r.y0)
            return problem{"record-region", write_region(c) + " reaches beyond the " +
                                                std::to_string(c.width) + " x " +
                                                std::to_string(c.height) + " grid (columns 0.." +
                                                std::to_string(c.width - 1) + ", rows 0.." +
                                                std::to_string(c.height - 1) + ")"};
    } else if (!c.telemetry_auto && c.telemetry == telemetry_mode::summary && c.record_flashes) {
        return problem{"record-flashes",
                       "of the whole grid needs --telemetry events (summary sends the hub only a "
                       "--record-region's flashes)"};
    }
    if (!c.telemetry_auto && c.telemetry == telemetry_mode::summary && c.visualize)
        return problem{"visualize",
                       "needs --telemetry events (summary sends no flashes to the hub)"};
    return std::nullopt;
}

// Each --pacemaker: on the grid, once per cell, a positive period.
static std::optional<problem> pacemaker_problem(const run_config& c) {
    if (c.pacemakers.size() > max_pacemakers)
        return problem{"pacemaker", std::to_string(c.pacemakers.size()) +
                                        " pacemakers are more than " +
                                        std::to_string(max_pacemakers)};
    for (std::size_t i = 0; i < c.pacemakers.size(); ++i) {
        const pacemaker& p = c.pacemakers[i];
        const std::string what = quoted(pacemaker_text(p));
        if (p.x < 0 || p.x >= c.width || p.y < 0 || p.y >= c.height)
            return problem{"pacemaker", what + " is outside the " + std::to_string(c.width) +
                                            " x " + std::to_string(c.height) + " grid (x in [0, " +
                                            std::to_string(c.width) + "), y in [0, " +
                                            std::to_string(c.height) + "))"};
        for (std::size_t j = 0; j < i; ++j)
            if (c.pacemakers[j].x == p.x && c.pacemakers[j].y == p.y)
                return problem{"pacemaker", "cell " + std::to_string(p.x) + "," +
                                                std::to_string(p.y) + " is given twice"};
        if (p.period != 0)
            if (auto why = positive_time(p.period))
                return problem{"pacemaker", what + ": the period " + *why};
    }
    return std::nullopt;
}

// All-to-all coupling has no neighbourhood: the lattice's options mean nothing with it.
static std::optional<problem> all_to_all_problem(const run_config& c) {
    if (c.coupling == coupling_kind::all_to_all && c.partitioned)
        return problem{
            "coupling",
            "all-to-all couples every firefly to every other one: it cannot be --partitioned"};
    if (c.coupling == coupling_kind::all_to_all && c.boundary != boundary_kind::periodic)
        return problem{"coupling", "all-to-all has no neighbourhood on the grid, so --boundary " +
                                       std::string(name_of(c.boundary)) + " means nothing with it"};
    if (c.coupling == coupling_kind::all_to_all &&
        (c.neighbourhood != neighbourhood_kind::moore || c.radius != 1))
        return problem{"coupling",
                       "all-to-all reaches every firefly, so --neighbourhood " +
                           std::string(name_of(c.neighbourhood)) + " --radius " +
                           std::to_string(c.radius) +
                           " means nothing with it (they must be the default, moore and 1)"};
    return std::nullopt;
}

static std::optional<problem> rule_problem(const run_config& c) {
    if (auto p = recording_problem(c)) return p;
    if (auto p = pacemaker_problem(c)) return p;
    if (auto p = all_to_all_problem(c)) return p;
    // Both sides are at most 2^31 - 1, so the product cannot overflow.
    if (c.width * c.height > max_cells)
        return problem{"width", std::to_string(c.width) + " x " + std::to_string(c.height) + " = " +
                                    std::to_string(c.width * c.height) +
                                    " cells is more than 2^53 (" + std::to_string(max_cells) + ")"};
    return std::nullopt;
}

std::optional<problem> find_problem(const run_config& c) {
    if (auto p = model_problem(c)) return p;
    if (auto p = run_problem(c)) return p;
    return rule_problem(c);
}

std::string show(double x) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

} // namespace fireflies::config
