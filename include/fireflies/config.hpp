#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fireflies {

/// What a pulse does to a firefly that is still refractory (phase below `refractory * period`).
enum class refractory_mode {
    drop,  ///< ignored: the classic pulse-coupled oscillator; the grid synchronises (default)
    queue, ///< held and applied, each as +nudge, when the refractory period ends (the seed's code)
};

/// How the fireflies' own periods spread around --period (with --period-spread > 0).
enum class period_distribution {
    normal,  ///< normal with standard deviation --period-spread, truncated (docs/model.md)
    uniform, ///< uniform on [period - spread, period + spread]
};

/// What lies beyond the grid's edges.
enum class boundary_kind {
    periodic, ///< a torus: the edges wrap around (every firefly has 8 neighbours)
    open,     ///< nothing: fireflies on an edge have fewer neighbours (5, or 3 in a corner)
};

/// Which cells around a firefly are its neighbours (with --radius R).
enum class neighbourhood_kind {
    moore,       ///< Chebyshev distance at most R: the (2R + 1)^2 - 1 cells of a square (default)
    von_neumann, ///< Manhattan distance at most R: the 2R(R + 1) cells of a diamond
};

/// Who a flash's pulses reach.
enum class coupling_kind {
    /// the neighbours on the grid (--neighbourhood, --radius; --boundary says at the edges)
    lattice,
    /// every other firefly of the grid (N - 1 pulses per flash; Mirollo & Strogatz 1990)
    all_to_all,
};

/// How workers report to the hub.
enum class telemetry_mode {
    events,  ///< every flash goes to the hub as an event (needed for --record-flashes, the view)
    summary, ///< workers pre-reduce each sample; O(P) data per sample at the hub
};

/// How each worker runs its fireflies.
enum class engine_kind {
    coroutine, ///< each firefly a C++20 coroutine resumed by the scheduler (the program)
    flat,      ///< the same event loop calling the same rules directly (benchmark reference)
};

/// The names of an enum's values as the options, the config file, the banner and the output
/// spell them, in the order of the values: the one place they are written.
template <class E> struct choice_names;
template <> struct choice_names<refractory_mode> {
    static constexpr std::array<std::string_view, 2> names{"drop", "queue"};
};
template <> struct choice_names<telemetry_mode> {
    static constexpr std::array<std::string_view, 2> names{"events", "summary"};
};
template <> struct choice_names<engine_kind> {
    static constexpr std::array<std::string_view, 2> names{"coroutine", "flat"};
};
template <> struct choice_names<boundary_kind> {
    static constexpr std::array<std::string_view, 2> names{"periodic", "open"};
};
template <> struct choice_names<neighbourhood_kind> {
    static constexpr std::array<std::string_view, 2> names{"moore", "von-neumann"};
};
template <> struct choice_names<coupling_kind> {
    static constexpr std::array<std::string_view, 2> names{"lattice", "all-to-all"};
};
template <> struct choice_names<period_distribution> {
    static constexpr std::array<std::string_view, 2> names{"normal", "uniform"};
};
/// The name of `value` (see choice_names).
template <class E> constexpr std::string_view name_of(E value) {
    return choice_names<E>::names.at(static_cast<std::size_t>(value));
}

/// A rectangle of the grid: columns [x0, x0 + width), rows [y0, y0 + height) (cells). The
/// default, 0 x 0, stands for the whole grid.
struct grid_region {
    std::int64_t x0 = 0, y0 = 0, width = 0, height = 0;
    bool whole() const noexcept { return width == 0 && height == 0; }
    bool contains(std::int64_t x, std::int64_t y) const noexcept {
        return whole() || (x >= x0 && x < x0 + width && y >= y0 && y < y0 + height);
    }
    friend bool operator==(const grid_region&, const grid_region&) = default;
};

/// A pacemaker (--pacemaker X,Y[,PERIOD]): the firefly at cell (x, y) flashes with its own
/// fixed period and ignores pulses, like an LED driving the swarm (docs/model.md, "Pacemakers").
struct pacemaker {
    std::int64_t x = 0, y = 0; ///< cell
    double period = 0;         ///< seconds; 0: the run's period
    friend bool operator==(const pacemaker&, const pacemaker&) = default;
};

