// --telemetry auto: events while the hub can absorb them, summary past that.
#include <gtest/gtest.h>

#include "app/telemetry_choice.hpp"

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
