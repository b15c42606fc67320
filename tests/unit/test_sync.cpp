// The synchrony measures (include/fireflies/sync.hpp): the time-to-sync rule sample by sample,
// the largest volley against a brute-force count, and --stop-when-synced in the scheduler: every
// worker count stops at the same sample and the same tick, the samples before it are those of
// the run that does not stop, and a restart (the rule rebuilt from the series) stops there too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fireflies/block_simulation.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"
#include "fireflies/sync.hpp"
#include "reference_model.hpp"

using namespace fireflies;

namespace {

// ---- the rule ----------------------------------------------------------------------------------

// T = 5 s, samples every 0.5 s: a stretch must span 10 sample intervals (11 samples).
constexpr tick_t T = 5'000'000'000, S = 500'000'000;

sync_tracker fed(std::vector<double> series, double threshold = 0.99) {
    sync_tracker t(threshold, T, S);
    t.replay(series);
    return t;
}

TEST(SyncTracker, AStretchOfOnePeriodFromItsFirstSample) {
    EXPECT_EQ(sync_tracker(0.99, T, S).span(), 10);
    std::vector<double> r(3, 0.5);
    r.insert(r.end(), 10, 0.995); // samples 3..12: spans 9 intervals, not yet a period
    EXPECT_FALSE(fed(r).synced());
    r.push_back(0.99); // sample 13: 13 - 3 = 10 intervals, and >= counts
    const sync_tracker t = fed(r);
    ASSERT_TRUE(t.synced());
    EXPECT_EQ(t.get().start, 3);
    EXPECT_EQ(t.get().decided, 13);
    EXPECT_EQ(t.time_to_sync(), 3 * S);
    EXPECT_EQ(t.stop_after(), 14) << "a worker learns sample 13's R_state at sample 14";
}

TEST(SyncTracker, ADipStartsAgainAndNaNIsBelow) {
    std::vector<double> r(10, 1.0);
    r.push_back(0.98);                                     // sample 10 dips
    r.push_back(std::numeric_limits<double>::quiet_NaN()); // 11: NaN is not >= threshold
    r.insert(r.end(), 11, 1.0);                            // 12..22
    const sync_tracker t = fed(r);
    ASSERT_TRUE(t.synced());
    EXPECT_EQ(t.get().start, 12);
    EXPECT_EQ(t.get().decided, 22);
    // Later dips change nothing: the first stretch of a period decides.
    r.push_back(0.0);
    EXPECT_EQ(fed(r).get().start, 12);
}

TEST(SyncTracker, OneFireflyIsSynchronisedFromTheStart) {
    const sync_tracker t = fed(std::vector<double>(11, 1.0), 1.0);
    ASSERT_TRUE(t.synced());
    EXPECT_EQ(t.time_to_sync(), 0);
}

TEST(SyncTracker, PeriodNotAMultipleOfTheSampleRoundsUp) {
    sync_tracker t(0.9, 5'000'000'000, 3'000'000'000); // ceil(5 / 3) = 2 intervals
    EXPECT_EQ(t.span(), 2);
    t.replay(std::vector<double>{1.0, 1.0});
    EXPECT_FALSE(t.synced());
    t.add(2, 1.0);
    EXPECT_TRUE(t.synced());
}

TEST(SyncTracker, SamplesInOrderOnlyAndStateRoundTrips) {
    sync_tracker t(0.99, T, S);
    EXPECT_THROW(t.add(1, 1.0), error);
    t.add(0, 1.0);
    EXPECT_THROW(t.add(0, 1.0), error);
    std::vector<double> r(30);
    for (std::size_t i = 0; i < r.size(); ++i)
        r[i] = i % 7 == 3 ? 0.2 : 0.999;
    r.resize(60, 0.999);
    for (std::size_t cut = 0; cut <= r.size(); ++cut) {
        sync_tracker a(0.99, T, S), b(0.99, T, S);
        a.replay(r);
        b.replay(std::span<const double>(r).first(cut));
        sync_tracker c(0.99, T, S);
        c.set(b.get()); // a restart: the state, then the rest of the series
        c.replay(r);
        EXPECT_EQ(a.get(), c.get()) << "cut at " << cut;
    }
}

// ---- the largest volley ------------------------------------------------------------------------

std::int64_t brute_volley(const std::vector<tick_t>& t, tick_t w) {
    std::int64_t best = 0;
    for (const tick_t a : t)
        best = std::max<std::int64_t>(
            best, std::count_if(t.begin(), t.end(), [&](tick_t b) { return a <= b && b < a + w; }));
    return best;
}

TEST(LargestVolley, HalfOpenWindow) {
    std::vector<tick_t> scratch;
    std::vector<tick_t> none;
    EXPECT_EQ(largest_volley(none, 10, scratch), 0);
    std::vector<tick_t> t{20, 10, 19, 10};
    EXPECT_EQ(largest_volley(t, 10, scratch), 3) << "10, 10, 19: 20 is one window width after 10";
    std::vector<tick_t> same(5, 42);
    EXPECT_EQ(largest_volley(same, 1, scratch), 5);
}

TEST(LargestVolley, MatchesABruteForceCountOnBothPaths) {
    // The buckets (windows wider than about range / n) and the sort of them all (narrower ones).
    std::mt19937_64 rng(11);
    std::vector<tick_t> scratch;
    for (const tick_t range : {tick_t{1000}, tick_t{400'000'000}, tick_t{1} << 40}) {
        for (const std::size_t n : {std::size_t{1}, std::size_t{40}, std::size_t{300},
                                    std::size_t{900}, std::size_t{3000}}) {
            std::vector<tick_t> t(n);
            // Volleys: clusters at a few centres, as a synchronising grid makes them.
            std::uniform_int_distribution<tick_t> centre(0, range), spread(0, range / 50 + 1);
            std::vector<tick_t> centres{centre(rng), centre(rng), centre(rng)};
            for (auto& x : t)
                x = 7'000'000'000 + centres[rng() % 3] + spread(rng);
            for (const tick_t w : {range / 100 + 1, range / 10 + 1, range / 100'000 + 1}) {
                const std::vector<tick_t> copy = t;
                EXPECT_EQ(largest_volley(t, w, scratch), brute_volley(t, w))
                    << "n " << n << " range " << range << " window " << w;
                EXPECT_EQ(t, copy) << "the times are left as they were";
            }
        }
    }
}

TEST(LargestVolley, WindowsThatEndInEveryBucketOfTheirReach) {
    // Flashes on a grid of steps around the bucket width, windows of every width near a multiple
    // of it: each window's end lands in the first or the second bucket it can reach.
    std::vector<tick_t> scratch;
    std::mt19937_64 rng(5);
    for (const tick_t step : {tick_t{1}, tick_t{7}, tick_t{64}, tick_t{100}}) {
        std::vector<tick_t> t;
        for (int i = 0; i < 500; ++i)
            t.push_back(step * static_cast<tick_t>(rng() % 400) + (rng() % 3 == 0 ? 1 : 0));
        for (tick_t w = 1; w < 40 * step; w += std::max<tick_t>(1, step / 3))
            EXPECT_EQ(largest_volley(t, w, scratch), brute_volley(t, w))
                << "step " << step << " window " << w;
    }
}

// ---- --stop-when-synced in the scheduler -------------------------------------------------------

/// The seed's model on a small torus, which synchronises within a few periods.
run_config small_grid(int side, double duration) {
    run_config c;
    c.width = side;
    c.height = side;
    c.duration = duration;
    c.seed = 4;
    return c;
}

/// R_state of every sample of a run: the workers' partial sums added up.
std::vector<double> r_state_series(const std::vector<testkit::worker_run>& runs,
                                   std::int64_t cells) {
    std::vector<phasor_sum> sums;
    for (const auto& r : runs)
        for (const auto& rep : r.reports)
            if (rep.header.kind == report_kind::sample) {
                const auto k = static_cast<std::size_t>(rep.header.sample);
                if (sums.size() <= k) sums.resize(k + 1);
                sums[k] += rep.header.state;
            }
    std::vector<double> out;
    for (const auto& s : sums)
        out.push_back(s.order(cells));
    return out;
}

std::int64_t samples_of(const testkit::worker_run& r) {
    return std::count_if(r.reports.begin(), r.reports.end(), [](const testkit::report& rep) {
        return rep.header.kind == report_kind::sample;
    });
}

/// The tick a run that stops after sample k reports as reached: the end of that sample's epoch.
tick_t stop_tick(const run_config& c, std::int64_t k) {
    const tick_t d = to_ticks(c.delay), t = k * to_ticks(c.sample_every);
    return std::min((t / d + 1) * d, to_ticks(c.duration) + 1) - 1;
}

TEST(StopWhenSynced, SameSampleAndTickForEveryWorkerCount) {
    const run_config plain = small_grid(12, 400);
    const decomposition one(12, 12, 1);
    const auto full = testkit::run_workers(plain, one);
    const std::vector<double> r = r_state_series(full, 144);
    sync_tracker expected(plain.sync_threshold, to_ticks(plain.period),
                          to_ticks(plain.sample_every));
    expected.replay(r);
    ASSERT_TRUE(expected.synced()) << "the test grid must synchronise within its duration";
    const std::int64_t last = expected.stop_after();
    ASSERT_LT(last + 1, static_cast<std::int64_t>(r.size())) << "and stop before its end";

    run_config stopping = plain;
    stopping.stop_when_synced = true;
    for (int workers : {1, 2, 3, 5}) {
        SCOPED_TRACE(std::to_string(workers) + " workers");
        const decomposition d(12, 12, workers);
        const auto runs = testkit::run_workers(stopping, d);
        for (const auto& w : runs) {
            const report_header& fin = w.reports.back().header;
            EXPECT_EQ(fin.kind, report_kind::final);
            EXPECT_EQ(fin.interrupted, 0) << "a stop when synced is a complete run";
            EXPECT_EQ(fin.through, stop_tick(plain, last));
            EXPECT_EQ(samples_of(w), last + 1);
        }
        const std::vector<double> rs = r_state_series(runs, 144);
        ASSERT_EQ(rs.size(), static_cast<std::size_t>(last + 1));
        EXPECT_TRUE(std::equal(rs.begin(), rs.end(), r.begin()))
            << "the samples before the stop are the same";
    }
}

TEST(StopWhenSynced, RestartFromTheSeriesStopsAtTheSamePlace) {
    run_config c = small_grid(10, 400);
    c.stop_when_synced = true;
    const std::int64_t cells = 100;
    for (int workers : {1, 3}) {
        SCOPED_TRACE(std::to_string(workers) + " workers");
        const decomposition d(10, 10, workers);
        const auto straight = testkit::run_workers(c, d);
        const std::int64_t last = samples_of(straight[0]) - 1;
        const tick_t end = straight[0].reports.back().header.through;
        // Stopped (with a checkpoint) well before the decision, then continued from the blocks
        // with the rule rebuilt from the samples written so far, as rank 0 does from the output.
        run_config saving = c;
        saving.checkpoint = "unit-test-checkpoint.h5";
        for (int stop_after : {300, 2500}) {
            const auto first = testkit::run_workers(saving, d, stop_after);
            ASSERT_EQ(first[0].blocks.size(), 1u);
            const report_header* cp = nullptr;
            for (const auto& rep : first[0].reports)
                if (rep.header.kind == report_kind::checkpoint) cp = &rep.header;
            ASSERT_NE(cp, nullptr);
            sync_tracker rebuilt(c.sync_threshold, to_ticks(c.period), to_ticks(c.sample_every));
            rebuilt.replay(r_state_series(first, cells));
            ASSERT_EQ(rebuilt.get().next, cp->sample);
            std::vector<flash_event> in_flight;
            std::vector<block_state> blocks;
            for (const auto& w : first) {
                blocks.push_back(block_state::unpack(w.blocks[0]));
                in_flight.insert(in_flight.end(), blocks.back().in_flight.begin(),
                                 blocks.back().in_flight.end());
            }
            const auto second = testkit::run_workers(c, d, -1, [&](int w) {
                block_state b = blocks[static_cast<std::size_t>(w)];
                b.in_flight = in_flight;
                auto sim = std::make_unique<block_simulation>(c, d, w, std::move(b), cp->epochs,
                                                              cp->sample);
                sim->resume_sync(rebuilt.get());
                return sim;
            });
            for (const auto& w : second) {
                EXPECT_EQ(w.reports.back().header.through, end) << "stop " << stop_after;
                EXPECT_EQ(cp->sample + samples_of(w), last + 1) << "stop " << stop_after;
            }
        }
    }
}

TEST(StopWhenSynced, AnAlreadyDecidedRestartStopsAtItsFirstBoundary) {
    run_config c = small_grid(8, 300);
    const decomposition d(8, 8, 1);
    run_config saving = c;
    saving.checkpoint = "unit-test-checkpoint.h5";
    // The first part runs without the option, far past the time to synchrony.
    const auto first = testkit::run_workers(saving, d, 20000);
    const report_header* cp = nullptr;
    for (const auto& rep : first[0].reports)
        if (rep.header.kind == report_kind::checkpoint) cp = &rep.header;
    ASSERT_NE(cp, nullptr);
    sync_tracker rebuilt(c.sync_threshold, to_ticks(c.period), to_ticks(c.sample_every));
    rebuilt.replay(r_state_series(first, 64));
    ASSERT_TRUE(rebuilt.synced());
    ASSERT_LT(rebuilt.stop_after(), cp->sample);
    c.stop_when_synced = true;
    const auto second = testkit::run_workers(c, d, -1, [&](int w) {
        auto sim = std::make_unique<block_simulation>(
            c, d, w, block_state::unpack(first[0].blocks[0]), cp->epochs, cp->sample);
        sim->resume_sync(rebuilt.get());
        return sim;
    });
    const report_header& fin = second[0].reports.back().header;
    EXPECT_EQ(fin.interrupted, 0);
    EXPECT_EQ(fin.through, (cp->epochs + 1) * to_ticks(c.delay) - 1) << "one epoch, then the stop";
}

} // namespace
