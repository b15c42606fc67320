// The telemetry hub: samples assembled from every worker's reports, in order and bitwise the same
// for every arrival interleaving; interval flash counts, pulse, R and R_state; totals; summary
// telemetry against events telemetry; real reports of block_simulations against the reference
// model; malformed reports.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fireflies/block_simulation.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "reference_model.hpp"

using namespace fireflies;
using testkit::report;

namespace {

/// Records what the hub produces, and checks the order of flashes against the samples.
class recorder : public hub::observer {
  public:
    std::vector<sample> samples;
    std::vector<flash_event> flashes;
    std::vector<std::int64_t> flash_sample; ///< per flash, how many samples came before it
    std::vector<std::pair<tick_t, std::vector<float>>> snapshots;

    void on_sample(const sample& s) override { samples.push_back(s); }
    void on_flashes(std::span<const flash_event> events) override {
        for (const flash_event& f : events) {
            flashes.push_back(f);
            flash_sample.push_back(static_cast<std::int64_t>(samples.size()));
        }
    }
    void on_snapshot(tick_t t, const std::vector<float>& frame) override {
        snapshots.emplace_back(t, frame);
    }
};

bool same_sample(const sample& a, const sample& b) {
    return a.index == b.index && a.t == b.t && a.R == b.R && a.R_state == b.R_state &&
           a.flashes == b.flashes && a.pulse == b.pulse && a.largest_volley == b.largest_volley &&
           a.block_R == b.block_R && a.block_R_state == b.block_R_state;
}

/// A summary-telemetry series against the events run's: the same samples, but for the largest
/// volley, which summary telemetry (no flash events) cannot know (-1).
void expect_summary_series(const std::vector<sample>& events, const std::vector<sample>& summary,
                           int workers) {
    ASSERT_EQ(events.size(), summary.size());
    for (std::size_t k = 0; k < events.size(); ++k) {
        sample without_volley = events[k];
        without_volley.largest_volley = -1;
        EXPECT_TRUE(same_sample(without_volley, summary[k])) << workers << " workers, sample " << k;
    }
}

/// One report of one worker, in a feeding order.
struct fed {
    int worker;
    std::size_t index;
};

/// Feeding orders of `per_worker[w]` reports per worker that keep each worker's own order.
std::vector<std::vector<fed>> interleavings(const std::vector<std::size_t>& per_worker,
                                            int random_orders) {
    const int P = static_cast<int>(per_worker.size());
    std::vector<std::vector<fed>> out;
    auto worker_by_worker = [&](std::vector<int> order) {
        std::vector<fed> f;
        for (int w : order)
            for (std::size_t i = 0; i < per_worker[static_cast<std::size_t>(w)]; ++i)
                f.push_back({w, i});
        return f;
    };
    std::vector<int> ascending(static_cast<std::size_t>(P));
    for (int w = 0; w < P; ++w)
        ascending[static_cast<std::size_t>(w)] = w;
    out.push_back(worker_by_worker(ascending)); // worker 0 far ahead of all others
    std::vector<int> descending(ascending.rbegin(), ascending.rend());
    out.push_back(worker_by_worker(descending)); // the last worker far ahead
    {                                            // round robin
        std::vector<fed> f;
        std::vector<std::size_t> next(static_cast<std::size_t>(P), 0);
        for (bool any = true; any;) {
            any = false;
            for (int w = 0; w < P; ++w)
                if (next[static_cast<std::size_t>(w)] < per_worker[static_cast<std::size_t>(w)]) {
                    f.push_back({w, next[static_cast<std::size_t>(w)]++});
                    any = true;
                }
        }
        out.push_back(f);
    }
    { // one worker far ahead, the others in lockstep behind it
        std::vector<fed> f;
        for (std::size_t i = 0; i < per_worker[1 % static_cast<std::size_t>(P)]; ++i)
            f.push_back({1 % P, i});
        std::vector<std::size_t> next(static_cast<std::size_t>(P), 0);
        for (bool any = true; any;) {
            any = false;
            for (int w = 0; w < P; ++w)
                if (w != 1 % P &&
                    next[static_cast<std::size_t>(w)] < per_worker[static_cast<std::size_t>(w)]) {
                    f.push_back({w, next[static_cast<std::size_t>(w)]++});
                    any = true;
                }
        }
        out.push_back(f);
    }
    std::mt19937 rng(12345);
    for (int r = 0; r < random_orders; ++r) {
        std::vector<int> pool;
        for (int w = 0; w < P; ++w)
            for (std::size_t i = 0; i < per_worker[static_cast<std::size_t>(w)]; ++i)
                pool.push_back(w);
        std::shuffle(pool.begin(), pool.end(), rng);
        std::vector<std::size_t> next(static_cast<std::size_t>(P), 0);
        std::vector<fed> f;
        for (int w : pool)
            f.push_back({w, next[static_cast<std::size_t>(w)]++});
        out.push_back(f);
    }
    return out;
}

struct hub_result {
    recorder rec;
    run_totals totals;
    bool done = false;
};

/// Feeds `reports[w]` to a fresh hub in `order`.
hub_result feed(const run_config& c, const decomposition& d,
                const std::vector<std::vector<report>>& reports, const std::vector<fed>& order) {
    hub_result r;
    hub h(c, d, r.rec);
    for (const fed& f : order) {
        const report& rep = reports[static_cast<std::size_t>(f.worker)][f.index];
        h.absorb(rep.header, rep.body());
        EXPECT_FALSE(h.done() && &f != &order.back()) << "done before the last report";
    }
    r.done = h.done();
    r.totals = h.totals();
    return r;
}

/// Checks that flashes reach the observer in sample intervals: every flash with t <= t_k before
/// on_sample(k), none with t > t_k.
void expect_flashes_between_samples(const recorder& rec) {
    for (std::size_t i = 0; i < rec.flashes.size(); ++i) {
        const std::int64_t before = rec.flash_sample[i]; // samples 0..before-1 were emitted earlier
        if (before > 0) {
            EXPECT_GT(rec.flashes[i].t, rec.samples[static_cast<std::size_t>(before - 1)].t)
                << "flash " << rec.flashes[i].t << "/" << rec.flashes[i].agent
                << " reached the observer after sample " << before - 1 << " that it precedes";
        }
        if (static_cast<std::size_t>(before) < rec.samples.size()) {
            // the next sample comes after this flash: fine whatever its time, but a flash after
            // that sample's time must not come before it
            EXPECT_LE(rec.flashes[i].t, rec.samples[static_cast<std::size_t>(before)].t)
                << "flash " << rec.flashes[i].t << " reached the observer before sample " << before
                << " at " << rec.samples[static_cast<std::size_t>(before)].t;
        }
    }
}

// ---- hand-made reports of three one-cell workers ------------------------------------------------

constexpr tick_t MS = 1'000'000; // ticks per millisecond

run_config three_cells() {
    run_config c;
    c.width = 3;
    c.height = 1;
    c.period = 5.0;
    c.sample_every = 0.5;
    c.duration = 1.5;
    return c;
}

/// Worker w owns cell w. Flashes: cell 0 at 200 and 1300 ms, cell 1 at 500 (exactly on sample 1)
/// and 900 ms, cell 2 at 1100 and 1500 ms (exactly on the last sample). Worker 0 also sends a
/// flash-only report (through 300 ms) before sample 1.
const std::vector<std::vector<tick_t>> flash_ms = {{200, 1300}, {500, 900}, {1100, 1500}};

phasor_sum state_of(int w, std::int64_t k) {
    return phasor_sum::of(w * 1'000'000'000 + k * 300'000'000 + 7, 5'000'000'000);
}

std::vector<std::vector<report>> three_cell_reports() {
    const tick_t T = 5'000'000'000;
    std::vector<std::vector<report>> out(3);
    for (int w = 0; w < 3; ++w) {
        const auto& mine = flash_ms[static_cast<std::size_t>(w)];
        std::size_t next = 0;
        tick_t last = -1;
        std::int64_t flashed = 0;
        auto make = [&](report_kind kind, tick_t through, std::int64_t sample) {
            report r;
            r.header.worker = w;
            r.header.kind = kind;
            r.header.through = through;
            r.header.sample = sample;
            while (next < mine.size() && mine[next] * MS <= through) {
                r.events.push_back({mine[next] * MS, static_cast<std::uint64_t>(w)});
                r.previous.push_back(last);
                last = mine[next] * MS;
                flashed = 1;
                ++next;
            }
            r.header.events = static_cast<std::int64_t>(r.events.size());
            r.header.flashes = r.header.events;
            r.header.flash_sum = last >= 0 ? phasor_sum::of(-last, T) : phasor_sum{};
            r.header.flashed = flashed;
            if (kind == report_kind::sample) r.header.state = state_of(w, sample);
            return r;
        };
        for (std::int64_t k = 0; k <= 3; ++k) {
            if (w == 0 && k == 1) out[0].push_back(make(report_kind::flashes, 300 * MS, -1));
            out[static_cast<std::size_t>(w)].push_back(make(report_kind::sample, k * 500 * MS, k));
        }
        report fin = make(report_kind::final, 1500 * MS, -1);
        fin.header.flashes_total = static_cast<std::int64_t>(mine.size());
        fin.header.pulses_sent = 2 * fin.header.flashes_total;
        // the 1500 ms flash's pulses arrive after the end
        fin.header.pulses_in_flight = w == 2 ? 2 : 0;
        fin.header.pulses_delivered = fin.header.pulses_sent - fin.header.pulses_in_flight;
        fin.header.epochs = 151;
        out[static_cast<std::size_t>(w)].push_back(fin);
    }
    return out;
}

TEST(HubSamples, ThreeWorkersByHand) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    const auto res = feed(c, d, reports, interleavings({6, 5, 5}, 0)[2]);
    const auto& s = res.rec.samples;
    ASSERT_EQ(s.size(), 4u);
    const tick_t T = 5'000'000'000;
    const std::int64_t interval[] = {0, 2, 1, 3};
    std::int64_t so_far = 0;
    for (std::size_t k = 0; k < 4; ++k) {
        SCOPED_TRACE("sample " + std::to_string(k));
        EXPECT_EQ(s[k].index, static_cast<std::int64_t>(k));
        EXPECT_EQ(s[k].t, static_cast<tick_t>(k) * 500 * MS);
        EXPECT_EQ(s[k].flashes, interval[k]);
        so_far += interval[k];
        EXPECT_DOUBLE_EQ(s[k].pulse, static_cast<double>(so_far) / 3.0);
        // The seed's R from the last flash of each cell at t_k, denominator N = 3.
        phasor_sum fs;
        std::vector<double> block_R;
        for (int w = 0; w < 3; ++w) {
            tick_t last = -1;
            for (tick_t ms : flash_ms[static_cast<std::size_t>(w)])
                if (ms * MS <= s[k].t) last = ms * MS;
            const phasor_sum one = last >= 0 ? phasor_sum::of(-last, T) : phasor_sum{};
            fs += one;
            block_R.push_back(one.order(1));
        }
        EXPECT_EQ(s[k].R, fs.order(3));
        EXPECT_EQ(s[k].block_R, block_R);
        phasor_sum st;
        std::vector<double> block_R_state;
        for (int w = 0; w < 3; ++w) {
            st += state_of(w, static_cast<std::int64_t>(k));
            block_R_state.push_back(state_of(w, static_cast<std::int64_t>(k)).order(1));
        }
        EXPECT_EQ(s[k].R_state, st.order(3));
        EXPECT_EQ(s[k].block_R_state, block_R_state);
    }
    // By hand: sample 1 (t = 0.5 s) has cell 0 last flashed at 0.2 s and cell 1 at 0.5 s:
    // R = |exp(-i 2pi 0.04) + exp(-i 2pi 0.1)| / 3.
    EXPECT_NEAR(s[1].R,
                std::hypot(std::cos(2 * M_PI * 0.04) + std::cos(2 * M_PI * 0.1),
                           std::sin(2 * M_PI * 0.04) + std::sin(2 * M_PI * 0.1)) /
                    3.0,
                1e-9);
    EXPECT_EQ(s[0].R, 0.0) << "no firefly has flashed at t = 0";

