// pulse_moore and moore_before (scheduler/moore_lanes.hpp): the eight pulses of a flash four
// flash times at a time, against the rules one firefly at a time (firefly_rules: acts_before,
// absorb), on every interior cell of small blocks (whose rows overlap in a block 3 or 4 cells
// wide, and whose last interior cell reads up to the block's last cell), with flash times on
// every edge of the rules' comparisons, with a nudge of 200 ticks and of 1.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#include "fireflies/firefly.hpp"
#include "scheduler/moore_lanes.hpp"

using namespace fireflies;

namespace {

using rules_t = fixed_firefly_rules<refractory_mode::drop, false>;

model_params params(tick_t nudge) {
    model_params p;
    p.period = 5000;
    p.nudge = nudge;
    p.refractory = 1000;
    p.jitter = 100;
    p.delay = 10;
    return p;
}

// The neighbours of cell c in a block w wide, in the loop's order, and their lanes.
std::uint32_t neighbour(std::uint32_t c, std::uint32_t w, int i) {
    const std::array<std::int64_t, 8> dx{-1, 0, 1, -1, 1, -1, 0, 1}, dy{-1, -1, -1, 0, 0, 1, 1, 1};
    return static_cast<std::uint32_t>(c + dy[static_cast<std::size_t>(i)] * w +
                                      dx[static_cast<std::size_t>(i)]);
}
constexpr std::array<int, 8> lane_of{0, 1, 2, 4, 6, 9, 10, 11};

// The pulses' time and the rules' constants.
struct pulse_case {
    tick_t t;
    moore_pulses p;
};

// A flash time near an edge of what the rules compare (t, the refractory bound, the horizon).
tick_t near_an_edge(std::mt19937_64& random, const pulse_case& q) {
    const tick_t t = q.t, e = q.p.nudge[0];
    const std::array<tick_t, 7> edges{
        t, t + e, t + q.p.awake, q.p.horizon, q.p.horizon + e, t - 300, rules_t::pending_flash};
    const tick_t edge = edges[random() % edges.size()];
    return edge == rules_t::pending_flash ? edge : edge + static_cast<tick_t>(random() % 5) - 2;
}

// What the loop does to neighbour i, one firefly at a time: its flash time after the pulse and
// whether the loop must finish it (turns before t, a flash, a move before the horizon).
struct expected {
    tick_t after;
    bool look;
};
expected one_at_a_time(const rules_t& rules, tick_t was, const pulse_case& q) {
    firefly f;
    f.flash_at = was;
    if (rules.acts_before(f, q.t)) return {was, true};
    const bool flashes = rules.absorb(f, q.t);
    return {f.flash_at, flashes || (f.flash_at != was && f.flash_at < q.p.horizon)};
}

// One flash's pulses to cell c of a block w x h, flash times drawn near the edges: the lanes
// against the rules. Adds to `looked` the neighbours to finish, to `moved` the pulses that moved
// a flash time.
void check_cell(const rules_t& rules, std::uint32_t w, std::uint32_t h, std::uint32_t c,
                std::mt19937_64& random, int& looked, int& moved) {
    const model_params& m = rules.params();
    const tick_t t = 100'000 + static_cast<tick_t>(random() % 1000);
    const pulse_case q{t, moore_pulses(m.nudge, m.period - m.refractory,
                                       t + 600 + static_cast<tick_t>(random() % 40))};
    std::vector<tick_t> times(w * h);
    for (auto& x : times)
        x = near_an_edge(random, q);
    const std::vector<tick_t> was = times;
    moore_rows before;
    const moore_mask look = pulse_moore(times.data(), c, w, t, q.p, before);
    std::vector<tick_t> want = was;
    moore_mask want_look = 0;
    for (int i = 0; i < 8; ++i) {
        const std::uint32_t j = neighbour(c, w, i);
        const expected e = one_at_a_time(rules, was[j], q);
        const auto lane = static_cast<std::size_t>(lane_of[static_cast<std::size_t>(i)]);
        want[j] = e.after;
        want_look |= (e.look ? 1u : 0u) << lane;
        EXPECT_EQ(before.times[lane], was[j]) << "neighbour " << i;
        EXPECT_EQ(c + moore_lane_offsets(w)[lane], j) << "neighbour " << i;
        moved += e.after != was[j] ? 1 : 0;
    }
    ASSERT_EQ(times, want) << w << "x" << h << " cell " << c << " e " << m.nudge;
    ASSERT_EQ(look, want_look) << w << "x" << h << " cell " << c << " e " << m.nudge;
    looked += std::popcount(look);
}

} // namespace

TEST(MooreLanes, PulsesAsTheRulesOneFireflyAtATime) {
    if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2 on this CPU";
    std::mt19937_64 random(11);
    for (const tick_t nudge : {200, 1}) {
        const rules_t rules(params(nudge));
        int looked = 0, moved = 0;
        for (std::uint32_t w = 3; w <= 6; ++w)
            for (std::uint32_t h = 3; h <= 5; ++h)
                for (std::uint32_t c = w + 1; c < w * (h - 1); ++c)
                    if (c % w != 0 && c % w != w - 1) // interior
                        for (int round = 0; round < 40; ++round)
                            check_cell(rules, w, h, c, random, looked, moved);
        // (The edges are met: neighbours to finish, pulses that move.)
        EXPECT_GT(looked, 1000) << "e " << nudge;
        EXPECT_GT(moved, 1000) << "e " << nudge;
    }
}

TEST(MooreLanes, NeighboursBeforeABound) {
    if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2 on this CPU";
    std::mt19937_64 random(5);
    for (std::uint32_t w = 3; w <= 6; ++w)
        for (std::uint32_t h = 3; h <= 4; ++h)
            for (std::uint32_t c = w + 1; c < w * (h - 1); ++c) {
                if (c % w == 0 || c % w == w - 1) continue;
                std::vector<tick_t> times(w * h);
                for (auto& x : times)
                    x = 1000 + static_cast<tick_t>(random() % 7);
                const tick_t bound = 1003;
                moore_mask want = 0;
                for (int i = 0; i < 8; ++i)
                    want |= (times[neighbour(c, w, i)] < bound ? 1u : 0u)
                            << lane_of[static_cast<std::size_t>(i)];
                EXPECT_EQ(moore_before(times.data(), c, w, bound), want)
                    << w << "x" << h << " " << c;
            }
}
