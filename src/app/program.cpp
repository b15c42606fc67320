#include "app/program.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>
#include <thread>

#include "app/memory_check.hpp"
#include "app/recorder.hpp"
#include "app/telemetry_choice.hpp"
#include "comm/mpi.hpp"
#include "config/cli.hpp"
#include "config/settings.hpp"
#include "fireflies/block_simulation.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/collective.hpp"
#include "fireflies/error.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/output.hpp"
#include "output/checkpoint_file.hpp"
#include "runtime/resources.hpp"
#include "runtime/signals.hpp"

namespace fireflies {

namespace {

using clock = std::chrono::steady_clock;

// Without -o: a name that no earlier run has taken (and creation never overwrites anyway).
std::string default_output_name() {
    return "fireflies-" + time_now_text("%Y%m%d-%H%M%S", false) + "-" + std::to_string(getpid()) +
           ".h5";
}

// --checkpoint names a file that a checkpoint will replace: never the run's output, and never an
// existing file that is not this run's checkpoint. The file being restarted from is this run's;
// another existing checkpoint is replaced only with --force; anything else is refused.
void check_checkpoint_path(const run_config& config) {
    namespace fs = std::filesystem;
    const fs::path ckpt = config.checkpoint;
    output::check_output_path(ckpt, true, "--checkpoint");
    auto same_file = [](const fs::path& a, const fs::path& b) {
        std::error_code ec;
        if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
        return fs::weakly_canonical(fs::absolute(a, ec), ec) ==
               fs::weakly_canonical(fs::absolute(b, ec), ec);
    };
    auto refuse = [&](const std::string& why) {
        throw usage_error("--checkpoint " + config.checkpoint + ": " + why);
    };
    if (same_file(ckpt, config.output))
        refuse("is the run's output (--output); a checkpoint needs a file of its own");
    std::error_code ec;
    if (!fs::exists(ckpt, ec)) return;
    if (!config.restart.empty() && same_file(ckpt, config.restart)) return;
    if (!output::is_checkpoint(ckpt))
        refuse("exists and is not a fireflies checkpoint (an output or another file?); choose "
               "another path");
    if (!config.force)
        refuse("a checkpoint of another run exists there (use --restart to continue it, or --force "
               "to replace it)");
}

// The checkpoint that began at `start` is in place: the run goes on.
void checkpoint_written(const run_config& config, hub& h, const checkpoint_meta& meta,
                        clock::time_point start) {
    h.checkpoint_done();
    std::fprintf(stderr, "fireflies: checkpoint at t=%g s written to %s in %.2f s\n",
                 to_seconds(meta.epoch * to_ticks(config.delay)), config.checkpoint.c_str(),
                 std::chrono::duration<double>(clock::now() - start).count());
}

// A checkpoint that could not be written, named as the user knows it; the exit code is the
// failure's (full disk: 5, HDF5: 3).
[[noreturn]] void checkpoint_failed(const run_config& config, const std::string& what,
                                    std::int64_t code) {
    const std::string text =
        "--checkpoint " + config.checkpoint + ": " + what + "; the previous checkpoint is kept";
    if (code == exit_codes::io) throw io_error(text);
    if (code == exit_codes::hdf5) throw hdf5_error(text);
    throw error(text, static_cast<int>(code));
}

// A checkpoint's first step, at the hub: the run's position, counts and settings, and the output
// flushed (a restart continues it from exactly there), into the temporary file, which rank 0
// begins (begin_checkpoint, with its own byte counts for this checkpoint: `sent`, `received`).
// Then the workers write their blocks into it (write_checkpoint).
checkpoint_order begin_checkpoint(const run_config& config, const std::string& toml, hub& h,
                                  recorder& rec, std::int64_t sent, std::int64_t received) {
    checkpoint_order order;
    order.meta = h.checkpoint_state();
    order.meta.config_toml = toml;
    order.meta.flashes_recorded = rec.flashes_recorded();
    order.meta.snapshots = rec.snapshots_written();
    order.meta.segment = rec.segment();
    rec.flush();
    order.temporary_id = ::getpid();
    order.hub_bytes_sent = sent;
    order.hub_bytes_received = received;
    try {
        output::begin_checkpoint(config.checkpoint, config.width, config.height, order);
    } catch (const fireflies::error& e) {
        checkpoint_failed(config, e.what(), e.exit_code());
    }
    return order;
}

// The one-process run: the worker hands its reports straight to the hub.
class local_link final : public worker_link {
  public:
    local_link(hub& h, recorder& r, std::function<void(const block_state&)> on_checkpoint)
        : hub_(h), recorder_(r), on_checkpoint_(std::move(on_checkpoint)) {}
    void exchange(const std::vector<int>&, const std::vector<std::vector<flash_event>>&,
                  std::vector<flash_event>&) override {
        throw error("a single worker has no neighbours to exchange with");
    }
    void send_report(const report_header& header, const report_body& body) override {
        const auto t0 = clock::now();
        hub_.absorb(header, body);
        recorder_.tick();
        busy_ += std::chrono::duration<double>(clock::now() - t0).count();
    }
    bool stop_requested() override { return stop_signal() != 0; }
    void save_checkpoint(const block_state& mine) override { on_checkpoint_(mine); }
    void idle_until(clock::time_point t) override {
        while (clock::now() < t) {
            recorder_.tick();
            std::this_thread::sleep_until(std::min(t, clock::now() + std::chrono::milliseconds(5)));
        }
    }
    double busy() const { return busy_; }