    EXPECT_TRUE(res.done);
    const run_totals& t = res.totals;
    EXPECT_EQ(t.samples, 4);
    EXPECT_EQ(t.flashes_emitted, 6);
    EXPECT_EQ(t.flashes_received, 6);
    EXPECT_TRUE(t.flashes_balance());
    EXPECT_EQ(t.pulses_sent, 12);
    EXPECT_EQ(t.pulses_delivered, 10);
    EXPECT_EQ(t.pulses_in_flight, 2);
    EXPECT_TRUE(t.pulses_balance());
    EXPECT_EQ(t.order_mismatches, 0);
    EXPECT_FALSE(t.interrupted);
    EXPECT_EQ(t.reached, 1500 * MS);
    ASSERT_EQ(t.finals.size(), 3u);
    for (int w = 0; w < 3; ++w)
        EXPECT_EQ(t.finals[static_cast<std::size_t>(w)].worker, w);

    // Every flash exactly once, in its sample interval.
    EXPECT_EQ(res.rec.flashes.size(), 6u);
    expect_flashes_between_samples(res.rec);
}

TEST(HubSamples, SameSamplesForEveryInterleaving) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    const auto orders =
        interleavings({reports[0].size(), reports[1].size(), reports[2].size()}, 60);
    const auto first = feed(c, d, reports, orders[0]);
    ASSERT_EQ(first.rec.samples.size(), 4u);
    for (std::size_t o = 0; o < orders.size(); ++o) {
        SCOPED_TRACE("interleaving " + std::to_string(o));
        const auto res = feed(c, d, reports, orders[o]);
        ASSERT_EQ(res.rec.samples.size(), first.rec.samples.size());
        for (std::size_t k = 0; k < res.rec.samples.size(); ++k)
            EXPECT_TRUE(same_sample(res.rec.samples[k], first.rec.samples[k])) << "sample " << k;
        EXPECT_TRUE(res.done);
        EXPECT_EQ(res.totals.flashes_received, 6);
        EXPECT_EQ(res.totals.order_mismatches, 0);
        auto sorted = res.rec.flashes, want = first.rec.flashes;
        std::sort(sorted.begin(), sorted.end());
        std::sort(want.begin(), want.end());
        EXPECT_EQ(sorted, want);
        expect_flashes_between_samples(res.rec);
    }
}

