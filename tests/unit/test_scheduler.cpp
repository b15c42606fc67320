// block_simulation (the per-worker event loop in epochs of d) against the brute-force reference
// of reference_model.hpp: every flash (time, firefly), every final firefly state, every report
// (sample sums, flash counts, totals) must be identical, on many grids, in both refractory modes,
// with both engines, with one worker, with --partitioned blocks, and with several workers that
// exchange halos over an in-memory mesh on threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fireflies/block_simulation.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/neighbourhood.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "reference_model.hpp"
#include "scheduler/firefly_task.hpp"

using namespace fireflies;
using testkit::report;
using testkit::worker_run;

namespace {

constexpr refractory_mode modes[] = {refractory_mode::drop, refractory_mode::queue};
constexpr engine_kind engines[] = {engine_kind::coroutine, engine_kind::flat};

const char* name(refractory_mode m) {
    return m == refractory_mode::drop ? "drop" : "queue";
}
const char* name(engine_kind e) {
    return e == engine_kind::coroutine ? "coroutine" : "flat";
}

std::string describe(const run_config& c, int workers) {
    std::ostringstream o;
    o << c.width << "x" << c.height << " " << name(c.mode) << " " << name(c.engine)
      << " T=" << c.period << " e=" << c.nudge << " B=" << c.dissipation << " S=" << c.period_spread
      << (c.period_dist == period_distribution::uniform ? "u" : "n") << " Rf=" << c.refractory
      << " d=" << c.delay << " j=" << c.jitter << " dur=" << c.duration
      << " sample=" << c.sample_every << " seed=" << c.seed << " workers=" << workers
      << (c.partitioned ? " partitioned" : "") << (c.boundary == boundary_kind::open ? " open" : "")
      << " " << name_of(c.neighbourhood) << " R=" << c.radius
      << (c.coupling == coupling_kind::all_to_all ? " all-to-all" : "")
      << (c.pacemakers.empty() ? "" : " pacemakers=" + std::to_string(c.pacemakers.size()))
      << (c.telemetry == telemetry_mode::summary ? " summary" : "");
    return o.str();
}

/// The seed's parameters (T 5 s, e 0.2 s, Rf 1 s, jitter 0.1 s, d 0.01 s).
run_config seed_like(std::int64_t W, std::int64_t H, refractory_mode m, engine_kind e,
                     double duration) {
    run_config c;
    c.width = W;
    c.height = H;
    c.mode = m;
    c.engine = e;
    c.duration = duration;
    c.sample_every = 0.5;
    c.seed = 7;
    return c;
}

/// Everything on a lattice of a few ticks: period 20 ns, nudge 3, Rf 5, delay 2, jitter 4.
/// Start phases, flash times and pulse arrivals collide all the time: equal-time pulses and
/// timers, pulses at exactly the refractory end, held pulses that reach T, samples at event times.
run_config lattice(std::int64_t W, std::int64_t H, refractory_mode m, engine_kind e,
                   std::uint64_t seed = 3, double duration = 1500e-9) {
    run_config c;
    c.width = W;
    c.height = H;
    c.mode = m;
    c.engine = e;
    c.period = 20e-9;
    c.nudge = 3e-9;
    c.refractory = 0.25;
    c.delay = 2e-9;
    c.jitter = 4e-9;
    c.duration = duration;
    c.sample_every = 7e-9;
    c.seed = seed;
    return c;
}

/// The flashes of the cells of `b`, in (t, agent) order, from the reference's list.
std::vector<flash_event> flashes_in(const reference::result& ref, const block& b, std::int64_t W) {
    std::vector<flash_event> out;
    for (const auto& f : ref.flashes) {
        const auto x = static_cast<std::int64_t>(f.agent % static_cast<std::uint64_t>(W));
        const auto y = static_cast<std::int64_t>(f.agent / static_cast<std::uint64_t>(W));
        if (b.contains(x, y)) out.push_back(f);
    }
    return out;
}

std::int64_t sum_over(const std::vector<std::int64_t>& v, const block& b, std::int64_t W) {
    std::int64_t s = 0;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
            s += v[static_cast<std::size_t>(y * W + x)];
    return s;
}

std::string show(const firefly& f) {
    std::ostringstream o;
    o << "{flash_at " << f.flash_at << " last_flash " << f.last_flash << " queued " << f.queued
      << " draws " << f.draws << "}";
    return o.str();
}

/// Checks one worker's run against the reference run through `through`.
void check_worker(const run_config& c, const worker_run& run, const reference::result& ref,
                  tick_t through, bool interrupted) {
    SCOPED_TRACE("worker " + std::to_string(run.worker));
    const std::int64_t W = c.width;
    const tick_t period = to_ticks(c.period), sample = to_ticks(c.sample_every),
                 d = to_ticks(c.delay);
    const block& b = run.cells;
    const bool events = c.telemetry == telemetry_mode::events;

    // Local numbering is row-major within the block.
    ASSERT_EQ(run.states.size(), static_cast<std::size_t>(b.cells()));
    for (std::size_t i = 0; i < run.ids.size(); ++i) {
        const auto li = static_cast<std::int64_t>(i);
        ASSERT_EQ(run.ids[i],
                  static_cast<std::uint64_t>((b.y0 + li / b.width) * W + b.x0 + li % b.width))
            << i;
    }

    // Final states, firefly by firefly.
    int bad = 0;
    for (std::size_t i = 0; i < run.states.size() && bad < 5; ++i) {
        const firefly& want = ref.final_states[run.ids[i]];
        if (!(run.states[i] == want)) {
            ++bad;
            ADD_FAILURE() << "firefly " << run.ids[i] << " final state " << show(run.states[i])
                          << ", reference " << show(want);
        }
    }

    // Reports.
    const std::vector<flash_event> mine = flashes_in(ref, b, W);
    std::size_t next_flash = 0; // into `mine`
    // per cell, sweeping `mine`
    std::vector<tick_t> last(static_cast<std::size_t>(W * c.height), -1);
    tick_t prev = -1;
    std::int64_t next_sample = 0;
    bool final_seen = false;
    for (std::size_t i = 0; i < run.reports.size(); ++i) {
        SCOPED_TRACE("report " + std::to_string(i));
        const report& r = run.reports[i];
        const report_header& h = r.header;
        ASSERT_FALSE(final_seen) << "a report after the final one";
        EXPECT_EQ(h.worker, run.worker);
        ASSERT_GE(h.through, prev);

        // The flashes of (prev, through].
        std::vector<flash_event> expected;
        while (next_flash < mine.size() && mine[next_flash].t <= h.through) {
            expected.push_back(mine[next_flash]);
            last[mine[next_flash].agent] = mine[next_flash].t;
            ++next_flash;
        }
        EXPECT_EQ(h.flashes, static_cast<std::int64_t>(expected.size()));
        if (events) {
            EXPECT_EQ(h.events, static_cast<std::int64_t>(r.events.size()));
            // Each firefly's flashes in time order (what the hub's per-firefly last-flash
            // bookkeeping needs); across fireflies a report may list them in visit order.
            std::map<std::uint64_t, tick_t> last_seen;
            for (const auto& f : r.events) {
                auto [it, fresh] = last_seen.try_emplace(f.agent, f.t);
                if (!fresh) {
                    EXPECT_LT(it->second, f.t)
                        << "firefly " << f.agent << "'s flashes out of order in a report";
                    it->second = f.t;
                }
            }
            std::vector<flash_event> got = r.events;
            std::sort(got.begin(), got.end());
            if (got != expected) {
                ADD_FAILURE() << "flash events of (" << prev << ", " << h.through
                              << "]: " << r.events.size() << " reported, " << expected.size()
                              << " in the reference";
                for (std::size_t k = 0; k < std::max(got.size(), expected.size()); ++k) {
                    const bool a = k < got.size(), e = k < expected.size();
                    if (a && e && got[k] == expected[k]) continue;
                    ADD_FAILURE()
                        << "first difference (sorted by time, firefly) at " << k << ": reported "
                        << (a ? std::to_string(got[k].t) + "/" + std::to_string(got[k].agent) : "-")
                        << ", reference "
                        << (e ? std::to_string(expected[k].t) + "/" +
                                    std::to_string(expected[k].agent)
                              : "-");
                    break;
                }
            }
        } else {
            EXPECT_EQ(h.events, 0);
            EXPECT_TRUE(r.events.empty());
        }

        // The seed's R sum over the block, from scratch.
        phasor_sum fs;
        std::int64_t flashed = 0;
        for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
            for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x) {
                const tick_t l = last[static_cast<std::size_t>(y * W + x)];
                if (l < 0) continue;
                fs += phasor_sum::of(-l, period);
                ++flashed;
            }
        EXPECT_EQ(h.flash_sum, fs);
        EXPECT_EQ(h.flashed, flashed);

        switch (h.kind) {
        case report_kind::sample: {
            EXPECT_EQ(h.sample, next_sample);
            EXPECT_EQ(h.through, next_sample * sample);
            ASSERT_LT(static_cast<std::size_t>(next_sample), ref.samples.size())
                << "more samples than the reference";
            const auto& snap = ref.samples[static_cast<std::size_t>(next_sample)];
            EXPECT_EQ(h.state, reference::state_sum(snap, b, W, period))
                << "R_state partial of sample " << next_sample;
            EXPECT_EQ(h.flash_sum, reference::flash_sum(snap, b, W, period).first);
            ++next_sample;
            break;
        }
        case report_kind::flashes:
            EXPECT_LT(h.through, next_sample * sample) << "a flashes report past the next sample";
            break;
        case report_kind::final: {
            final_seen = true;
            EXPECT_EQ(h.through, through);
            EXPECT_EQ(h.interrupted, interrupted ? 1 : 0);
            EXPECT_EQ(h.flashes_total, static_cast<std::int64_t>(mine.size()));
            EXPECT_EQ(h.pulses_sent, sum_over(ref.sent_by, b, W));
            EXPECT_EQ(h.pulses_delivered, sum_over(ref.delivered_to, b, W));
            EXPECT_EQ(h.pulses_in_flight, sum_over(ref.in_flight_to, b, W));
            EXPECT_EQ(h.epochs, through / d + 1);
            break;
        }
        default:
            ADD_FAILURE() << "unknown report kind " << static_cast<int>(h.kind);
        }
        prev = h.through;
    }
    EXPECT_TRUE(final_seen) << "no final report";
    EXPECT_EQ(next_flash, mine.size()) << "flashes of the reference never reported";
    EXPECT_EQ(static_cast<std::size_t>(next_sample), ref.samples.size()) << "samples missing";
}

