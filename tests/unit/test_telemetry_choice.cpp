// --telemetry auto: events while the hub can absorb them, summary past that; and the cadence
// the program gives the workers (cadence_of).
#include <gtest/gtest.h>

#include "app/program.hpp"
#include "app/telemetry_choice.hpp"
#include "fireflies/block_simulation.hpp"
#include "fireflies/time.hpp"

using namespace fireflies;

TEST(TelemetryChoice, EventsForAWorkstationSummaryPastTheHub) {
    run_config c; // period 5 s: a worker sends ~4e6 flash events per wall second
    EXPECT_TRUE(c.telemetry_auto);
    const std::string note = choose_telemetry(c, 7);
    EXPECT_EQ(c.telemetry, telemetry_mode::events);
    EXPECT_FALSE(c.telemetry_auto);
    EXPECT_NE(note.find("within the hub"), std::string::npos) << note;

    run_config big;
    const int past = static_cast<int>(telemetry_capacity::hub_events * big.period /
                                      telemetry_capacity::worker_rate) +
                     1;
    const std::string why = choose_telemetry(big, past);
    EXPECT_EQ(big.telemetry, telemetry_mode::summary) << why;
    EXPECT_NE(why.find("more than the hub"), std::string::npos) << why;
    run_config edge;
    choose_telemetry(edge, past - 1);
    EXPECT_EQ(edge.telemetry, telemetry_mode::events);
}

TEST(TelemetryChoice, PacingAndFlashRecordingKeepEvents) {
    run_config paced; // a paced run sends at most the grid's flashes per wall second
    paced.speed = 1;
    choose_telemetry(paced, 4000);
    EXPECT_EQ(paced.telemetry, telemetry_mode::events);
    run_config recorded;
    recorded.record_flashes = true;
    EXPECT_NE(choose_telemetry(recorded, 4000).find("--record-flashes"), std::string::npos);
    EXPECT_EQ(recorded.telemetry, telemetry_mode::events);
}

TEST(TelemetryChoice, AnExplicitModeIsKept) {
    run_config c;
    c.telemetry_auto = false;
    c.telemetry = telemetry_mode::events;
    EXPECT_EQ(choose_telemetry(c, 4000), "");
    EXPECT_EQ(c.telemetry, telemetry_mode::events);
}

// What the workers' loops are told besides the model (block_simulation::run): the program
// decides it from the options, the loop reads none of them.
TEST(WorkerCadence, FromTheOptions) {
    const worker_cadence plain = cadence_of(run_config{});
    EXPECT_EQ(plain.speed, 0.0) << "unpaced";
    EXPECT_EQ(plain.report_every, 0) << "no live view: flashes with the samples only";
    EXPECT_FALSE(plain.checkpoints);
    EXPECT_EQ(plain.checkpoint_every, 0);

    run_config viewed;
    viewed.visualize = true; // at the view's own pace, 1 simulated second per wall second
    const worker_cadence v = cadence_of(viewed);
    EXPECT_EQ(v.speed, 1.0);
    EXPECT_EQ(v.report_every, to_ticks(1.0 / 60)) << "60 frames per wall second";
    viewed.speed = 1e-12; // a frame's worth of simulated time below one tick: every tick
    EXPECT_EQ(cadence_of(viewed).report_every, 1);

    run_config paced;
    paced.speed = 4;
    EXPECT_EQ(cadence_of(paced).speed, 4.0);
    EXPECT_EQ(cadence_of(paced).report_every, 0) << "pace alone asks for no frames";

    run_config saved;
    saved.checkpoint = "run.ckpt";
    EXPECT_TRUE(cadence_of(saved).checkpoints);
    EXPECT_EQ(cadence_of(saved).checkpoint_every, 0) << "on a signal only";
    saved.checkpoint_every = 2.5;
    EXPECT_EQ(cadence_of(saved).checkpoint_every, to_ticks(2.5));
}