TEST(HubFlow, WorkerFarAheadIsHeldUntilTheOthersCatchUp) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    recorder rec;
    hub h(c, d, rec);
    for (const report& r : reports[0])
        h.absorb(r.header, r.body());
    EXPECT_TRUE(rec.samples.empty());
    EXPECT_EQ(h.held(0), reports[0].size()) << "all of worker 0's reports wait behind its sample 0";
    EXPECT_EQ(h.held(1), 0u);
    EXPECT_EQ(h.next_sample(), 0);
    EXPECT_FALSE(h.done());
    // Worker 0's flashes up to its first sample (none) only; its later flashes wait.
    EXPECT_TRUE(rec.flashes.empty());
    // Worker 1 reaches sample 1, worker 2 sample 0: only sample 0 can be emitted.
    h.absorb(reports[1][0].header, reports[1][0].body());
    h.absorb(reports[1][1].header, reports[1][1].body());
    EXPECT_TRUE(rec.samples.empty());
    h.absorb(reports[2][0].header, reports[2][0].body());
    ASSERT_EQ(rec.samples.size(), 1u);
    EXPECT_EQ(h.next_sample(), 1);
    for (const auto& f : rec.flashes)
        EXPECT_LE(f.t, 500 * MS);
    // The rest of worker 2 and worker 1: everything comes out.
    for (std::size_t i = 1; i < reports[2].size(); ++i)
        h.absorb(reports[2][i].header, reports[2][i].body());
    EXPECT_EQ(rec.samples.size(), 2u) << "worker 1 has sent samples 0 and 1 only";
    for (std::size_t i = 2; i < reports[1].size(); ++i)
        h.absorb(reports[1][i].header, reports[1][i].body());
    EXPECT_EQ(rec.samples.size(), 4u);
    EXPECT_TRUE(h.done());
    for (int w = 0; w < 3; ++w)
        EXPECT_LE(h.held(w), 1u);
}

