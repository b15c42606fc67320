// What a --restart must keep (the settings table's `on_restart` column) and how a difference is
// refused: config::check_restart, which app/program.cpp calls with the checkpoint's settings.
#include "config/cli.hpp"
#include "config/settings.hpp"

#include "fireflies/config.hpp"
#include "fireflies/error.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace fireflies::config {
namespace {

TEST(ConfigRestart, EverySettingHasAnExplicitDecision) {
    // 0 is neither: a row written without one reads as 0 (and no longer compiles, as `restart`
    // sits between `kind` and `read`).
    for (const auto& s : settings())
        EXPECT_TRUE(s.restart == on_restart::must_match || s.restart == on_restart::may_differ)
            << "setting '" << s.name << "' says nothing about --restart";
}

TEST(ConfigRestart, TheDecisionsAreTheOnesRestartsHadBefore) {
    // The list app/program.cpp checked by hand before the table said it (the grid as one, the
    // "output layout" as one), and output, which a restart takes from the checkpoint when not
    // given. Everything else (duration, telemetry, engine, force, progress, visualize, speed,
    // the checkpoint options) may differ.
    const std::set<std::string_view> before{
        "width", "height", "period", "nudge", "refractory", "refractory-mode", "delay", "jitter",
        "seed", "sample-every", "partitioned", "record-flashes", "output", "snapshot-max",
        "snapshot-every",
        // which fireflies' flashes /flashes holds (one file, one region)
        "record-region",
        // the model families (docs/model.md), each part of the run a checkpoint continues
        "prc-dissipation", "period-spread", "period-distribution", "initial-phases", "boundary",
        "neighbourhood", "radius", "coupling", "pacemaker",
        // the largest volley's window decides what /timeseries/largest_volley means, so one file
        // keeps one window; the time to sync is recomputed from the series on a restart, so
        // --sync-threshold (and --stop-when-synced) may change
        "volley-window"};
    std::set<std::string_view> now;
    for (const auto& s : settings())
        if (s.restart == on_restart::must_match) now.insert(s.name);
    EXPECT_EQ(now, before);
}

/// `c` with setting `s` set to another value that it reads (not necessarily a valid run).
std::optional<run_config> with_other_value(const setting& s, const run_config& c) {
    if (s.read_list) { // a list: one item, or two
        for (const std::vector<std::string>& items :
             {std::vector<std::string>{"1,2"}, {"7,7,0.25", "0,1"}}) {
            run_config other = c;
            if (s.read_list(other, items).empty() && !s.same(c, other)) return other;
        }
        return std::nullopt;
    }
    for (const char* text : {"7", "0.25", "drop", "queue", "events", "summary", "coroutine", "flat",
                             "true", "false", "normal", "uniform", "periodic", "open", "moore",
                             "von-neumann", "1,2,3,4", "lattice", "all-to-all"}) {
        run_config other = c;
        if (s.read(other, text).empty() && !s.same(c, other)) return other;
    }
    return std::nullopt;
}

/// A run unlike the defaults in every setting, as a checkpoint might hold it.
run_config saved_run() {
    run_config c;
    c.width = 48;
    c.height = 32;
    c.duration = 60;
    c.period = 0.1 + 0.2;
    c.nudge = 1e-9;
    c.refractory = 0.7;
    c.mode = refractory_mode::queue;
    c.delay = 1e-9;
    c.jitter = 0;
    c.sample_every = 5e-3;
    c.seed = std::numeric_limits<std::uint64_t>::max();
    c.partitioned = true;
    c.dissipation = 2.5;
    c.period_spread = 0.01;
    c.period_dist = period_distribution::uniform;
    c.initial_phases = "start phases.h5";
    c.boundary = boundary_kind::open;
    c.neighbourhood = neighbourhood_kind::von_neumann;
    c.radius = 3;
    c.coupling = coupling_kind::all_to_all;
    c.pacemakers = {{3, 4, 0}, {0, 0, 2.5}};
    c.output = "dir with space/\"run\".h5";
    c.force = true;
    c.progress = true;
    c.telemetry = telemetry_mode::summary;
    c.engine = engine_kind::flat;
    c.snapshot_every = 1;
    c.snapshot_max = 64;
    c.record_region = {2, 3, 40, 20};
    c.speed = 2;
    c.checkpoint = "run.ckpt";
    c.checkpoint_every = 10;
    c.restart = "old.ckpt";
    c.sync_threshold = 0.9;
    c.stop_when_synced = true;
    c.volley_window = 0.125;
    return c;
}

TEST(ConfigRestart, EachMustMatchSettingThatDiffersIsRefusedNamingItAndBothValues) {
    const run_config saved = saved_run();
    int refused = 0;
    for (const auto& s : settings()) {
        const auto now = with_other_value(s, saved);
        ASSERT_TRUE(now) << s.name;
        if (s.restart == on_restart::may_differ) {
            EXPECT_NO_THROW(check_restart(saved, *now, "run.ckpt")) << s.name;
            continue;
        }
        ++refused;
        try {
            check_restart(saved, *now, "run.ckpt");
            ADD_FAILURE() << "a restart with another " << s.name << " is not refused";
        } catch (const usage_error& e) {
            EXPECT_EQ(e.what(), "--restart run.ckpt: the checkpoint has " + std::string(s.name) +
                                    " = " + s.write(saved) + ", this run asks for " +
                                    s.write(*now));
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(refused, 26);
}

TEST(ConfigRestart, MessagesShowTheValuesAsTheConfigFileWritesThem) {
    auto message = [](const run_config& saved, const run_config& now) -> std::string {
        try {
            check_restart(saved, now, "run.ckpt");
        } catch (const usage_error& e) {
            return e.what();
        }
        return "<no error>";
    };
    run_config saved, now;
    now.seed = 8;
    saved.seed = 7;
    EXPECT_EQ(message(saved, now),
              "--restart run.ckpt: the checkpoint has seed = 7, this run asks for 8");
    now.period = 1e-9; // std::to_string gave 0.000000 here
    EXPECT_EQ(message(saved, now),
              "--restart run.ckpt: the checkpoint has period = 5.0, this run asks for 1e-09");
    now = saved;
    now.output = "b.h5";
    EXPECT_EQ(message(saved, now),
              "--restart run.ckpt: the checkpoint has output = \"\", this run asks for \"b.h5\"");
    now = saved;
    now.mode = refractory_mode::queue;
    now.width = 48;
    EXPECT_EQ(message(saved, now), // the first in table order
              "--restart run.ckpt: the checkpoint has width = 30, this run asks for 48");
    // Equal as numbers is the same, as before: -0 and 0.
    now = saved;
    now.nudge = -0.0;
    saved.nudge = 0.0;
    EXPECT_EQ(message(saved, now), "<no error>");
    EXPECT_EQ(message(saved_run(), saved_run()), "<no error>");
}

} // namespace
} // namespace fireflies::config