/// Runs `c` on `workers` workers and compares everything with the reference; with
/// `both_engines`, runs it with the coroutine and the flat engine against the same reference.
void expect_matches_reference(const run_config& c, int workers = 1, int stop_after = -1,
                              bool both_engines = false) {
    SCOPED_TRACE(describe(c, workers));
    const decomposition d(c.width, c.height, workers);
    std::vector<run_config> configs{c};
    if (both_engines) {
        configs.push_back(c);
        configs.back().engine =
            c.engine == engine_kind::flat ? engine_kind::coroutine : engine_kind::flat;
    }
    std::optional<reference::result> ref;
    tick_t through = to_ticks(c.duration);
    bool interrupted = false;
    for (const run_config& cc : configs) {
        SCOPED_TRACE(std::string("engine ") + name(cc.engine));
        std::vector<worker_run> runs;
        ASSERT_NO_THROW(runs = testkit::run_workers(cc, d, stop_after));
        ASSERT_EQ(runs.size(), static_cast<std::size_t>(workers));
        const auto& fin = runs[0].reports.back().header;
        ASSERT_EQ(fin.kind, report_kind::final);
        if (!ref) {
            if (stop_after >= 0 && fin.interrupted) {
                interrupted = true;
                through = fin.through;
            }
            ref = reference::run(c, through, &d);
        }

        // All flashes, from every worker, against the reference's.
        if (c.telemetry == telemetry_mode::events) {
            std::vector<flash_event> all;
            for (const auto& r : runs)
                for (const auto& rep : r.reports)
                    all.insert(all.end(), rep.events.begin(), rep.events.end());
            std::sort(all.begin(), all.end());
            EXPECT_EQ(all.size(), ref->flashes.size());
            EXPECT_TRUE(all == ref->flashes) << "flash events differ from the reference";
        }
        for (const auto& r : runs) {
            check_worker(cc, r, *ref, through, interrupted);
            if (::testing::Test::HasFatalFailure()) return;
        }
        std::int64_t sent = 0, delivered = 0, in_flight = 0, total = 0;
        for (const auto& r : runs) {
            const auto& h = r.reports.back().header;
            sent += h.pulses_sent;
            delivered += h.pulses_delivered;
            in_flight += h.pulses_in_flight;
            total += h.flashes_total;
        }
        EXPECT_EQ(sent, delivered + in_flight) << "pulses lost or invented";
        EXPECT_EQ(sent, ref->pulses_sent);
        EXPECT_EQ(total, static_cast<std::int64_t>(ref->flashes.size()));
    }
}

/// `c` coupled across `workers` workers (both engines with one), then partitioned, each against
/// the reference.
void expect_matches_reference_coupled_and_partitioned(run_config c, int workers) {
    expect_matches_reference(c, workers, -1, workers == 1);
    if (::testing::Test::HasFatalFailure()) return;
    c.partitioned = true;
    expect_matches_reference(c, workers);
}

// ---- the reference itself -------------------------------------------------------------------