TEST(HubFlow, ThroughFollowsTheSlowestWorker) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    recorder rec;
    hub h(c, d, rec);
    for (const report& r : reports[0])
        h.absorb(r.header, r.body());
    for (const report& r : reports[1])
        h.absorb(r.header, r.body());
    EXPECT_LT(h.through(), 0) << "worker 2 has sent nothing";
    h.absorb(reports[2][0].header, reports[2][0].body()); // sample 0
    h.absorb(reports[2][1].header, reports[2][1].body()); // sample 1
    EXPECT_EQ(h.through(), 500 * MS);
    for (const auto& f : rec.flashes)
        EXPECT_LE(f.t, 1500 * MS);
    // every flash at or before through() has been passed on
    std::vector<flash_event> due;
    for (int w = 0; w < 3; ++w)
        for (tick_t ms : flash_ms[static_cast<std::size_t>(w)])
            if (ms * MS <= h.through()) due.push_back({ms * MS, static_cast<std::uint64_t>(w)});
    for (const auto& f : due)
        EXPECT_NE(std::find(rec.flashes.begin(), rec.flashes.end(), f), rec.flashes.end());
    EXPECT_EQ(h.flashes_received(), static_cast<std::int64_t>(rec.flashes.size()));
}

// ---- malformed reports ----------------------------------------------------------------------

TEST(HubMalformed, BadWorkerOrCountsThrow) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    auto reports = three_cell_reports();
    recorder rec;
    {
        hub h(c, d, rec);
        report_header bad = reports[0][0].header;
        bad.worker = 3;
        EXPECT_THROW(h.absorb(bad, {}), error);
        bad.worker = -1;
        EXPECT_THROW(h.absorb(bad, {}), error);
    }
    {
        hub h(c, d, rec);
        report_header bad = reports[0][1].header; // the flash-only report with one event
        ASSERT_EQ(bad.events, 1);
        EXPECT_THROW(h.absorb(bad, {}), error) << "header says 1 event, none given";
        bad.events = 0;
        EXPECT_THROW(h.absorb(bad, reports[0][1].body()), error) << "header says 0 events, 1 given";
        bad.events = 1;
        EXPECT_THROW(h.absorb(bad, {reports[0][1].events, {}, {}, {}}), error)
            << "1 event without its previous flash";
    }
    {
        hub h(c, d, rec);
        report_header bad = reports[0][0].header;
        bad.pixels = 2;
        EXPECT_THROW(h.absorb(bad, {}), error) << "header says 2 pixels, none given";
    }
    {
        hub h(c, d, rec);
        report_header bad = reports[0][0].header; // a sample report
        const std::vector<epoch_work> epochs(2);
        EXPECT_THROW(h.absorb(bad, {{}, {}, {}, epochs}), error)
            << "2 epoch records, header says none";
        bad.epoch_records = 2;
        EXPECT_THROW(h.absorb(bad, {{}, {}, {}, epochs}), error)
            << "epoch records on a report that is not final";
    }
}

