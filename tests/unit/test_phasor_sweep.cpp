// The vectorised per-sample sweep must give exactly the integers phase_circle::of gives.
#include <gtest/gtest.h>

#include <vector>

#include "fireflies/order_parameter.hpp"
#include "fireflies/random.hpp"

using namespace fireflies;

TEST(PhasorSweep, EqualsTermByTermSum) {
    for (const tick_t period : {tick_t{5'000'000'000}, tick_t{7}, tick_t{1'000'003}}) {
        const phase_circle circle(period);
        std::vector<double> turns;
        phasor_sum expected;
        for (std::uint64_t i = 0; i < 20000; ++i) {
            tick_t phase = uniform_below(random_bits(42, i, 0), period);
            if (i < 8) phase = (period / 4) * static_cast<tick_t>(i % 4) + (i >= 4 ? 1 : 0); // quadrant edges
            turns.push_back(static_cast<double>(phase) / static_cast<double>(period));
            expected += circle.of(phase);
        }
        EXPECT_EQ(phase_circle::sum_of_turns(turns.data(), turns.size()), expected) << "period " << period;
    }
}

TEST(PhasorSweep, EmptyIsZero) {
    EXPECT_EQ(phase_circle::sum_of_turns(nullptr, 0), phasor_sum{});
}
