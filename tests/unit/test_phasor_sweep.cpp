// The vectorised sweeps must give exactly the integers phase_circle::of gives term by term.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "fireflies/order_parameter.hpp"
#include "fireflies/random.hpp"

using namespace fireflies;

TEST(PhasorSweep, EqualsTermByTermSum) {
    for (const tick_t period : {tick_t{5'000'000'000}, tick_t{7}, tick_t{1'000'003}, tick_t{1}}) {
        const phase_circle circle(period);
        std::vector<tick_t> residues;
        phasor_sum expected;
        for (std::uint64_t i = 0; i < 20003; ++i) { // not a multiple of any vector width
            tick_t phase = uniform_below(random_bits(42, i, 0), period);
            // quadrant edges
            if (i < 8)
                phase = std::min(period - 1,
                                 (period / 4) * static_cast<tick_t>(i % 4) + (i >= 4 ? 1 : 0));
            residues.push_back(phase);
            expected += circle.of(phase);
        }
        EXPECT_EQ(circle.sum_of_residues(residues.data(), residues.size()), expected)
            << "period " << period;
        // the build for CPUs without AVX2 and FMA (libm's fma, lane by lane) gives the same bits
        EXPECT_EQ(detail::generic_sum_of_residues(circle, residues.data(), residues.size()),
                  expected)
            << period;
        // and phases given as differences from one time, as a block's sweep gives them
        std::vector<tick_t> subtracted;
        for (const tick_t r : residues)
            subtracted.push_back(period + 1234567 - r);
        EXPECT_EQ(circle.sum_of_differences(period + 1234567, subtracted.data(), subtracted.size()),
                  expected)
            << period;
        EXPECT_EQ(detail::generic_sum_of_differences(circle, period + 1234567, subtracted.data(),
                                                     subtracted.size()),
                  expected)
            << period;
        // and every prefix length (the vector loop's remainder)
        for (std::size_t n = 0; n < 9; ++n) {
            phasor_sum head;
            for (std::size_t i = 0; i < n; ++i)
                head += circle.of(residues[i]);
            EXPECT_EQ(circle.sum_of_residues(residues.data(), n), head) << n;
            EXPECT_EQ(detail::generic_sum_of_residues(circle, residues.data(), n), head) << n;
        }
    }
}

TEST(PhasorSweep, EmptyIsZero) {
    EXPECT_EQ(phase_circle(1000).sum_of_residues(nullptr, 0), phasor_sum{});
}

TEST(PhasorSweep, ResidueIsFlooredModulo) {
    const phase_circle circle(1000);
    EXPECT_EQ(circle.residue(0), 0);
    EXPECT_EQ(circle.residue(999), 999);
    EXPECT_EQ(circle.residue(1000), 0);
    EXPECT_EQ(circle.residue(-1), 999);
    EXPECT_EQ(circle.residue(-1000), 0);
    EXPECT_EQ(circle.residue(-1001), 999);
    EXPECT_EQ(circle.residue(123'456'789'012), 12);
}

TEST(PhasorSweep, BatchedFlashesEqualOneAtATime) {
    // Batches with the same firefly flashing several times in one batch, and first flashes.
    const tick_t period = 5'000'000'000;
    std::mt19937_64 rng(3);
    flash_order one(period), batched(period);
    std::vector<tick_t> last(50, -1);
    tick_t t = 0;
    for (int batch = 0; batch < 200; ++batch) {
        std::vector<tick_t> ts, previous;
        const int n = static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
            t += static_cast<tick_t>(rng() % 30'000'000);
            const auto who = static_cast<std::size_t>(rng() % last.size());
            one.flash(t, last[who]);
            ts.push_back(t);
            previous.push_back(last[who]);
            last[who] = t;
        }
        batched.flashes(ts.data(), previous.data(), ts.size());
        ASSERT_EQ(batched.sum(), one.sum()) << batch;
        ASSERT_EQ(batched.flashed(), one.flashed()) << batch;
    }
    EXPECT_EQ(one.flashed(), 50);
}

TEST(PhasorSweep, FlashResiduesByBothBuildsEqualDivision) {
    // The residues of -t and -previous four at a time (from the first flash's by subtraction and
    // addition, by division where that does not hold), in the AVX2 build and the generic one:
    // flashes close together, a period or more from the first, previous flashes one or many
    // periods back, first flashes, and every length of the last group.
    const tick_t period = 5'000'000'000;
    const phase_circle circle(period);
    std::mt19937_64 rng(7);
    for (const std::size_t n : {std::size_t{1}, std::size_t{4}, std::size_t{7}, std::size_t{999}}) {
        std::vector<tick_t> t(n), previous(n);
        tick_t at = 17 * period + 123;
        for (std::size_t i = 0; i < n; ++i) {
            at += static_cast<tick_t>(rng() % 20'000'000);
            const auto kind = rng() % 8;
            t[i] = kind == 0 ? at + period + static_cast<tick_t>(rng() % period) : at;
            previous[i] = kind == 1   ? -1
                          : kind == 2 ? t[i] - 3 * period - static_cast<tick_t>(rng() % period)
                                      : t[i] - 1 - static_cast<tick_t>(rng() % (2 * period - 1));
        }
        for (const bool generic_build : {false, true}) {
            std::vector<tick_t> fresh(n, -5), older(n, -5);
            const std::int64_t firsts = detail::flash_residues(
                circle, t.data(), previous.data(), n, fresh.data(), older.data(), generic_build);
            std::int64_t expected_firsts = 0;
            for (std::size_t i = 0; i < n; ++i) {
                ASSERT_EQ(fresh[i], circle.residue(-t[i])) << i << " generic " << generic_build;
                ASSERT_EQ(older[i], previous[i] >= 0 ? circle.residue(-previous[i]) : 0)
                    << i << " generic " << generic_build;
                expected_firsts += previous[i] < 0 ? 1 : 0;
            }
            EXPECT_EQ(firsts, expected_firsts) << n;
        }
    }
}

TEST(PhasorSweep, BatchedFlashesEqualOneAtATimeWhateverTheOrderAndSpan) {
    // The batch computes each residue from the one before: flashes out of time order, jumps of
    // a period or more inside a batch (forwards and back), previous flashes many periods back,
    // and batches longer than its chunk of 2048 must all give the sums of one flash at a time.
    const tick_t period = 5'000'000'000;
    std::mt19937_64 rng(11);
    flash_order one(period), batched(period);
    tick_t t = 40 * period;
    for (int batch = 0; batch < 12; ++batch) {
        std::vector<tick_t> ts, previous;
        const int n = batch % 3 == 0 ? 5000 : static_cast<int>(rng() % 3000);
        for (int i = 0; i < n; ++i) {
            const auto kind = rng() % 16;
            tick_t at = t;
            // a jump ahead
            if (kind == 0)
                at = t + period + static_cast<tick_t>(rng() % (3 * period));
            else if (kind == 1)
                at = t - period - static_cast<tick_t>(rng() % period); // and back
            else
                at = t - static_cast<tick_t>(rng() % (period / 2)); // near, out of order
            t += static_cast<tick_t>(rng() % 2'000'000);
            // previous: none, within two periods, or many periods back (always before `at`)
            tick_t before = -1;
            const auto back = rng() % 4;
            if (back == 1)
                before = at - 1 - static_cast<tick_t>(rng() % (2 * period - 1));
            else if (back == 2)
                before = at - 2 * period - static_cast<tick_t>(rng() % (30 * period));
            else if (back == 3)
                before = at - 1 - static_cast<tick_t>(rng() % period);
            if (before < -1) before = -1;
            one.flash(at, before);
            ts.push_back(at);
            previous.push_back(before);
        }
        batched.flashes(ts.data(), previous.data(), ts.size());
        ASSERT_EQ(batched.sum(), one.sum()) << batch;
        ASSERT_EQ(batched.flashed(), one.flashed()) << batch;
    }
    EXPECT_GT(one.flashed(), 0);
}