TEST(HubMalformed, SkippedSampleThrows) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    recorder rec;
    hub h(c, d, rec);
    h.absorb(reports[0][0].header, reports[0][0].body());
    h.absorb(reports[1][0].header, reports[1][0].body());
    // worker 2 jumps to sample 1
    EXPECT_THROW(h.absorb(reports[2][1].header, reports[2][1].body()), error);
}

TEST(HubMalformed, FinalWhileOthersSampleThrows) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const auto reports = three_cell_reports();
    recorder rec;
    hub h(c, d, rec);
    h.absorb(reports[0][0].header, reports[0][0].body());
    h.absorb(reports[1][0].header, reports[1][0].body());
    EXPECT_THROW(h.absorb(reports[2].back().header, reports[2].back().body()), error);
}

// Malformed flash events (a firefly outside the grid, a previous flash not before the flash)
// must be rejected, not counted; run in a child process so that what happens there cannot harm
// the rest of the suite. The child exits 0 only if absorb() rejects the report with
// fireflies::error.
[[noreturn]] void absorb_one_flash_and_exit(const run_config& c, const decomposition& d,
                                            flash_event ev, tick_t previous = -1) {
    recorder rec;
    hub h(c, d, rec);
    report_header bad;
    bad.worker = 0;
    bad.kind = report_kind::sample;
    bad.sample = 0;
    bad.events = 1;
    bad.flashes = 1;
    try {
        h.absorb(
            bad,
            {std::span<const flash_event>(&ev, 1), std::span<const tick_t>(&previous, 1), {}, {}});
    } catch (const error&) {
        _exit(0);
    } catch (...) {
        _exit(2);
    }
    _exit(1);
}

TEST(HubMalformed, FlashOfUnknownFireflyThrows) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const flash_event far_outside{0, 1'000'000'000}; // agent far outside the 3-cell grid
    EXPECT_EXIT(absorb_one_flash_and_exit(c, d, far_outside), ::testing::ExitedWithCode(0), "")
        << "BUG: hub::take() accepts a flash of a firefly outside the grid";
}

TEST(HubMalformed, PreviousFlashNotBeforeTheFlashThrows) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    const flash_event ev{5 * MS, 0};
    for (const tick_t previous : {tick_t{5 * MS}, tick_t{6 * MS}, tick_t{-2}})
        EXPECT_EXIT(absorb_one_flash_and_exit(c, d, ev, previous), ::testing::ExitedWithCode(0), "")
            << "previous flash at " << previous << " ns accepted for a flash at " << ev.t;
}

TEST(HubMalformed, FlashEventsInSummaryTelemetryThrow) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    run_config c = three_cells();
    c.telemetry = telemetry_mode::summary;
    const decomposition d(3, 1, 3);
    const flash_event ev{0, 0};
    EXPECT_EXIT(absorb_one_flash_and_exit(c, d, ev), ::testing::ExitedWithCode(0), "")
        << "BUG: in summary telemetry hub::take() counts flash events it should not get";
}

TEST(HubMalformed, FlashOutsideTheRecordRegionInSummaryTelemetryThrows) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    run_config c = three_cells();
    c.telemetry = telemetry_mode::summary;
    c.record_flashes = true;
    c.record_region = {1, 0, 1, 1};
    const decomposition d(3, 1, 3);
    EXPECT_EXIT(absorb_one_flash_and_exit(c, d, flash_event{0, 2}), ::testing::ExitedWithCode(0),
                "")
        << "BUG: hub::take_region() passes on a flash outside the --record-region";
}

// ---- real reports: block_simulation workers against the reference
// --------------------------------

run_config real_config(refractory_mode m, telemetry_mode tm) {
    run_config c;
    c.width = 7;
    c.height = 5;
    c.mode = m;
    c.telemetry = tm;
    c.engine = engine_kind::flat;
    c.period = 20e-9;
    c.nudge = 3e-9;
    c.refractory = 0.25;
    c.delay = 2e-9;
    c.jitter = 4e-9;
    c.duration = 600e-9;
    c.sample_every = 7e-9;
    c.seed = 21;
    return c;
}

std::vector<std::vector<report>> reports_of(const std::vector<testkit::worker_run>& runs) {
    std::vector<std::vector<report>> out;
    for (const auto& r : runs)
        out.push_back(r.reports);
    return out;
}

std::vector<std::size_t> sizes(const std::vector<std::vector<report>>& reports) {
    std::vector<std::size_t> out;
    for (const auto& r : reports)
        out.push_back(r.size());
    return out;
}