/// Every setting of a run, as the user gave it (seconds, cells). Defaults are the seed's.
/// `config::parse` fills it from the command line and `--config FILE`; `config::validate`
/// checks it; `config::to_toml` writes it back in a form `--config` reads again.
struct run_config {
    // grid and model
    std::int64_t width = 30;  ///< cells
    std::int64_t height = 30; ///< cells
    double duration = 300.0;  ///< simulated seconds
    double period = 5.0;      ///< seconds, T
    double nudge = 0.2;       ///< seconds of phase added by one pulse, e (negative: inhibitory)
    /// B, the Mirollo-Strogatz dissipation of the state function; 0: linear
    double dissipation = 0;
    /// seconds; each firefly's own period spreads this much around `period`
    double period_spread = 0;
    period_distribution period_dist = period_distribution::normal;
    std::string initial_phases; ///< HDF5 file of start phases (docs/model.md); empty: random
    boundary_kind boundary = boundary_kind::periodic;
    neighbourhood_kind neighbourhood = neighbourhood_kind::moore;
    /// cells: the neighbourhood's reach (Chebyshev or Manhattan distance)
    std::int64_t radius = 1;
    coupling_kind coupling = coupling_kind::lattice;
    std::vector<pacemaker> pacemakers; ///< in the order given
    double refractory = 0.2;           ///< fraction of the period, Rf = refractory * T
    refractory_mode mode = refractory_mode::drop;
    double delay = 0.01;       ///< seconds from a flash to its pulses' arrival, d > 0
    double jitter = 0.1;       ///< seconds; phase after a flash is U(0, jitter)
    double sample_every = 0.5; ///< seconds of simulated time between samples
    std::uint64_t seed = 1;
    bool partitioned = false; ///< cut the links between blocks (the seed's islands)

    // output and telemetry
    std::string output;    ///< empty: fireflies-YYYYmmdd-HHMMSS-<pid>.h5 in the cwd
    bool force = false;    ///< overwrite an existing --output
    bool progress = false; ///< progress line even when stderr is a terminal
    telemetry_mode telemetry = telemetry_mode::events;
    /// --telemetry auto (the default): rank 0 chooses `telemetry` for the run's size before it
    /// starts (app/telemetry_choice.hpp); what every rank then runs with is the choice.
    bool telemetry_auto = true;
    engine_kind engine = engine_kind::coroutine;
    bool record_flashes = false; ///< write every flash to /flashes (events telemetry)
    /// write each worker's work per epoch to /perf/epoch_* (the efficiency model)
    bool record_epochs = false;
    /// --record-region: the fireflies whose flashes --record-flashes writes; whole(): every one.
    /// A region's flashes reach the hub in summary telemetry too (docs/output.md).
    grid_region record_region;
    double snapshot_every = 0;       ///< seconds between phase snapshots; 0: none
    std::int64_t snapshot_max = 512; ///< at most this many pixels a side in /snapshots/phase

    // synchrony (docs/output.md)
    double sync_threshold = 0.99;  ///< time_to_sync: R_state at or above this for a whole period
    bool stop_when_synced = false; ///< end the run one sample after time_to_sync is known
    /// seconds: /timeseries/largest_volley counts flashes this close
    double volley_window = 0.25;

    // live view
    bool visualize = false; ///< draw the grid in the terminal (rank 0)
    /// simulated seconds per wall second; 0: unlimited (1 with --visualize)
    double speed = 0;

    // checkpoint and restart
    std::string checkpoint;      ///< checkpoint file; empty: none
    double checkpoint_every = 0; ///< simulated seconds between checkpoints; 0: only on a signal
    std::string restart;         ///< continue from this checkpoint file

    /// Simulated seconds per wall second the workers hold (0: as fast as they can).
    double effective_speed() const noexcept { return speed > 0 ? speed : (visualize ? 1.0 : 0.0); }

    /// Field by field; `config::from_toml(config::to_toml(c)) == c` holds for every valid `c`.
    bool operator==(const run_config&) const = default;
};

} // namespace fireflies