TEST(SchedulerReferenceModel, MooreNeighboursOnSmallTori) {
    using reference::moore_neighbours;
    EXPECT_EQ(moore_neighbours(3, 3, 4).size(), 8u);
    EXPECT_EQ(moore_neighbours(3, 3, 0), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(moore_neighbours(2, 2, 0), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(moore_neighbours(1, 1, 0), (std::vector<std::uint64_t>{}));
    EXPECT_EQ(moore_neighbours(1, 5, 0), (std::vector<std::uint64_t>{1, 4}));
    EXPECT_EQ(moore_neighbours(1, 2, 0), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(moore_neighbours(5, 4, 0), (std::vector<std::uint64_t>{1, 4, 5, 6, 9, 15, 16, 19}));
}

TEST(SchedulerReferenceModel, TwoFirefliesByHand) {
    // 2 x 1 grid: each is the other's only neighbour. Hand-checked against the rules: the one
    // that flashes first pulls the other one forward by e after d.
    run_config c;
    c.width = 2;
    c.height = 1;
    c.duration = 12.0;
    c.seed = 1;
    const model_params p = model_params::from(c);
    const firefly_rules rules(p);
    const firefly a = rules.start(0), b = rules.start(1);
    const auto ref = reference::run(c, to_ticks(c.duration));
    ASSERT_FALSE(ref.flashes.empty());
    const auto& first = ref.flashes.front();
    const tick_t ta = a.flash_at, tb = b.flash_at;
    EXPECT_EQ(first.t, std::min(ta, tb));
    EXPECT_EQ(first.agent, ta <= tb ? 0u : 1u);
    EXPECT_EQ(ref.pulses_sent, static_cast<std::int64_t>(ref.flashes.size()));
}

// ---- one worker: the whole grid in one block ---------------------------------------------------

TEST(SchedulerSingleWorker, SeedParametersMatchReference) {
    struct grid {
        std::int64_t W, H;
        double duration;
    };
    for (auto [W, H, duration] :
         {grid{5, 4, 120}, grid{7, 7, 90}, grid{3, 3, 150}, grid{1, 6, 150}, grid{6, 1, 150},
          grid{2, 2, 150}, grid{1, 1, 40}, grid{1, 2, 60}, grid{2, 5, 120}, grid{37, 23, 25}})
        for (auto m : modes) {
            expect_matches_reference(seed_like(W, H, m, engine_kind::coroutine, duration), 1, -1,
                                     true);
            if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(SchedulerSingleWorker, LatticeOfCoincidencesMatchesReference) {
    struct grid {
        std::int64_t W, H;
    };
    for (auto [W, H] : {grid{5, 4}, grid{7, 7}, grid{3, 3}, grid{2, 2}, grid{1, 5}, grid{4, 1},
                        grid{1, 1}, grid{12, 9}})
        for (auto m : modes)
            for (std::uint64_t seed : {3u, 4u}) {
                expect_matches_reference(
                    lattice(W, H, m, engine_kind::coroutine, seed, W * H > 50 ? 700e-9 : 1500e-9),
                    1, -1, true);
                if (::testing::Test::HasFatalFailure()) return;
            }
}

TEST(SchedulerSingleWorker, SynchronisingGridMatchesReference) {
    // Strong coupling, so that the grid synchronises within the run and flashes bunch together
    // (many fireflies flashing at the same tick, pulses at the same tick).
    for (auto m : modes) {
        run_config c = seed_like(8, 6, m, engine_kind::coroutine, 200);
        c.nudge = 0.6;
        c.sample_every = 1.25;
        expect_matches_reference(c, 1, -1, true);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerSingleWorker, ZeroJitterRefractoryOnTheDelayLattice) {
    // Jitter 0 and Rf = 4 d: pulses relayed around the grid arrive at exactly a refractory end.
    for (auto m : modes) {
        run_config c = seed_like(6, 5, m, engine_kind::coroutine, 60);
        c.period = 1.0;
        c.nudge = 0.1;
        c.refractory = 0.2;
        c.delay = 0.05;
        c.jitter = 0;
        c.sample_every = 0.25;
        expect_matches_reference(c, 1, -1, true);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerSingleWorker, NoRefractoryPeriod) {
    // Rf = 0, with e and jitter small enough that no firefly can be pushed to T twice at one
    // tick (jitter + 7 e < T; see NoFireflyFlashesTwiceAtOneInstant for the case where it can).
    for (auto m : modes) {
        run_config c = lattice(5, 5, m, engine_kind::coroutine);
        c.refractory = 0;
        c.nudge = 2e-9;
        c.jitter = 3e-9;
        expect_matches_reference(c, 1, -1, true);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerSingleWorker, NoFireflyFlashesTwiceAtOneInstant) {
    // BUG (model): with Rf <= jitter (here Rf = 0) a firefly is not refractory right after a
    // flash, so the other pulses arriving at the same tick can push it to T again: it flashes
    // several times at one instant, each flash sends 8 more pulses, and the pulse count grows
    // by a factor ~8 every period (this 5 x 5 grid: 3 365 flashes by 40 ns, 1.8 million by
    // 100 ns, then the run never ends). Short enough here to finish.
    run_config c = lattice(5, 5, refractory_mode::drop, engine_kind::flat);
    c.refractory = 0;
    c.duration = 40e-9;
    const decomposition d(5, 5, 1);
    const auto runs = testkit::run_workers(c, d);
    std::map<std::pair<tick_t, std::uint64_t>, int> seen;
    int repeats = 0;
    for (const auto& r : runs[0].reports)
        for (const auto& f : r.events)
            repeats += ++seen[{f.t, f.agent}] > 1;
    EXPECT_EQ(repeats, 0) << "flash events repeating the same (time, firefly), out of "
                          << seen.size();
    const auto& fin = runs[0].reports.back().header;
    EXPECT_LE(fin.flashes_total, 25 * 40 / 2) << "more flashes than one per firefly per delay";
}

TEST(SchedulerSingleWorker, TimersBeyondTheEpochRing) {
    // period / delay = 100000 epochs: more than the ring holds, so timers wait in the far heap.
    for (auto m : modes) {
        run_config c = seed_like(3, 3, m, engine_kind::flat, 2.6);
        c.period = 1.0;
        c.nudge = 0.05;
        c.jitter = 0.01;
        c.delay = 1e-5;
        c.sample_every = 0.1;
        expect_matches_reference(c);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerSingleWorker, DelayLongerThanThePeriod) {
    for (auto m : modes) {
        run_config c = seed_like(4, 4, m, engine_kind::coroutine, 40);
        c.period = 1.0;
        c.nudge = 0.1;
        c.jitter = 0.05;
        c.delay = 1.7;
        c.sample_every = 0.3;
        expect_matches_reference(c, 1, -1, true);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerSingleWorker, SamplesInsideEpochsAndOddDurations) {
    // Several samples per epoch; samples not on epoch boundaries; a duration that is not a
    // multiple of d nor of the sample interval.
    for (double sample_every : {0.003, 0.0123, 0.37, 7.0})
        for (auto m : modes) {
            run_config c = seed_like(4, 3, m, engine_kind::coroutine, 12.3456789);
            c.sample_every = sample_every;
            expect_matches_reference(c);
            if (::testing::Test::HasFatalFailure()) return;
        }
    // The lattice with a sample at every tick.
    run_config c = lattice(4, 4, refractory_mode::queue, engine_kind::flat);
    c.sample_every = 1e-9;
    c.duration = 300e-9;
    expect_matches_reference(c);
}

TEST(SchedulerSingleWorker, ZeroDurationSendsSampleZeroAndFinal) {
    for (auto e : engines) {
        run_config c = seed_like(5, 4, refractory_mode::drop, e, 0.0);
        expect_matches_reference(c);
        const decomposition d(5, 4, 1);
        const auto runs = testkit::run_workers(c, d);
        ASSERT_EQ(runs[0].reports.size(), 2u);
        EXPECT_EQ(runs[0].reports[0].header.kind, report_kind::sample);
        EXPECT_EQ(runs[0].reports[0].header.sample, 0);
        EXPECT_EQ(runs[0].reports[1].header.kind, report_kind::final);
        EXPECT_EQ(runs[0].reports[1].header.through, 0);
        EXPECT_EQ(runs[0].reports[1].header.epochs, 1);
    }
}

TEST(SchedulerSingleWorker, SampleZeroIsTheStartState) {
    const run_config c = seed_like(7, 7, refractory_mode::drop, engine_kind::coroutine, 1.0);
    const decomposition d(7, 7, 1);
    const auto runs = testkit::run_workers(c, d);
    const model_params p = model_params::from(c);
    const firefly_rules rules(p);
    phasor_sum s;
    for (std::uint64_t id = 0; id < 49; ++id)
        s += phasor_sum::of(rules.phase(rules.start(id), 0), p.period);
    const auto& h = runs[0].reports.at(0).header;
    ASSERT_EQ(h.kind, report_kind::sample);
    EXPECT_EQ(h.sample, 0);
    EXPECT_EQ(h.through, 0);
    EXPECT_EQ(h.state, s);
    EXPECT_EQ(h.flashed, 0);
    EXPECT_EQ(h.flash_sum, phasor_sum{});
    // No exchange without neighbour ranks; a stop question after every sample's epoch.
    EXPECT_EQ(runs[0].exchanges, 0);
}

// ---- engines and telemetry -------------------------------------------------------------------

bool same_report(const report& a, const report& b) {
    const report_header &x = a.header, &y = b.header;
    return x.worker == y.worker && x.kind == y.kind && x.through == y.through &&
           x.sample == y.sample && x.state == y.state && x.flash_sum == y.flash_sum &&
           x.flashed == y.flashed && x.flashes == y.flashes && x.events == y.events &&
           x.flashes_total == y.flashes_total && x.pulses_sent == y.pulses_sent &&
           x.pulses_delivered == y.pulses_delivered && x.pulses_in_flight == y.pulses_in_flight &&
           x.epochs == y.epochs && x.interrupted == y.interrupted && a.events == b.events;
}

TEST(SchedulerEngines, CoroutineAndFlatGiveIdenticalReports) {
    for (auto m : modes)
        for (const run_config& base : {seed_like(9, 7, m, engine_kind::coroutine, 60),
                                       lattice(6, 6, m, engine_kind::coroutine)}) {
            run_config co = base, flat = base;
            flat.engine = engine_kind::flat;
            const decomposition d(base.width, base.height, 1);
            const auto a = testkit::run_workers(co, d), b = testkit::run_workers(flat, d);
            ASSERT_EQ(a[0].reports.size(), b[0].reports.size());
            for (std::size_t i = 0; i < a[0].reports.size(); ++i)
                EXPECT_TRUE(same_report(a[0].reports[i], b[0].reports[i]))
                    << describe(base, 1) << " report " << i;
            EXPECT_EQ(a[0].states, b[0].states);
            EXPECT_GT(a[0].frame_bytes, 0u) << "coroutine frames live in the arena";
            EXPECT_EQ(b[0].frame_bytes, 0u) << "the flat engine makes no coroutines";
            // GCC 12's frame of a firefly is 48 bytes (docs/performance.md, "Large blocks"): at
            // a 48-byte stride, not rounded up to 64.
            const auto cells = static_cast<std::size_t>(base.width * base.height);
            EXPECT_EQ(a[0].frame_bytes % cells, 0u);
            EXPECT_LE(a[0].frame_bytes / cells, 48u) << "frame bytes per firefly";
        }
}

TEST(FrameArray, LaysFramesAtTheirSizeRoundedToSixteenBytes) {
    frame_array frames(3);
    auto* first = static_cast<std::byte*>(frames.allocate(40));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u) << "the array starts on a line";
    EXPECT_EQ(frames.stride(), 48u);
    EXPECT_EQ(static_cast<std::byte*>(frames.allocate(40)), first + 48);
    EXPECT_EQ(static_cast<std::byte*>(frames.allocate(40)), first + 96);
    EXPECT_EQ(frames.bytes_reserved(), 3 * 48u);
    EXPECT_THROW(frames.allocate(40), std::bad_alloc) << "beyond its capacity";
    frame_array other(2);
    other.allocate(48);
    EXPECT_EQ(other.stride(), 48u);
    EXPECT_THROW(other.allocate(32), std::bad_alloc) << "a frame of another size";
}

TEST(SchedulerTelemetry, SummaryReportsTheSameSumsWithoutEvents) {
    for (auto m : modes) {
        run_config ev = seed_like(6, 5, m, engine_kind::flat, 40), sum = ev;
        sum.telemetry = telemetry_mode::summary;
        expect_matches_reference(sum);
        const decomposition d(6, 5, 1);
        const auto a = testkit::run_workers(ev, d), b = testkit::run_workers(sum, d);
        ASSERT_EQ(a[0].reports.size(), b[0].reports.size());
        for (std::size_t i = 0; i < a[0].reports.size(); ++i) {
            const auto &x = a[0].reports[i].header, &y = b[0].reports[i].header;
            EXPECT_EQ(x.kind, y.kind);
            EXPECT_EQ(x.sample, y.sample);
            EXPECT_EQ(x.through, y.through);
            EXPECT_EQ(x.state, y.state);
            EXPECT_EQ(x.flash_sum, y.flash_sum);
            EXPECT_EQ(x.flashed, y.flashed);
            EXPECT_EQ(x.flashes, y.flashes);
            EXPECT_EQ(y.events, 0);
            EXPECT_TRUE(b[0].reports[i].events.empty());
        }
    }
}

// ---- totals, stop, back-pressure ---------------------------------------------------------------

TEST(SchedulerTotals, PulsesBalanceAndFlashesCount) {
    for (auto m : modes) {
        const run_config c = seed_like(10, 10, m, engine_kind::coroutine, 50);
        const decomposition d(10, 10, 1);
        const auto runs = testkit::run_workers(c, d);
        const auto& h = runs[0].reports.back().header;
        ASSERT_EQ(h.kind, report_kind::final);
        std::int64_t events = 0;
        for (const auto& r : runs[0].reports)
            events += static_cast<std::int64_t>(r.events.size());
        EXPECT_EQ(h.flashes_total, events);
        EXPECT_GT(h.flashes_total, 100 * 9); // at least 9 periods of 100 fireflies
        EXPECT_EQ(h.pulses_sent, 8 * h.flashes_total);
        EXPECT_EQ(h.pulses_sent, h.pulses_delivered + h.pulses_in_flight);
        EXPECT_EQ(h.interrupted, 0);
        EXPECT_EQ(h.epochs, to_ticks(50.0) / to_ticks(0.01) + 1);
    }
}

TEST(SchedulerStop, StopRequestEndsAtAnEpochBoundaryAndMatchesReference) {
    for (auto m : modes)
        for (auto e : engines) {
            const run_config c = seed_like(6, 6, m, e, 60);
            // asked at every epoch boundary: stop on the 1001st question, at the end of epoch
            // 1000 = [10 s, 10.01 s), the epoch of sample 20
            if (e == engine_kind::coroutine) expect_matches_reference(c, 1, 1000, true);
            if (::testing::Test::HasFatalFailure()) return;
            const decomposition d(6, 6, 1);
            const auto runs = testkit::run_workers(c, d, 1000);
            const auto& h = runs[0].reports.back().header;
            ASSERT_EQ(h.kind, report_kind::final);
            EXPECT_EQ(h.interrupted, 1);
            EXPECT_EQ(runs[0].stop_questions, 1001);
            // sample 20 is at t = 10 s; its epoch [10 s, 10.01 s) ends the run
            EXPECT_EQ(h.through, to_ticks(10.01) - 1);
            std::int64_t samples = 0;
            for (const auto& r : runs[0].reports)
                samples += r.header.kind == report_kind::sample;
            EXPECT_EQ(samples, 21);
        }
}

TEST(SchedulerStop, AskedAtEveryEpochBoundaryButTheLast) {
    const run_config c = seed_like(3, 3, refractory_mode::drop, engine_kind::flat, 10);
    const decomposition d(3, 3, 1);
    const auto runs = testkit::run_workers(c, d, 1000000);
    // epochs of 0.01 s: 0 .. 999 end before t = 10 s and are asked; epoch 1000 is the last
    EXPECT_EQ(runs[0].stop_questions, 1000);
    EXPECT_EQ(runs[0].reports.back().header.interrupted, 0);
}

TEST(SchedulerBackPressure, FlashOnlyReportsWhenManyFlashesWaitBetweenSamples) {
    // 851 fireflies flashing every ~0.1 s, one sample at 0: about 1.25 flash-only reports' worth
    // of flashes before the final report.
    constexpr auto cap = block_simulation::report_flash_cap;
    run_config c =
        seed_like(37, 23, refractory_mode::drop, engine_kind::flat, std::ceil(1.25 * cap / 8510.0));
    c.period = 0.1;
    c.nudge = 0.004;
    c.jitter = 0.002;
    c.sample_every = 100.0;
    expect_matches_reference(c);
    const decomposition d(37, 23, 1);
    const auto runs = testkit::run_workers(c, d);
    int flash_reports = 0;
    for (const auto& r : runs[0].reports)
        if (r.header.kind == report_kind::flashes) {
            ++flash_reports;
            EXPECT_GE(r.events.size(), cap);
            EXPECT_EQ((r.header.through + 1) % to_ticks(c.delay), 0) << "at an epoch end";
        }
    EXPECT_EQ(flash_reports, 1);
}

// ---- several workers ---------------------------------------------------------------------------

TEST(SchedulerPartitioned, IslandsMatchReferenceWithCutLinks) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] : {shape{7, 7, 4}, shape{5, 4, 7}, shape{3, 3, 9}, shape{6, 6, 2},
                                 shape{1, 7, 3}, shape{37, 23, 6}})
        for (auto m : modes) {
            run_config c = W * H > 100 ? seed_like(W, H, m, engine_kind::flat, 20)
                                       : lattice(W, H, m, engine_kind::flat);
            c.partitioned = true;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
    // With one worker, partitioned changes nothing.
    run_config a = lattice(5, 5, refractory_mode::drop, engine_kind::flat), b = a;
    b.partitioned = true;
    const decomposition d(5, 5, 1);
    EXPECT_EQ(testkit::run_workers(a, d)[0].states, testkit::run_workers(b, d)[0].states);
}

TEST(SchedulerMultiWorker, HaloExchangeMatchesReference) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] : {shape{7, 7, 4}, shape{5, 4, 7}, shape{3, 3, 9}, shape{2, 2, 4},
                                 shape{2, 2, 2}, shape{1, 7, 3}, shape{6, 1, 3}, shape{8, 8, 3}})
        for (auto m : modes) {
            expect_matches_reference(
                lattice(W, H, m, workers % 2 ? engine_kind::flat : engine_kind::coroutine, 3,
                        500e-9),
                workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
    for (auto m : modes) {
        run_config c = seed_like(37, 23, m, engine_kind::coroutine, 15);
        c.delay = 0.05;
        expect_matches_reference(c, 6);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerMultiWorker, SameRunForEveryWorkerCount) {
    // The point of counter-based randomness and integer sums: the flashes and the states are the
    // same for every decomposition.
    const run_config c = lattice(6, 5, refractory_mode::queue, engine_kind::flat, 9, 500e-9);
    std::vector<flash_event> first;
    std::vector<firefly> first_states;
    for (int workers : {1, 2, 3, 5, 6, 7, 30}) {
        const decomposition d(6, 5, workers);
        const auto runs = testkit::run_workers(c, d);
        std::vector<flash_event> all;
        std::vector<firefly> states(30);
        for (const auto& r : runs) {
            for (const auto& rep : r.reports)
                all.insert(all.end(), rep.events.begin(), rep.events.end());
            for (std::size_t i = 0; i < r.ids.size(); ++i)
                states[r.ids[i]] = r.states[i];
        }
        std::sort(all.begin(), all.end());
        if (workers == 1) {
            first = all;
            first_states = states;
            ASSERT_FALSE(first.empty());
        } else {
            EXPECT_TRUE(all == first) << workers << " workers";
            EXPECT_TRUE(states == first_states) << workers << " workers";
        }
    }
}

TEST(SchedulerMultiWorker, StopAtTheSameEpochOnEveryWorker) {
    const run_config c = lattice(7, 7, refractory_mode::drop, engine_kind::flat);
    expect_matches_reference(c, 4, 30);
}

// ---- checkpoint and restart --------------------------------------------------------------------

/// The n-th report of `kind` in `reports`.
const report* nth_of(const std::vector<report>& reports, report_kind kind, std::size_t n) {
    for (const report& r : reports)
        if (r.header.kind == kind && n-- == 0) return &r;
    return nullptr;
}

/// Restarts every worker from the blocks handed over at checkpoint `which` of `saved`, as the
/// program does (each block gets every block's in-flight flashes), and runs to the end.
std::vector<worker_run> restart_from(const run_config& c, const decomposition& d,
                                     const std::vector<worker_run>& saved, std::size_t which) {
    std::vector<block_state> blocks;
    std::vector<flash_event> in_flight;
    for (const auto& r : saved) {
        blocks.push_back(block_state::unpack(r.blocks.at(which)));
        in_flight.insert(in_flight.end(), blocks.back().in_flight.begin(),
                         blocks.back().in_flight.end());
    }
    const report* cp = nth_of(saved[0].reports, report_kind::checkpoint, which);
    if (!cp) throw std::runtime_error("no such checkpoint");
    const std::int64_t epoch = cp->header.epochs, next_sample = cp->header.sample;
    return testkit::run_workers(c, d, -1, [&](int w) {
        block_state b = blocks[static_cast<std::size_t>(w)];
        b.in_flight = in_flight;
        return std::make_unique<block_simulation>(c, d, w, std::move(b), epoch, next_sample);
    });
}

std::vector<flash_event> all_events(const std::vector<worker_run>& runs) {
    std::vector<flash_event> all;
    for (const auto& r : runs)
        for (const auto& rep : r.reports)
            all.insert(all.end(), rep.events.begin(), rep.events.end());
    std::sort(all.begin(), all.end());
    return all;
}

void expect_restart_continues_exactly(const run_config& plain, int workers, int stop_after) {
    SCOPED_TRACE(describe(plain, workers) + " stop after " + std::to_string(stop_after));
    const decomposition d(plain.width, plain.height, workers);
    run_config saving = plain;
    saving.checkpoint = "unit-test-checkpoint.h5"; // block_simulation only hands blocks to its link
    const auto a = testkit::run_workers(plain, d);
    const auto b1 = testkit::run_workers(saving, d, stop_after);
    const tick_t delay = to_ticks(plain.delay);
    std::int64_t samples_before = -1;
    for (const auto& r : b1) {
        SCOPED_TRACE("worker " + std::to_string(r.worker));
        ASSERT_EQ(r.blocks.size(), 1u) << "one block handed over at the stop";
        ASSERT_GE(r.reports.size(), 2u);
        const report_header& cp = r.reports[r.reports.size() - 2].header;
        const report_header& fin = r.reports.back().header;
        ASSERT_EQ(cp.kind, report_kind::checkpoint);
        ASSERT_EQ(fin.kind, report_kind::final);
        EXPECT_EQ(fin.interrupted, 1);
        EXPECT_EQ(fin.checkpointed, 1);
        EXPECT_EQ(cp.through, cp.epochs * delay - 1);
        EXPECT_EQ(fin.through, cp.through);
        std::int64_t samples = 0;
        for (const auto& rep : r.reports)
            samples += rep.header.kind == report_kind::sample;
        EXPECT_EQ(cp.sample, samples) << "the next sample to take";
        if (samples_before < 0) samples_before = samples;
        EXPECT_EQ(samples, samples_before) << "every worker stops at the same sample";
        const block_state saved = block_state::unpack(r.blocks[0]);
        EXPECT_EQ(saved.cells, r.cells);
        EXPECT_TRUE(std::equal(saved.fireflies.begin(), saved.fireflies.end(), r.states.begin(),
                               r.states.end()))
            << "the block saved is the state at the stop";
        for (const auto& f : saved.in_flight) {
            EXPECT_GT(f.t + delay, cp.through) << "in flight: pulses not yet arrived";
            EXPECT_LE(f.t, cp.through);
        }
    }
    if (::testing::Test::HasFatalFailure()) return;
    std::vector<worker_run> b2;
    ASSERT_NO_THROW(b2 = restart_from(plain, d, b1, 0));
    ASSERT_EQ(b2.size(), a.size());

    // The continuation ends where the uninterrupted run ends, flash for flash.
    std::vector<worker_run> both = b1;
    both.insert(both.end(), b2.begin(), b2.end());
    EXPECT_TRUE(all_events(both) == all_events(a))
        << "flashes before + after the restart != uninterrupted";
    for (std::size_t w = 0; w < a.size(); ++w) {
        SCOPED_TRACE("worker " + std::to_string(w));
        EXPECT_TRUE(b2[w].states == a[w].states) << "final states differ after the restart";
        // Samples: before the stop from b1, after it from b2, each equal to the uninterrupted
        // run's.
        std::vector<const report*> sa, sb;
        for (const auto& rep : a[w].reports)
            if (rep.header.kind == report_kind::sample) sa.push_back(&rep);
        for (const worker_run* run : std::array<const worker_run*, 2>{&b1[w], &b2[w]})
            for (const auto& rep : run->reports)
                if (rep.header.kind == report_kind::sample) sb.push_back(&rep);
        ASSERT_EQ(sa.size(), sb.size());
        for (std::size_t k = 0; k < sa.size(); ++k) {
            const report_header &x = sa[k]->header, &y = sb[k]->header;
            EXPECT_EQ(x.sample, y.sample);
            EXPECT_EQ(x.through, y.through);
            EXPECT_EQ(x.state, y.state) << "R_state partial of sample " << k;
            EXPECT_EQ(x.flash_sum, y.flash_sum) << "R partial of sample " << k;
            EXPECT_EQ(x.flashed, y.flashed) << k;
            if (k != static_cast<std::size_t>(samples_before)) {
                EXPECT_EQ(x.flashes, y.flashes) << k;
            }
        }
        // Totals add up across the restart.
        const report_header& fa = a[w].reports.back().header;
        const report_header& cp = b1[w].reports[b1[w].reports.size() - 2].header;
        const report_header& f2 = b2[w].reports.back().header;
        EXPECT_EQ(fa.flashes_total, cp.flashes_total + f2.flashes_total);
        EXPECT_EQ(fa.pulses_sent, cp.pulses_sent + f2.pulses_sent);
        EXPECT_EQ(fa.pulses_delivered, cp.pulses_delivered + f2.pulses_delivered);
        EXPECT_EQ(fa.pulses_in_flight, f2.pulses_in_flight);
        EXPECT_EQ(fa.epochs, f2.epochs);
        EXPECT_EQ(f2.interrupted, 0);
    }
}

TEST(SchedulerCheckpoint, StopSaveAndRestartContinuesExactly) {
    for (auto m : modes) {
        expect_restart_continues_exactly(seed_like(7, 6, m, engine_kind::coroutine, 30), 1, 10);
        if (::testing::Test::HasFatalFailure()) return;
        expect_restart_continues_exactly(lattice(7, 7, m, engine_kind::flat, 5, 400e-9), 4, 20);
        if (::testing::Test::HasFatalFailure()) return;
        expect_restart_continues_exactly(lattice(5, 4, m, engine_kind::coroutine, 6, 400e-9), 7,
                                         13);
        if (::testing::Test::HasFatalFailure()) return;
        run_config islands = lattice(6, 6, m, engine_kind::flat, 7, 400e-9);
        islands.partitioned = true;
        expect_restart_continues_exactly(islands, 3, 17);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerCheckpoint, PeriodicCheckpointsChangeNothingAndRestartFromAny) {
    for (auto m : modes) {
        const run_config plain = seed_like(6, 5, m, engine_kind::flat, 30);
        run_config periodic = plain;
        periodic.checkpoint = "unit-test-checkpoint.h5";
        periodic.checkpoint_every = 7.0;
        const decomposition d(6, 5, 1);
        const auto a = testkit::run_workers(plain, d);
        const auto b = testkit::run_workers(periodic, d);
        std::vector<report> without;
        std::size_t checkpoints = 0;
        for (const auto& r : b[0].reports) {
            if (r.header.kind == report_kind::checkpoint) {
                ++checkpoints;
                EXPECT_EQ(r.header.through, r.header.epochs * to_ticks(plain.delay) - 1);
            } else {
                without.push_back(r);
            }
        }
        EXPECT_EQ(checkpoints, 4u) << "at 7, 14, 21 and 28 s";
        EXPECT_EQ(b[0].blocks.size(), checkpoints);
        ASSERT_EQ(without.size(), a[0].reports.size());
        for (std::size_t i = 0; i < without.size(); ++i)
            EXPECT_TRUE(same_report(without[i], a[0].reports[i])) << "report " << i;
        EXPECT_TRUE(b[0].states == a[0].states);
        for (std::size_t which = 0; which < checkpoints; ++which) {
            const auto c = restart_from(plain, d, b, which);
            EXPECT_TRUE(c[0].states == a[0].states) << "restart from checkpoint " << which;
            EXPECT_EQ(c[0].reports.back().header.pulses_in_flight,
                      a[0].reports.back().header.pulses_in_flight);
        }
    }
}

// ---- dissipation (--prc-dissipation) and inhibitory nudges --------------------------------------

/// The lattice with the general phase response: B, and a nudge of `nudge` ns.
run_config general_lattice(std::int64_t W, std::int64_t H, refractory_mode m, engine_kind e,
                           double b, double nudge, std::uint64_t seed = 3) {
    run_config c = lattice(W, H, m, e, seed, 1500e-9);
    c.dissipation = b;
    c.nudge = nudge * 1e-9;
    return c;
}

TEST(SchedulerDissipation, SingleWorkerMatchesReference) {
    struct grid {
        std::int64_t W, H;
    };
    for (auto [W, H] : {grid{5, 4}, grid{3, 3}, grid{2, 2}, grid{1, 5}, grid{12, 9}})
        for (auto m : modes)
            for (auto [b, e] : {std::pair{2.0, 3.0}, std::pair{0.0, -3.0}, std::pair{3.0, -2.0},
                                std::pair{8.0, 1.0}}) {
                expect_matches_reference(general_lattice(W, H, m, engine_kind::coroutine, b, e), 1,
                                         -1, true);
                if (::testing::Test::HasFatalFailure()) return;
            }
    // The seed's parameters, strongly dissipative: synchronises, many coincident flashes.
    for (auto m : modes) {
        run_config c = seed_like(8, 6, m, engine_kind::coroutine, 200);
        c.dissipation = 3;
        c.sample_every = 1.25;
        expect_matches_reference(c, 1, -1, true);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerDissipation, HaloExchangeMatchesReference) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] : {shape{7, 7, 4}, shape{5, 4, 7}, shape{3, 3, 9}, shape{8, 8, 3}})
        for (auto m : modes) {
            expect_matches_reference(general_lattice(W, H, m, engine_kind::flat, 2.5, 3.0),
                                     workers);
            if (::testing::Test::HasFatalFailure()) return;
            expect_matches_reference(general_lattice(W, H, m, engine_kind::coroutine, 1.0, -3.0),
                                     workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
}

// The 6 x 5 run `c` on 1, 2, 3, 5, 7 and 30 workers: every run's flashes, sorted, equal the one
// worker's, which are returned.
static std::vector<flash_event> same_flashes_for_every_worker_count(const run_config& c) {
    std::vector<flash_event> first;
    for (int workers : {1, 2, 3, 5, 7, 30}) {
        const auto runs = testkit::run_workers(c, decomposition(6, 5, workers));
        std::vector<flash_event> all;
        for (const auto& r : runs)
            for (const auto& rep : r.reports)
                all.insert(all.end(), rep.events.begin(), rep.events.end());
        std::sort(all.begin(), all.end());
        if (workers == 1) first = all;
        EXPECT_TRUE(all == first) << workers << " workers";
    }
    return first;
}

TEST(SchedulerDissipation, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes) {
        const run_config c = general_lattice(6, 5, m, engine_kind::flat, 3.0, 4.0, 9);
        const std::vector<flash_event> first = same_flashes_for_every_worker_count(c);
        EXPECT_FALSE(first.empty());
        expect_restart_continues_exactly(general_lattice(7, 7, m, engine_kind::flat, 3.0, 4.0, 5),
                                         4, 20);
        if (::testing::Test::HasFatalFailure()) return;
        expect_restart_continues_exactly(
            general_lattice(5, 4, m, engine_kind::coroutine, 0.0, -3.0, 6), 3, 13);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

// ---- period spread --------------------------------------------------------------------------

run_config spread_lattice(std::int64_t W, std::int64_t H, refractory_mode m, engine_kind e,
                          period_distribution d, double spread, std::uint64_t seed = 3) {
    run_config c = lattice(W, H, m, e, seed, 1500e-9);
    c.period_spread = spread * 1e-9;
    c.period_dist = d;
    return c;
}

TEST(SchedulerPeriodSpread, MatchesReferenceOnOneAndSeveralWorkers) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] : {shape{5, 4, 1}, shape{3, 3, 1}, shape{12, 9, 1}, shape{7, 7, 4},
                                 shape{5, 4, 7}, shape{8, 8, 3}})
        for (auto m : modes)
            for (auto d : {period_distribution::normal, period_distribution::uniform}) {
                run_config c = spread_lattice(
                    W, H, m, workers % 2 ? engine_kind::coroutine : engine_kind::flat, d,
                    d == period_distribution::normal ? 4 : 7);
                expect_matches_reference(c, workers, -1, workers == 1);
                if (::testing::Test::HasFatalFailure()) return;
                c.dissipation = 2;
                expect_matches_reference(c, workers);
                if (::testing::Test::HasFatalFailure()) return;
            }
    // The seed's parameters with a spread of 0.1 s: samples far apart, R_state on own periods.
    run_config c = seed_like(8, 6, refractory_mode::drop, engine_kind::coroutine, 100);
    c.period_spread = 0.1;
    expect_matches_reference(c, 3, -1, true);
}

TEST(SchedulerPeriodSpread, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes) {
        const run_config c =
            spread_lattice(6, 5, m, engine_kind::flat, period_distribution::normal, 5, 9);
        same_flashes_for_every_worker_count(c);
        expect_restart_continues_exactly(
            spread_lattice(7, 7, m, engine_kind::flat, period_distribution::uniform, 6, 5), 4, 20);
        if (::testing::Test::HasFatalFailure()) return;
        expect_restart_continues_exactly(
            spread_lattice(5, 4, m, engine_kind::coroutine, period_distribution::normal, 3, 6), 3,
            13);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

// ---- open boundary ------------------------------------------------------------------------------

TEST(SchedulerOpenBoundary, ReferenceNeighboursHaveNoWrap) {
    using reference::moore_neighbours;
    EXPECT_EQ(moore_neighbours(5, 4, 0, nullptr, true), (std::vector<std::uint64_t>{1, 5, 6}))
        << "a corner: 3";
    EXPECT_EQ(moore_neighbours(5, 4, 2, nullptr, true).size(), 5u) << "an edge: 5";
    EXPECT_EQ(moore_neighbours(5, 4, 7, nullptr, true).size(), 8u) << "inside: 8";
    EXPECT_EQ(moore_neighbours(2, 1, 0, nullptr, true), (std::vector<std::uint64_t>{1}));
    EXPECT_TRUE(moore_neighbours(1, 1, 0, nullptr, true).empty());
    EXPECT_EQ(moore_neighbours(5, 1, 4, nullptr, true), (std::vector<std::uint64_t>{3}))
        << "the end of a line";
}

TEST(SchedulerOpenBoundary, MatchesReferenceOnOneAndSeveralWorkers) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] :
         {shape{5, 4, 1}, shape{3, 3, 1}, shape{1, 5, 1}, shape{2, 2, 1}, shape{12, 9, 1},
          shape{7, 7, 4}, shape{5, 4, 7}, shape{3, 3, 9}, shape{1, 7, 3}, shape{8, 8, 3}})
        for (auto m : modes) {
            run_config c = lattice(
                W, H, m, workers % 2 ? engine_kind::coroutine : engine_kind::flat, 3, 500e-9);
            c.boundary = boundary_kind::open;
            expect_matches_reference_coupled_and_partitioned(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
    run_config c = seed_like(11, 7, refractory_mode::drop, engine_kind::coroutine, 60);
    c.boundary = boundary_kind::open;
    c.period_spread = 0.1;
    c.dissipation = 1;
    expect_matches_reference(c, 5);
}

TEST(SchedulerOpenBoundary, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes) {
        run_config c = lattice(6, 5, m, engine_kind::flat, 9, 500e-9);
        c.boundary = boundary_kind::open;
        same_flashes_for_every_worker_count(c);
        run_config r = lattice(7, 7, m, engine_kind::coroutine, 5, 400e-9);
        r.boundary = boundary_kind::open;
        expect_restart_continues_exactly(r, 4, 20);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

// ---- neighbourhoods ----------------------------------------------------------------------------

TEST(SchedulerNeighbourhood, MatchesReferenceOnOneAndSeveralWorkers) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    struct reach {
        neighbourhood_kind kind;
        std::int64_t radius;
    };
    // One worker; tori narrower than the neighbourhood (4 x 4, 6 x 2, 1 x 7); blocks narrower
    // than the radius (7 x 7 and 5 x 4 on 7 workers, 9 x 8 on 5).
    const shape shapes[] = {{5, 4, 1}, {7, 7, 1}, {4, 4, 1}, {6, 2, 1},  {1, 7, 1},
                            {9, 8, 4}, {7, 7, 7}, {5, 4, 7}, {12, 9, 3}, {9, 8, 5}};
    const reach reaches[] = {{neighbourhood_kind::von_neumann, 1},
                             {neighbourhood_kind::moore, 2},
                             {neighbourhood_kind::von_neumann, 2},
                             {neighbourhood_kind::moore, 3}};
    int k = 0;
    for (auto [W, H, workers] : shapes)
        for (auto [kind, radius] : reaches)
            for (auto m : modes) {
                run_config c = lattice(
                    W, H, m, ++k % 2 ? engine_kind::coroutine : engine_kind::flat, 3, 500e-9);
                c.neighbourhood = kind;
                c.radius = radius;
                c.boundary = k % 3 == 0 ? boundary_kind::open : boundary_kind::periodic;
                if (c.radius > neighbourhood::of(c).diameter()) continue; // refused (--radius)
                expect_matches_reference_coupled_and_partitioned(c, workers);
                if (::testing::Test::HasFatalFailure()) return;
            }
    // With the other families; the seed's parameters.
    run_config c = seed_like(11, 7, refractory_mode::drop, engine_kind::coroutine, 60);
    c.neighbourhood = neighbourhood_kind::von_neumann;
    c.radius = 2;
    c.period_spread = 0.1;
    c.dissipation = 1;
    expect_matches_reference(c, 5);
    c.boundary = boundary_kind::open;
    c.neighbourhood = neighbourhood_kind::moore;
    expect_matches_reference(c, 3);
}

TEST(SchedulerNeighbourhood, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes)
        for (auto kind : {neighbourhood_kind::moore, neighbourhood_kind::von_neumann}) {
            run_config c = lattice(9, 8, m, engine_kind::flat, 9, 500e-9);
            c.neighbourhood = kind;
            c.radius = 3;
            std::vector<flash_event> first;
            for (int workers : {1, 2, 3, 5, 8, 72}) {
                const auto all = all_events(testkit::run_workers(c, decomposition(9, 8, workers)));
                if (workers == 1) first = all;
                EXPECT_GT(all.size(), 100u);
                EXPECT_TRUE(all == first) << name_of(kind) << " " << workers << " workers";
            }
            run_config r = lattice(7, 7, m, engine_kind::coroutine, 5, 400e-9);
            r.neighbourhood = kind;
            r.radius = 2;
            expect_restart_continues_exactly(r, 7, 20);
            if (::testing::Test::HasFatalFailure()) return;
            r.boundary = boundary_kind::open;
            expect_restart_continues_exactly(r, 4, 20);
            if (::testing::Test::HasFatalFailure()) return;
        }
}

// ---- all-to-all coupling ---------------------------------------------------------------------

run_config all_to_all(run_config c) {
    c.coupling = coupling_kind::all_to_all;
    return c;
}

TEST(SchedulerAllToAll, ReferenceCouplesEveryOtherFirefly) {
    // The reference's flash sends N - 1 pulses: on a 4 x 3 grid 11 per flash.
    const run_config c =
        all_to_all(lattice(4, 3, refractory_mode::drop, engine_kind::flat, 3, 200e-9));
    const auto ref = reference::run(c, to_ticks(c.duration));
    ASSERT_FALSE(ref.flashes.empty());
    EXPECT_EQ(ref.pulses_sent, 11 * static_cast<std::int64_t>(ref.flashes.size()));
}

TEST(SchedulerAllToAll, MatchesReferenceOnOneAndSeveralWorkers) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] :
         {shape{5, 4, 1}, shape{3, 3, 1}, shape{2, 1, 1}, shape{1, 1, 1}, shape{7, 7, 4},
          shape{5, 4, 7}, shape{3, 3, 9}, shape{1, 7, 3}, shape{6, 5, 30}})
        for (auto m : modes) {
            // A small nudge (N - 1 pulses per flash), so that it does not synchronise at once.
            run_config c = all_to_all(lattice(
                W, H, m, workers % 2 ? engine_kind::coroutine : engine_kind::flat, 3, 500e-9));
            c.nudge = 1e-9;
            expect_matches_reference(c, workers, -1, workers == 1);
            if (::testing::Test::HasFatalFailure()) return;
            // The general phase response (each pulse in turn), inhibitory pulses, a period spread.
            c.dissipation = 2;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            c.dissipation = 0;
            c.nudge = -1e-9;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            c.nudge = 1e-9;
            c.period_spread = 3e-9;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
    // Mirollo & Strogatz's swarm (B = 3) with the seed's times: synchronises, volleys of many
    // flashes at one instant.
    for (auto m : modes) {
        run_config c = all_to_all(seed_like(6, 5, m, engine_kind::coroutine, 120));
        c.nudge = 0.01;
        c.dissipation = 3;
        expect_matches_reference(c, 4);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerAllToAll, IsTheLatticeOnTheThreeByThreeTorus) {
    // Every cell of a 3 x 3 torus is a Moore neighbour of every other: the same model, so every
    // report (events, sums, totals) is the same, bit for bit. (The events of one report in
    // (time, firefly) order: flashes of one instant leave a worker in the order its loop took
    // them, and the hub sorts them.)
    auto sorted = [](std::vector<report> reports) {
        for (auto& r : reports)
            std::sort(r.events.begin(), r.events.end());
        return reports;
    };
    for (auto m : modes)
        for (const run_config& base : {lattice(3, 3, m, engine_kind::coroutine, 5),
                                       seed_like(3, 3, m, engine_kind::flat, 60)})
            for (int workers : {1, 2, 9}) {
                SCOPED_TRACE(describe(base, workers));
                const decomposition d(3, 3, workers);
                const auto a = testkit::run_workers(base, d),
                           b = testkit::run_workers(all_to_all(base), d);
                for (int w = 0; w < workers; ++w) {
                    const auto ra = sorted(a[static_cast<std::size_t>(w)].reports);
                    const auto rb = sorted(b[static_cast<std::size_t>(w)].reports);
                    ASSERT_EQ(ra.size(), rb.size());
                    for (std::size_t i = 0; i < ra.size(); ++i)
                        EXPECT_TRUE(same_report(ra[i], rb[i])) << "worker " << w << " report " << i;
                    EXPECT_EQ(a[static_cast<std::size_t>(w)].states,
                              b[static_cast<std::size_t>(w)].states);
                }
                EXPECT_FALSE(all_events(a).empty());
            }
}

TEST(SchedulerAllToAll, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes) {
        run_config c = all_to_all(lattice(6, 5, m, engine_kind::flat, 9, 500e-9));
        c.nudge = 1e-9;
        std::vector<flash_event> first;
        std::vector<firefly> first_states;
        for (int workers : {1, 2, 3, 5, 8, 30}) {
            const auto runs = testkit::run_workers(c, decomposition(6, 5, workers));
            std::vector<firefly> states(30);
            for (const auto& r : runs)
                for (std::size_t i = 0; i < r.ids.size(); ++i)
                    states[r.ids[i]] = r.states[i];
            if (workers == 1) {
                first = all_events(runs);
                first_states = states;
            }
            EXPECT_TRUE(all_events(runs) == first) << workers << " workers";
            EXPECT_TRUE(states == first_states) << workers << " workers";
        }
        EXPECT_FALSE(first.empty());
        run_config r = all_to_all(lattice(7, 7, m, engine_kind::coroutine, 5, 400e-9));
        r.nudge = 1e-9;
        expect_restart_continues_exactly(r, 4, 20);
        if (::testing::Test::HasFatalFailure()) return;
        r.dissipation = 2;
        expect_restart_continues_exactly(r, 3, 13);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

// ---- pacemakers -------------------------------------------------------------------------------

run_config with_pacemakers(run_config c, std::vector<pacemaker> p) {
    c.pacemakers = std::move(p);
    return c;
}

TEST(SchedulerPacemaker, FlashesEveryOwnPeriodWhateverThePulses) {
    // The lattice of coincidences, with two pacemakers: one on the run's period, one on 13 ns.
    for (auto m : modes)
        for (int workers : {1, 4}) {
            const run_config c = with_pacemakers(
                lattice(6, 5, m, engine_kind::coroutine, 3, 800e-9), {{2, 3, 0}, {5, 0, 13e-9}});
            const auto runs = testkit::run_workers(c, decomposition(6, 5, workers));
            const auto all = all_events(runs);
            for (auto [id, period] : {std::pair<std::uint64_t, tick_t>{3 * 6 + 2, 20}, {5, 13}}) {
                std::vector<tick_t> times;
                for (const auto& e : all)
                    if (e.agent == id) times.push_back(e.t);
                ASSERT_GE(times.size(), 30u);
                EXPECT_LE(times.front(), period);
                for (std::size_t k = 1; k < times.size(); ++k)
                    ASSERT_EQ(times[k] - times[k - 1], period) << id;
            }
        }
}

TEST(SchedulerPacemaker, MatchesReferenceOnOneAndSeveralWorkers) {
    struct shape {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] :
         {shape{5, 4, 1}, shape{5, 1, 1}, shape{7, 7, 4}, shape{5, 4, 7}, shape{6, 5, 30}})
        for (auto m : modes) {
            run_config c = with_pacemakers(
                lattice(W, H, m, workers % 2 ? engine_kind::coroutine : engine_kind::flat, 3,
                        500e-9),
                {{0, 0, 17e-9}, {W - 1, H - 1, 0}});
            expect_matches_reference(c, workers, -1, workers == 1);
            if (::testing::Test::HasFatalFailure()) return;
            c.dissipation = 2; // with the general response, a period spread, all-to-all
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            c.dissipation = 0;
            c.period_spread = 3e-9;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            c.period_spread = 0;
            c.coupling = coupling_kind::all_to_all;
            c.nudge = 1e-9;
            expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            // A wide neighbourhood (the pacemakers' pulses reach R cells; they ignore those of R
            // cells).
            c.coupling = coupling_kind::lattice;
            c.neighbourhood = neighbourhood_kind::von_neumann;
            c.radius = 2;
            if (c.radius <= neighbourhood::of(c).diameter()) expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
            c.neighbourhood = neighbourhood_kind::moore;
            c.period_spread = 3e-9;
            if (c.radius <= neighbourhood::of(c).diameter()) expect_matches_reference(c, workers);
            if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(SchedulerPacemaker, SameRunForEveryWorkerCountAndRestart) {
    for (auto m : modes) {
        const run_config c = with_pacemakers(lattice(6, 5, m, engine_kind::flat, 9, 500e-9),
                                             {{1, 1, 0}, {4, 2, 9e-9}});
        std::vector<flash_event> first;
        for (int workers : {1, 2, 3, 5, 8, 30}) {
            const auto runs = testkit::run_workers(c, decomposition(6, 5, workers));
            if (workers == 1) first = all_events(runs);
            EXPECT_TRUE(all_events(runs) == first) << workers << " workers";
        }
        EXPECT_FALSE(first.empty());
        expect_restart_continues_exactly(
            with_pacemakers(lattice(7, 7, m, engine_kind::coroutine, 5, 400e-9),
                            {{3, 3, 0}, {0, 6, 11e-9}}),
            4, 20);
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(SchedulerCheckpoint, RestoredBlockMustMatchTheWorker) {
    const run_config c = seed_like(6, 6, refractory_mode::drop, engine_kind::flat, 1);
    const decomposition d(6, 6, 2);
    block_simulation sim(c, d, 0);
    block_state s = sim.save();
    EXPECT_EQ(s.cells, d.block_of(0));
    EXPECT_EQ(s.fireflies.size(), static_cast<std::size_t>(d.block_of(0).cells()));
    EXPECT_THROW(block_simulation(c, d, 1, s, 0, 0), error) << "worker 0's block given to worker 1";
    block_state cut = s;
    cut.fireflies.pop_back();
    EXPECT_THROW(block_simulation(c, d, 0, cut, 0, 0), error);
    // pack / unpack round trip
    s.in_flight.push_back({123, 4});
    const block_state back = block_state::unpack(s.pack());
    EXPECT_EQ(back.cells, s.cells);
    EXPECT_TRUE(back.fireflies == s.fireflies);
    EXPECT_EQ(back.in_flight, s.in_flight);
    auto bytes = s.pack();
    bytes.pop_back();
    EXPECT_THROW(block_state::unpack(bytes), error);
}

} // namespace