TEST(HubRealReports, SamplesMatchTheReferenceForEveryInterleaving) {
    for (auto m : {refractory_mode::drop, refractory_mode::queue}) {
        const run_config c = real_config(m, telemetry_mode::events);
        const decomposition d(c.width, c.height, 3);
        const auto reports = reports_of(testkit::run_workers(c, d));
        const auto ref = reference::run(c, to_ticks(c.duration), &d);
        const tick_t T = to_ticks(c.period);
        const std::int64_t N = c.width * c.height;
        const block all{0, 0, c.width, c.height};

        const auto orders = interleavings(sizes(reports), 8);
        const auto first = feed(c, d, reports, orders[0]);
        const auto& s = first.rec.samples;
        ASSERT_EQ(s.size(), ref.samples.size());
        std::int64_t previous = 0;
        for (std::size_t k = 0; k < s.size(); ++k) {
            SCOPED_TRACE("sample " + std::to_string(k));
            const auto& snap = ref.samples[k];
            EXPECT_EQ(s[k].t, snap.t);
            EXPECT_EQ(s[k].R_state, reference::state_sum(snap, all, c.width, T).order(N));
            EXPECT_EQ(s[k].R, reference::flash_sum(snap, all, c.width, T).first.order(N));
            EXPECT_EQ(s[k].flashes, snap.flashes - previous);
            EXPECT_DOUBLE_EQ(s[k].pulse,
                             static_cast<double>(snap.flashes) / static_cast<double>(N));
            previous = snap.flashes;
            ASSERT_EQ(s[k].block_R.size(), 3u);
            for (int w = 0; w < 3; ++w) {
                const block& b = d.block_of(w);
                EXPECT_EQ(s[k].block_R_state[static_cast<std::size_t>(w)],
                          reference::state_sum(snap, b, c.width, T).order(b.cells()));
                EXPECT_EQ(s[k].block_R[static_cast<std::size_t>(w)],
                          reference::flash_sum(snap, b, c.width, T).first.order(b.cells()));
            }
        }
        EXPECT_TRUE(first.done);
        const run_totals& t = first.totals;
        EXPECT_EQ(t.flashes_emitted, static_cast<std::int64_t>(ref.flashes.size()));
        EXPECT_EQ(t.flashes_received, t.flashes_emitted);
        EXPECT_EQ(t.pulses_sent, ref.pulses_sent);
        EXPECT_EQ(t.pulses_delivered, ref.pulses_delivered);
        EXPECT_EQ(t.pulses_in_flight, ref.pulses_in_flight);
        EXPECT_TRUE(t.pulses_balance());
        EXPECT_EQ(t.order_mismatches, 0);
        EXPECT_EQ(t.reached, to_ticks(c.duration));
        auto flashes = first.rec.flashes;
        std::sort(flashes.begin(), flashes.end());
        EXPECT_TRUE(flashes == ref.flashes);
        expect_flashes_between_samples(first.rec);

        for (std::size_t o = 1; o < orders.size(); ++o) {
            const auto res = feed(c, d, reports, orders[o]);
            ASSERT_EQ(res.rec.samples.size(), s.size()) << "interleaving " << o;
            for (std::size_t k = 0; k < s.size(); ++k)
                ASSERT_TRUE(same_sample(res.rec.samples[k], s[k]))
                    << "interleaving " << o << " sample " << k;
            EXPECT_EQ(res.totals.flashes_received, t.flashes_received);
            expect_flashes_between_samples(res.rec);
        }
    }
}

TEST(HubRealReports, SameSeriesForEveryWorkerCount) {
    // R, R_state, flashes and pulse bitwise the same for 1, 2, 3, 5, 7 and 35 workers.
    const run_config c = real_config(refractory_mode::drop, telemetry_mode::events);
    std::vector<sample> first;
    for (int P : {1, 2, 3, 5, 7, 35}) {
        const decomposition d(c.width, c.height, P);
        const auto reports = reports_of(testkit::run_workers(c, d));
        const auto res = feed(c, d, reports, interleavings(sizes(reports), 0)[2]);
        ASSERT_FALSE(res.rec.samples.empty());
        if (first.empty()) {
            first = res.rec.samples;
            continue;
        }
        ASSERT_EQ(res.rec.samples.size(), first.size()) << P;
        for (std::size_t k = 0; k < first.size(); ++k) {
            const sample &a = res.rec.samples[k], &b = first[k];
            ASSERT_TRUE(a.R == b.R && a.R_state == b.R_state && a.flashes == b.flashes &&
                        a.pulse == b.pulse && a.t == b.t)
                << P << " workers, sample " << k;
            ASSERT_EQ(a.block_R.size(), static_cast<std::size_t>(P));
        }
    }
}

