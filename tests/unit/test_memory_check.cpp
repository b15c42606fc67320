// The memory check adds up the needs of the ranks that share a node.
#include <gtest/gtest.h>

#include "app/memory_check.hpp"
#include "fireflies/error.hpp"

using namespace fireflies;

namespace {

run_config grid(std::int64_t w, std::int64_t h) {
    run_config c;
    c.width = w;
    c.height = h;
    return c;
}

// `ranks` ranks, rank r on node r / per_node, each node with `available` bytes.
node_map nodes(int ranks, int per_node, double available) {
    node_map m;
    for (int r = 0; r < ranks; ++r)
        m.node_of_rank.push_back(r / per_node);
    for (int n = 0; n * per_node < ranks; ++n) {
        m.names.push_back("node" + std::to_string(n));
        m.available.push_back(available);
    }
    return m;
}

std::string refusal(const run_config& c, int ranks, const node_map& m) {
    const decomposition d(c.width, c.height, ranks == 1 ? 1 : ranks - 1);
    try {
        check_memory(c, d, ranks, m);
    } catch (const usage_error& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(MemoryCheck, RanksOnOneNodeAddUp) {
    // 8 workers of 1000 x 1000 each: ~0.1 GiB apiece, ~0.8 GiB on one node.
    const run_config c = grid(8000, 1000);
    const double one_worker = memory_estimate::rank_bytes(c, decomposition(8000, 1000, 8), 9, 1);
    EXPECT_GT(one_worker, 1000.0 * 1000 * memory_estimate::worker_per_firefly);
    const double available = 5 * one_worker; // room for 5 of the 9 ranks' workers
    const std::string all_on_one = refusal(c, 9, nodes(9, 9, available));
    EXPECT_NE(all_on_one.find("node0"), std::string::npos) << all_on_one;
    EXPECT_NE(all_on_one.find("9 of the 9 ranks"), std::string::npos) << all_on_one;
    EXPECT_NE(all_on_one.find("--width/--height"), std::string::npos) << all_on_one;
    // The same ranks on three nodes (3 + 3 + 3) fit.
    EXPECT_EQ(refusal(c, 9, nodes(9, 3, available)), "");
}

TEST(MemoryCheck, OneProcessHoldsHubAndWorker) {
    const run_config c = grid(1000, 1000);
    const decomposition d(1000, 1000, 1);
    EXPECT_DOUBLE_EQ(memory_estimate::rank_bytes(c, d, 1, 0),
                     memory_estimate::hub_fixed + memory_estimate::worker_fixed +
                         1e6 * memory_estimate::worker_per_firefly +
                         memory_estimate::volley_bytes(c));
    EXPECT_NEAR(memory_estimate::volley_bytes(c), 1e6 * 1.25 * 0.1 * memory_estimate::volley_flash,
                1.0)
        << "the hub holds a sample interval's flash times (a tenth of a period's) for the largest "
           "volley";
    run_config summary = c;
    summary.telemetry = telemetry_mode::summary;
    summary.telemetry_auto = false;
    EXPECT_EQ(memory_estimate::volley_bytes(summary), 0.0) << "summary telemetry sends no flashes";
    // --telemetry auto picks summary for a big run, whose hub then holds no flash times.
    const run_config big = grid(100000, 100000);
    EXPECT_EQ(memory_estimate::volley_bytes(big, 4096), 0.0);
    EXPECT_NE(refusal(c, 1, nodes(1, 1, memory_estimate::hub_fixed)), "");
    EXPECT_EQ(refusal(c, 1, nodes(1, 1, 1e12)), "");
}

TEST(MemoryCheck, RecordingWholeGridNamesTheOption) {
    run_config c = grid(20000, 20000);
    const double without = memory_estimate::rank_bytes(c, decomposition(20000, 20000, 64), 65, 0);
    c.record_flashes = true;
    const double with = memory_estimate::rank_bytes(c, decomposition(20000, 20000, 64), 65, 0);
    // a tenth of a period's flashes at least
    EXPECT_GT(with - without, 4e8 * 0.1 * memory_estimate::recorded_flash);
    // Each worker on a node of its own; the hub's node has room for the hub but not the recording.
    const std::string why = refusal(c, 65, nodes(65, 1, without + (with - without) / 2));
    EXPECT_EQ(why.rfind("--record-flashes", 0), 0u) << why;
    EXPECT_NE(why.find("node0"), std::string::npos) << why;
}

TEST(MemoryCheck, UnknownAvailableMemoryPasses) {
    EXPECT_EQ(refusal(grid(100000, 100000), 3, nodes(3, 3, 0)), "");
}

TEST(MemoryCheck, RecordRegionHoldsOnlyItsFlashes) {
    run_config c = grid(20000, 20000);
    c.record_flashes = true;
    const double whole = memory_estimate::recording_bytes(c);
    c.record_region = {100, 200, 400, 100};
    EXPECT_NEAR(memory_estimate::recording_bytes(c), whole * (400.0 * 100.0) / 4e8, 1.0);
    // 64 workers: whole-grid recording forces events telemetry (the volley's flash times too);
    // a region's flashes travel in summary telemetry, so only they are held.
    EXPECT_NEAR(memory_estimate::recording_share(c, 64), memory_estimate::recording_bytes(c), 1.0);
    run_config all = grid(20000, 20000);
    all.record_flashes = true;
    EXPECT_GT(memory_estimate::recording_share(all, 64), whole);
    // Each rank on a node of its own, rank 0's with room for the hub and a little more.
    const node_map m = nodes(65, 1, memory_estimate::hub_fixed + 1e9);
    const std::string why = refusal(all, 65, m);
    EXPECT_EQ(why.rfind("--record-flashes", 0), 0u) << why;
    EXPECT_NE(why.find("--record-region"), std::string::npos)
        << "the refusal says what to do instead: " << why;
    EXPECT_EQ(refusal(c, 65, m), "") << "the region's flashes fit where the whole grid's do not";
    run_config big = c;
    big.record_region = {0, 0, 20000, 20000};
    EXPECT_EQ(refusal(big, 65, m).rfind("--record-region", 0), 0u) << refusal(big, 65, m);
}