  private:
    hub& hub_;
    recorder& recorder_;
    std::function<void(const block_state&)> on_checkpoint_;
    double busy_ = 0;
};

// Inside a SLURM job step started by srun (not by mpirun), MPI must see the step's tasks as one
// job. N processes that each see one rank (srun without MPI support: N singletons) would each
// simulate the whole grid and write its own file. Returns the message, or empty.
std::string slurm_mismatch(int mpi_size) {
    const char* procid = std::getenv("SLURM_PROCID");
    const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS");
    if (!tasks) tasks = std::getenv("SLURM_NTASKS");
    if (!procid || !tasks || std::getenv("OMPI_COMM_WORLD_SIZE")) return {};
    const long n = std::strtol(tasks, nullptr, 10);
    if (n <= 0 || n == mpi_size) return {};
    return "inside a SLURM job step of " + std::to_string(n) + " tasks, MPI sees " +
           std::to_string(mpi_size) +
           " rank(s): the tasks did not start as one MPI job (N singletons); launch with `srun "
           "--mpi=pmix` "
           "(see `srun --mpi=list`) or mpirun";
}

int exit_code_for(const run_totals& totals, int code) {
    if (code != 0) return code;
    if (totals.checkpointed && totals.interrupted) return exit_codes::checkpointed;
    if (totals.interrupted) return exit_codes::signal_base + (stop_signal() ? stop_signal() : 15);
    return 0;
}

struct run_plan {
    run_config config;
    std::string toml;
    std::optional<decomposition> d;
    std::optional<checkpoint_meta> restart; ///< rank 0: the checkpoint's position and counts
    /// rank 0: the order parameter's sum over the last flashes
    phasor_sum last_flashes;
    std::int64_t flashed = 0;         ///< rank 0: fireflies that have flashed
    std::optional<block_state> block; ///< a one-process run's restored block
    /// rank 0's traffic for the restart
    std::int64_t restart_bytes_sent = 0, restart_bytes_received = 0;
    std::vector<tick_t> initial; // --initial-phases: each cell's start phase in ticks (else empty)
    std::string initial_source;  // where in the file they came from
    std::string telemetry_note;  // why --telemetry auto chose what it did
    // a restart's epoch and samples taken (every rank)
    long long epoch = 0, next_sample = 0;
};

// --initial-phases: the file's values as start phases in ticks, each below its firefly's own
// period (docs/model.md, "Initial phases"). Seconds from /phase are rounded to the nearest tick;
// fractions from a snapshot are multiplied by the firefly's period and rounded (a fraction that
// rounds to the whole period, possible in the snapshot's 32-bit floats, gives period - 1 tick).
std::vector<tick_t> start_phases(const run_config& c, const output::initial_phases& in) {
    const model_params p = model_params::from(c);
    const std::vector<pacemaker_period> pacemakers = pacemaker_periods(c);
    std::vector<tick_t> out(in.values.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        const tick_t period = own_period_of(p, pacemakers, i).period;
        const double v = in.values[i];
        const auto where = [&] {
            return "--initial-phases " + c.initial_phases + ": " +
                   (in.fractions ? "/snapshots/phase" : "/phase") +
                   " at x = " + std::to_string(i % static_cast<std::size_t>(c.width)) +
                   ", y = " + std::to_string(i / static_cast<std::size_t>(c.width)) + " is " +
                   config::show(v);
        };
        tick_t phase = 0;
        if (in.fractions) {
            if (!(v >= 0 && v <= 1))
                throw usage_error(where() + ", not a fraction of the period in [0, 1)");
            phase = std::min<tick_t>(std::llround(v * static_cast<double>(period)), period - 1);
        } else {
            phase = to_ticks(v);
            if (!(v >= 0) || phase >= period)
                throw usage_error(where() + " s, not in [0, " + config::show(to_seconds(period)) +
                                  ") s (the firefly's period)");
        }
        out[i] = phase;
    }
    return out;
}

// Worker w's block at t = 0 from the start phases: what a fresh start would have, but these
// phases (draw 0 is not used; the jitter draws are the usual ones, from 1).
block_state initial_block(const run_config& c, const decomposition& d, int w,
                          const std::vector<tick_t>& phases) {
    const model_params p = model_params::from(c);
    const std::vector<pacemaker_period> pacemakers = pacemaker_periods(c);
    block_state s;
    s.cells = d.block_of(w);
    for (std::int64_t y = s.cells.y0; y < s.cells.y0 + s.cells.height; ++y)
        for (std::int64_t x = s.cells.x0; x < s.cells.x0 + s.cells.width; ++x) {
            const auto id = static_cast<std::uint64_t>(y * c.width + x);
            firefly f;
            f.flash_at = own_period_of(p, pacemakers, id).period - phases[id];
            f.last_flash = -1;
            f.draws = 1;
            f.queued = 0;
            s.fireflies.push_back(f);
        }
    return s;
}

int run_hub(const comm::session& mpi, run_plan& plan, recorder& rec) {
    const run_config& config = plan.config;
    const decomposition& d = *plan.d;
    comm::hub_transport transport(mpi, d.workers());
    hub h(config, d, rec);
    rec.attach(h);
    if (plan.restart) {
        h.restore(*plan.restart, rec.restart_sync());
        h.restore_flashes(plan.last_flashes, plan.flashed);
    } else if (!plan.initial.empty()) {
        for (int w = 0; w < d.workers(); ++w)
            transport.send_block(w, initial_block(config, d, w, plan.initial).pack());
    }
    double busy = 0;
    while (!h.done()) {
        const auto t0 = clock::now();
        const int taken = transport.poll(h);
        if (taken) busy += std::chrono::duration<double>(clock::now() - t0).count();
        if (h.checkpoint_ready()) {
            // Rank 0 begins the file with the run's state, the workers write their blocks into
            // it; the hub sends one order and waits for one answer.
            const auto start = clock::now();
            const checkpoint_order order = begin_checkpoint(
                config, plan.toml, h, rec, comm::hub_transport::checkpoint_order_bytes,
                comm::hub_transport::checkpoint_answer_bytes);
            const comm::checkpoint_outcome outcome = transport.checkpoint(order.temporary_id);
            if (outcome.code != 0) {
                std::error_code ec;
                std::filesystem::remove(
                    output::checkpoint_temporary(config.checkpoint, order.temporary_id), ec);
                checkpoint_failed(config,
                                  "rank " + std::to_string(outcome.rank) + ": " + outcome.message,
                                  outcome.code);
            }
            checkpoint_written(config, h, order.meta, start);
        }
        if (stop_signal()) transport.request_stop();
        rec.tick();
        if (!taken) transport.idle(std::chrono::microseconds(4000));
    }
    return exit_code_for(h.totals(), rec.finish(h.totals(), busy));
}

int run_alone(const comm::session& mpi, run_plan& plan, recorder& rec) {
    const run_config& config = plan.config;
    const decomposition& d = *plan.d;
    hub h(config, d, rec);
    rec.attach(h);
    const std::unique_ptr<collective> self = mpi.checkpoint_group();
    local_link link(h, rec, [&](const block_state& mine) {
        const auto start = clock::now();
        // one process: no messages
        const checkpoint_order order = begin_checkpoint(config, plan.toml, h, rec, 0, 0);
        try {
            output::write_checkpoint(*self, config.checkpoint, d, mine, order.temporary_id);
        } catch (const fireflies::error& e) {
            checkpoint_failed(config, e.what(), e.exit_code());
        }
        checkpoint_written(config, h, order.meta, start);
    });
    std::optional<block_simulation> sim;
    if (plan.restart) {
        h.restore(*plan.restart, rec.restart_sync());
        h.restore_flashes(plan.last_flashes, plan.flashed);
        sim.emplace(config, d, 0, std::move(*plan.block), plan.restart->epoch,
                    plan.restart->next_sample);
        plan.block.reset();
        sim->resume_sync(rec.restart_sync());
    } else if (!plan.initial.empty()) {
        sim.emplace(config, d, 0, initial_block(config, d, 0, plan.initial), 0, 0);
    } else {
        sim.emplace(config, d, 0);
    }
    sim->run(link, cadence_of(config));
    if (!h.done()) throw error("the hub did not receive the worker's final report");
    return exit_code_for(h.totals(), rec.finish(h.totals(), link.busy()));
}

// A restart's reading, before anything is touched: every worker (the one process of a
// one-process run) reads its own block, with the in-flight flashes of the fireflies within one
// cell of it, straight from the checkpoint (MPI-IO, in parallel), and adds up its shares of the
// written blocks' checksums; the shares are summed over the workers and compared, block by block,
// at worker 0. The hub takes part with one message of a fixed size: the verdict and its share of
// the state (the seed's order parameter over the last flashes). Returns the restored block, or
// nothing when the checkpoint is refused: then `status` is the exit code and rank 0 has printed
// one line (P = 1: the line is thrown as a usage_error).
std::optional<block_state> read_restart(const comm::session& mpi, const run_config& config,
                                        const decomposition& d, run_plan& plan, long long& status) {
    const bool hub_rank = mpi.rank() == 0;
    if (hub_rank && mpi.size() > 1) {
        const comm::restart_result r = mpi.receive_restart_result();
        plan.restart_bytes_received = r.bytes;
        plan.restart_bytes_sent = sizeof status; // the verdict, broadcast next
        if (r.code != 0) {
            std::fprintf(stderr, "fireflies: error: %s\n", r.line.c_str());
            status = r.code;
        } else {
            plan.last_flashes = {static_cast<std::int64_t>(r.numbers[0]),
                                 static_cast<std::int64_t>(r.numbers[1])};
            plan.flashed = static_cast<std::int64_t>(r.numbers[2]);
        }
        return std::nullopt;
    }
    const std::unique_ptr<collective> group = mpi.checkpoint_group();
    const int me = group->rank();
    output::restored_block r =
        output::read_checkpoint_block(*group, config.restart, d.block_of(me));
    flash_order last(model_params::from(config).period);
    for (const firefly& f : r.state.fireflies)
        if (f.last_flash >= 0) last.flash(f.last_flash, -1);
    // The lowest member that found a problem tells it; else worker 0 the verdict on the sums.
    std::int64_t code = 0;
    std::string line;
    std::vector<std::uint64_t> numbers;
    const auto first_bad = static_cast<int>(group->min(r.problem.empty() ? group->size() : me));
    bool reports = false;
    if (first_bad < group->size()) {
        reports = me == first_bad;
        code = exit_codes::usage;
        line = r.problem;
    } else {
        std::vector<std::uint64_t> sums = r.sums;
        sums.push_back(static_cast<std::uint64_t>(last.sum().re));
        sums.push_back(static_cast<std::uint64_t>(last.sum().im));
        sums.push_back(static_cast<std::uint64_t>(last.flashed()));
        group->sum_to(sums, 0);
        reports = me == 0;
        numbers.assign(sums.end() - 3, sums.end());
        sums.resize(sums.size() - 3);
        line = me == 0 ? output::check_block_sums(config.restart, config.width, config.height,
                                                  r.checksums, sums)
                       : "";
        code = line.empty() ? 0 : exit_codes::usage;
    }
    if (mpi.size() == 1) {
        if (code != 0) throw usage_error(line);
        plan.last_flashes = {static_cast<std::int64_t>(numbers[0]),
                             static_cast<std::int64_t>(numbers[1])};
        plan.flashed = static_cast<std::int64_t>(numbers[2]);
    } else if (reports) {
        mpi.send_restart_result(code, line, code == 0 ? numbers : std::vector<std::uint64_t>{});
    }
    return std::move(r.state);
}

// An error after the run started: one line from the rank that saw it, then every rank ends at
// once. No normal exit: a file whose close failed (full disk) must not be closed again by the
// library's exit handlers, and the other ranks must not wait for this one.
int fail(const comm::session& mpi, std::optional<recorder>& rec, const char* what, int code) {
    if (rec) rec->restore_terminal();
    std::fprintf(stderr, "fireflies: error: rank %d: %s\n", mpi.rank(), what);
    std::fflush(stdout);
    std::fflush(stderr);
    if (mpi.size() > 1) mpi.abort(code);
    std::_Exit(code);
}

} // namespace

worker_cadence cadence_of(const run_config& config) {
    worker_cadence c;
    c.speed = config.effective_speed();
    // With the live view, flashes reach the hub about 60 times per wall second.
    if (config.visualize) c.report_every = std::max<tick_t>(1, to_ticks(c.speed / 60.0));
    c.checkpoints = !config.checkpoint.empty();
    if (config.checkpoint_every > 0) c.checkpoint_every = to_ticks(config.checkpoint_every);
    return c;
}

namespace {

// A restart's plan: the checkpoint's seal, metadata and block checksums (O(blocks) bytes; the
// workers check the fireflies against the checksums, in parallel) and what it must match.
void plan_restart(run_plan& plan) {
    run_config& config = plan.config;
    const output::checkpoint_reader checkpoint(config.restart);
    plan.restart = checkpoint.meta();
    const run_config saved =
        config::from_toml(plan.restart->config_toml, "checkpoint " + config.restart);
    if (config.output.empty()) config.output = saved.output;
    if (saved.width != checkpoint.width() || saved.height != checkpoint.height())
        throw usage_error("--restart " + config.restart +
                          ": its datasets do not match its own settings (corrupt checkpoint)");
    // The settings table says which settings a restart must keep.
    config::check_restart(saved, config, config.restart);
    if (!std::filesystem::exists(config.output))
        throw usage_error("--restart " + config.restart + ": the run's output " + config.output +
                          " is missing; it is continued, not recreated");
    plan.epoch = plan.restart->epoch;
    plan.next_sample = plan.restart->next_sample;
    if (to_ticks(config.duration) < plan.epoch * to_ticks(config.delay))
        throw usage_error("--duration: " + std::to_string(config.duration) +
                          " s ends before the checkpoint's time");
}

// A new run's plan: its start phases (--initial-phases) and its output, checked.
void plan_new_run(run_plan& plan) {
    run_config& config = plan.config;
    if (!config.initial_phases.empty()) {
        const auto in =
            output::read_initial_phases(config.initial_phases, config.width, config.height);
        plan.initial = start_phases(config, in);
        plan.initial_source = in.source;
    }
    if (config.output.empty()) config.output = default_output_name();
    output::check_output_path(config.output, config.force);
}

// Rank 0 reads and checks the command line, the config file and what they name; the status to
// tell the others: 0 run, -1 stop quietly (--help etc.), > 0 an error's exit code (printed).
long long make_plan(int argc, char** argv, int ranks, const node_map& nodes, run_plan& plan) {
    try {
        config::parsed p = config::parse(argc, argv);
        if (p.exit_now) {
            std::fputs(p.message.c_str(), stdout);
            return -1;
        }
        plan.config = p.config;
        run_config& config = plan.config;
        config::validate(config, ranks);
        plan.d.emplace(config.width, config.height, ranks == 1 ? 1 : ranks - 1);
        check_memory(config, *plan.d, ranks, nodes);
        plan.telemetry_note = choose_telemetry(config, plan.d->workers());
        if (!config.restart.empty())
            plan_restart(plan);
        else
            plan_new_run(plan);
        if (!config.checkpoint.empty()) check_checkpoint_path(config);
        plan.toml = config::to_toml(config);
        return 0;
    } catch (const fireflies::error& e) {
        std::fprintf(stderr, "fireflies: error: %s\n", e.what());
        return e.exit_code();
    }
}

// Rank 0 creates or continues the output; after a restart, `sync_state` is the time-to-sync
// rule rebuilt from its series. The status to tell the others (0, or an error's exit code).
long long open_recorder(int ranks, const run_plan& plan, std::optional<recorder>& rec,
                        std::array<long long, 4>& sync_state) {
    try {
        const run_config& config = plan.config;
        rec.emplace(config, *plan.d,
                    recorder::facts{
                        ranks, plan.toml, config.output, plan.restart ? &*plan.restart : nullptr,
                        plan.restart_bytes_sent, plan.restart_bytes_received, plan.telemetry_note});
        const sync_tracker::state& rs = rec->restart_sync();
        sync_state = {rs.next, rs.stretch, rs.start, rs.decided};
        return 0;
    } catch (const fireflies::error& e) {
        std::fprintf(stderr, "fireflies: error: %s\n", e.what());
        return e.exit_code();
    }
}

// A worker rank: its block (restored, from the initial phases rank 0 sends, or from the seed),
// run to the end.
void run_worker(const comm::session& mpi, const run_config& config, const decomposition& d,
                std::optional<block_state>& restored, const run_plan& plan,
                const std::array<long long, 4>& sync_state) {
    auto link = mpi.make_worker_link(
        [&](const block_state& mine, std::int64_t temporary_id, const collective& group) {
            output::write_checkpoint(group, config.checkpoint, d, mine, temporary_id);
        });
    std::optional<block_simulation> sim;
    const int worker = mpi.rank() - 1;
    if (restored) {
        sim.emplace(config, d, worker, std::move(*restored), plan.epoch, plan.next_sample);
        sim->resume_sync({sync_state[0], sync_state[1], sync_state[2], sync_state[3]});
    } else if (!config.initial_phases.empty()) {
        sim.emplace(config, d, worker, block_state::unpack(mpi.receive_block()), 0, 0);
    } else {
        sim.emplace(config, d, worker);
    }
    restored.reset();
    sim->run(*link, cadence_of(config));
}

} // namespace

namespace {

// Rank 0 reads and checks everything, then tells the others: the status (0 run, -1 stop
// quietly, > 0 an error's exit code), and to run, the configuration and a restart's position.
long long agree_on_plan(const comm::session& mpi, int argc, char** argv, run_plan& plan) {
    long long status = 0;
    const node_map nodes = mpi.gather_nodes();
    if (mpi.rank() == 0) status = make_plan(argc, argv, mpi.size(), nodes, plan);
    if (mpi.size() > 1) {
        mpi.broadcast(status);
        if (status == 0) {
            mpi.broadcast(plan.toml);
            mpi.broadcast(plan.epoch);
            mpi.broadcast(plan.next_sample);
        }
    }
    return status;
}

// The agreed plan: a restart's workers read and check their blocks; only then does rank 0
// create or continue the output, and tells the others again; then every rank runs its part.
int carry_out(const comm::session& mpi, run_plan& plan, std::optional<recorder>& rec) {
    const bool hub_rank = mpi.rank() == 0;
    long long status = 0;
    // After a restart, the time-to-sync rule rebuilt from the output's series (rank 0 reads
    // it): --stop-when-synced needs every worker to go on from the same state.
    std::array<long long, 4> sync_state{0, -1, -1, -1};
    const run_config config =
        hub_rank ? plan.config : config::from_toml(plan.toml, "configuration from rank 0");
    const decomposition d(config.width, config.height, mpi.size() == 1 ? 1 : mpi.size() - 1);
    std::optional<block_state> restored;
    if (!config.restart.empty()) {
        try {
            restored = read_restart(mpi, config, d, plan, status);
        } catch (const usage_error& e) { // a one-process run's refusal
            std::fprintf(stderr, "fireflies: error: %s\n", e.what());
            status = e.exit_code();
        }
    }
    if (hub_rank && status == 0) {
        if (mpi.size() == 1 && restored) plan.block = std::move(restored);
        status = open_recorder(mpi.size(), plan, rec, sync_state);
    }
    if (mpi.size() > 1) {
        mpi.broadcast(status);
        if (status == 0 && !config.restart.empty())
            for (long long& v : sync_state)
                mpi.broadcast(v);
    }
    if (status != 0) return static_cast<int>(status);

    install_stop_handlers();
    if (hub_rank) {
        rec->banner(stdout);
        if (!plan.initial_source.empty())
            std::printf("  start     phases from %s, %s\n", plan.config.initial_phases.c_str(),
                        plan.initial_source.c_str());
        return mpi.size() == 1 ? run_alone(mpi, plan, *rec) : run_hub(mpi, plan, *rec);
    }
    run_worker(mpi, config, d, restored, plan, sync_state);
    return 0;
}

} // namespace

int run_program(int argc, char** argv) {
    tight_timers();
    output::start_hdf5(); // before MPI: see there
    comm::session mpi(argc, argv);
    std::optional<recorder> rec;
    try {
        // Rank 0 reads and checks everything, then tells the others; a restart's workers read
        // and check their blocks; only then does rank 0 create or continue the output, and tells
        // the others again: one message for a mistake, nothing touched, and no rank starts work
        // that another has refused.
        if (const std::string why = slurm_mismatch(mpi.size()); !why.empty()) {
            if (std::string(std::getenv("SLURM_PROCID")) == "0")
                std::fprintf(stderr, "fireflies: error: %s\n", why.c_str());
            return exit_codes::usage;
        }
        run_plan plan;
        if (const long long status = agree_on_plan(mpi, argc, argv, plan); status != 0)
            return status < 0 ? 0 : static_cast<int>(status);
        return carry_out(mpi, plan, rec);
    } catch (const fireflies::error& e) {
        return fail(mpi, rec, e.what(), e.exit_code());
    } catch (const std::bad_alloc&) {
        return fail(mpi, rec, "out of memory (use more ranks or a smaller grid)",
                    exit_codes::failed);
    } catch (const std::exception& e) {
        return fail(mpi, rec, e.what(), exit_codes::failed);
    }
}

} // namespace fireflies