TEST(HubTelemetry, SummaryGivesTheSameSeriesAsEvents) {
    for (auto m : {refractory_mode::drop, refractory_mode::queue})
        for (int P : {1, 3, 4}) {
            const run_config ev = real_config(m, telemetry_mode::events);
            const run_config sum = real_config(m, telemetry_mode::summary);
            const decomposition d(ev.width, ev.height, P);
            const auto re = reports_of(testkit::run_workers(ev, d));
            const auto rs = reports_of(testkit::run_workers(sum, d));
            for (const auto& w : rs)
                for (const auto& r : w)
                    ASSERT_TRUE(r.events.empty());
            const auto a = feed(ev, d, re, interleavings(sizes(re), 0)[2]);
            for (const auto& order : interleavings(sizes(rs), 3)) {
                const auto b = feed(sum, d, rs, order);
                expect_summary_series(a.rec.samples, b.rec.samples, P);
                for (const sample& s : a.rec.samples) {
                    EXPECT_GE(s.largest_volley, 0) << "events telemetry: known";
                    EXPECT_LE(s.largest_volley, s.flashes);
                }
                EXPECT_EQ(b.totals.time_to_sync, a.totals.time_to_sync);
                EXPECT_TRUE(b.rec.flashes.empty()) << "no flash events in summary telemetry";
                EXPECT_TRUE(b.done);
                EXPECT_EQ(b.totals.flashes_received, a.totals.flashes_received);
                EXPECT_EQ(b.totals.flashes_emitted, a.totals.flashes_emitted);
                EXPECT_TRUE(b.totals.flashes_balance());
                EXPECT_TRUE(b.totals.pulses_balance());
                EXPECT_EQ(b.totals.samples, a.totals.samples);
            }
        }
}

TEST(HubTelemetry, SummaryCarriesTheRecordRegionsFlashes) {
    // Workers in summary telemetry send only the region's flashes; the hub passes them on, and
    // they are the events run's flashes in the region; the series stay those of summary.
    const grid_region region{2, 1, 3, 3};
    auto inside = [&](const flash_event& f) {
        return region.contains(static_cast<std::int64_t>(f.agent) % 7,
                               static_cast<std::int64_t>(f.agent) / 7);
    };
    for (int P : {1, 3, 4}) {
        const run_config ev = real_config(refractory_mode::drop, telemetry_mode::events);
        run_config sum = real_config(refractory_mode::drop, telemetry_mode::summary);
        sum.record_flashes = true;
        sum.record_region = region;
        const decomposition d(ev.width, ev.height, P);
        const auto re = reports_of(testkit::run_workers(ev, d));
        const auto rs = reports_of(testkit::run_workers(sum, d));
        const auto a = feed(ev, d, re, interleavings(sizes(re), 0)[2]);
        std::vector<flash_event> want;
        std::copy_if(a.rec.flashes.begin(), a.rec.flashes.end(), std::back_inserter(want), inside);
        std::sort(want.begin(), want.end());
        ASSERT_GT(want.size(), 10u);
        ASSERT_LT(want.size(), a.rec.flashes.size());
        for (const auto& order : interleavings(sizes(rs), 2)) {
            const auto b = feed(sum, d, rs, order);
            std::vector<flash_event> got = b.rec.flashes;
            std::sort(got.begin(), got.end());
            EXPECT_EQ(got, want) << P << " workers";
            expect_flashes_between_samples(b.rec);
            expect_summary_series(a.rec.samples, b.rec.samples, P);
            EXPECT_TRUE(b.totals.flashes_balance());
        }
    }
}

TEST(HubRealReports, InterruptedRunEndsWithTheStop) {
    const run_config c = real_config(refractory_mode::queue, telemetry_mode::events);
    const decomposition d(c.width, c.height, 3);
    const auto reports = reports_of(testkit::run_workers(c, d, 10)); // stop at the 11th boundary
    const auto res = feed(c, d, reports, interleavings(sizes(reports), 0)[0]);
    std::int64_t sent = 0; // samples the workers took before they stopped
    for (const auto& r : reports[0])
        sent += r.header.kind == report_kind::sample;
    ASSERT_GT(sent, 0);
    EXPECT_TRUE(res.done);
    EXPECT_TRUE(res.totals.interrupted);
    EXPECT_EQ(res.totals.samples, sent);
    EXPECT_EQ(res.rec.samples.size(), static_cast<std::size_t>(sent));
    EXPECT_TRUE(res.totals.flashes_balance());
    EXPECT_TRUE(res.totals.pulses_balance());
    EXPECT_LT(res.totals.reached, to_ticks(c.duration));
    EXPECT_GE(res.totals.reached, res.rec.samples.back().t);
}

// ---- checkpoint and restart -----------------------------------------------------------------

TEST(HubCheckpoint, RestartGivesTheSameSeriesAndTotals) {
    for (auto tm : {telemetry_mode::events, telemetry_mode::summary})
        for (auto m : {refractory_mode::drop, refractory_mode::queue}) {
            SCOPED_TRACE(std::string(tm == telemetry_mode::events ? "events " : "summary ") +
                         (m == refractory_mode::drop ? "drop" : "queue"));
            const run_config plain = real_config(m, tm);
            run_config saving = plain;
            saving.checkpoint = "unit-test-checkpoint.h5";
            const decomposition d(plain.width, plain.height, 3);

            // The uninterrupted run.
            const auto a = reports_of(testkit::run_workers(plain, d));
            const auto ra = feed(plain, d, a, interleavings(sizes(a), 0)[2]);
            ASSERT_TRUE(ra.done);

            // Stopped with a checkpoint after sample 12.
            const auto b1_runs = testkit::run_workers(saving, d, 12);
            const auto b1 = reports_of(b1_runs);
            recorder rec1;
            hub h1(saving, d, rec1);
            checkpoint_meta meta;
            bool saw_checkpoint = false;
            const auto b1_orders = interleavings(sizes(b1), 0);
            for (const fed& f : b1_orders[0]) {
                const report& rep = b1[static_cast<std::size_t>(f.worker)][f.index];
                h1.absorb(rep.header, rep.body());
                if (h1.checkpoint_ready()) {
                    ASSERT_FALSE(saw_checkpoint);
                    saw_checkpoint = true;
                    meta = h1.checkpoint_state();
                    h1.checkpoint_done();
                }
            }
            ASSERT_TRUE(saw_checkpoint);
            ASSERT_TRUE(h1.done());
            EXPECT_TRUE(h1.totals().interrupted);
            EXPECT_TRUE(h1.totals().checkpointed);
            std::int64_t before = 0; // samples worker 0 took before its checkpoint report
            for (const auto& r : b1[0]) {
                if (r.header.kind == report_kind::checkpoint) break;
                before += r.header.kind == report_kind::sample;
            }
            ASSERT_GT(before, 0);
            EXPECT_EQ(meta.next_sample, before);
            EXPECT_EQ(rec1.samples.size(), static_cast<std::size_t>(before));
            for (std::size_t k = 0; k < rec1.samples.size(); ++k)
                EXPECT_TRUE(same_sample(rec1.samples[k], ra.rec.samples[k]))
                    << "sample " << k << " before the stop";

            // Restart: a fresh hub from the meta and the blocks, the workers from their blocks.
            std::vector<block_state> blocks;
            std::vector<flash_event> in_flight;
            for (const auto& r : b1_runs) {
                ASSERT_EQ(r.blocks.size(), 1u);
                blocks.push_back(block_state::unpack(r.blocks[0]));
                in_flight.insert(in_flight.end(), blocks.back().in_flight.begin(),
                                 blocks.back().in_flight.end());
            }
            const auto b2 = reports_of(testkit::run_workers(plain, d, -1, [&](int w) {
                block_state b = blocks[static_cast<std::size_t>(w)];
                b.in_flight = in_flight;
                return std::make_unique<block_simulation>(plain, d, w, std::move(b), meta.epoch,
                                                          meta.next_sample);
            }));
            for (const auto& order : interleavings(sizes(b2), 2)) {
                recorder rec2;
                hub h2(plain, d, rec2);
                // The time-to-sync rule from the samples written before the stop, as rank 0
                // rebuilds it from the output.
                sync_tracker rule(plain.sync_threshold, to_ticks(plain.period),
                                  to_ticks(plain.sample_every));
                for (const sample& s : rec1.samples)
                    rule.add(s.index, s.R_state);
                h2.restore(meta, rule.get());
                for (const auto& b : blocks)
                    h2.restore_block(b);
                for (const fed& f : order) {
                    const report& rep = b2[static_cast<std::size_t>(f.worker)][f.index];
                    h2.absorb(rep.header, rep.body());
                }
                ASSERT_TRUE(h2.done());
                ASSERT_EQ(rec1.samples.size() + rec2.samples.size(), ra.rec.samples.size());
                for (std::size_t k = 0; k < rec2.samples.size(); ++k)
                    EXPECT_TRUE(
                        same_sample(rec2.samples[k], ra.rec.samples[rec1.samples.size() + k]))
                        << "sample " << rec1.samples.size() + k << " after the restart";
                const run_totals &t2 = h2.totals(), &ta = ra.totals;
                EXPECT_EQ(t2.flashes_emitted, ta.flashes_emitted);
                EXPECT_EQ(t2.flashes_received, ta.flashes_received);
                EXPECT_EQ(t2.pulses_sent, ta.pulses_sent);
                EXPECT_EQ(t2.pulses_delivered, ta.pulses_delivered);
                EXPECT_EQ(t2.pulses_in_flight, ta.pulses_in_flight);
                EXPECT_TRUE(t2.flashes_balance());
                EXPECT_TRUE(t2.pulses_balance());
                EXPECT_EQ(t2.order_mismatches, 0);
                EXPECT_EQ(t2.reached, ta.reached);
                EXPECT_EQ(t2.time_to_sync, ta.time_to_sync);
                EXPECT_FALSE(t2.interrupted);
                EXPECT_EQ(static_cast<std::int64_t>(rec1.flashes.size() + rec2.flashes.size()),
                          tm == telemetry_mode::events ? ta.flashes_received : 0);
            }
        }
}

TEST(HubCheckpoint, NoCheckpointPendingThrows) {
    const run_config c = three_cells();
    const decomposition d(3, 1, 3);
    recorder rec;
    hub h(c, d, rec);
    EXPECT_FALSE(h.checkpoint_ready());
    EXPECT_THROW(h.checkpoint_state(), error);
}

} // namespace
