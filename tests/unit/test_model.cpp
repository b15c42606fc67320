// The model's rules (firefly_rules, docs/model.md) event by event, with expectations worked out by
// hand in ticks; the order parameter's phasors and sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "fireflies/config.hpp"
#include "fireflies/divider.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/random.hpp"
#include "fireflies/time.hpp"

using namespace fireflies;

namespace {

// Small round numbers, so that every expectation below can be checked on paper.
constexpr tick_t T = 1000, E = 100, RF = 200, J = 50, D = 10;
constexpr std::uint64_t SEED = 42;

model_params params(refractory_mode mode, tick_t rf = RF, tick_t jitter = J) {
    model_params p;
    p.period = T;
    p.nudge = E;
    p.refractory = rf;
    p.jitter = jitter;
    p.delay = D;
    p.mode = mode;
    p.seed = SEED;
    return p;
}

/// The jitter a flash draws: draw number `draw` of firefly `id`.
tick_t jitter_draw(std::uint64_t id, std::uint64_t draw, tick_t jitter = J) {
    return uniform_below(random_bits(SEED, id, draw), jitter);
}

/// A firefly with phase `phase` at time `at` (>= 0) that has not flashed yet (last_flash = -1),
/// its next turn its flash at at + T - phase. It is not refractory at `at` when phase >= Rf:
/// refractory_until = max(flash_at - (T - Rf), last_flash + 1) = max(at + Rf - phase, 0) <= at.
firefly running(const firefly_rules& rules, tick_t at, tick_t phase, std::uint32_t draws = 1) {
    firefly f;
    f.flash_at = at + (T - phase);
    f.last_flash = -1;
    f.draws = draws;
    f.queued = 0;
    EXPECT_EQ(rules.phase(f, at), phase);
    EXPECT_EQ(rules.next_turn(f), at + (T - phase));
    if (phase >= rules.params().refractory) {
        EXPECT_LE(rules.refractory_until(f), at) << "running() must not be refractory";
    }
    return f;
}

constexpr refractory_mode both_modes[] = {refractory_mode::drop, refractory_mode::queue};
const char* name_of(refractory_mode m) {
    return m == refractory_mode::drop ? "drop" : "queue";
}

// ---- model_params -------------------------------------------------------------------------

TEST(ModelParams, FromConfigInTicks) {
    run_config c; // the seed's defaults
    const auto p = model_params::from(c);
    EXPECT_EQ(p.period, 5'000'000'000);
    EXPECT_EQ(p.nudge, 200'000'000);
    EXPECT_EQ(p.refractory, 1'000'000'000);
    EXPECT_EQ(p.jitter, 100'000'000);
    EXPECT_EQ(p.delay, 10'000'000);
    EXPECT_EQ(p.mode, refractory_mode::drop);
    EXPECT_EQ(p.seed, 1u);

    c.period = 2.5;
    c.refractory = 0.3;
    c.nudge = 1e-9;
    c.delay = 3e-9;
    c.jitter = 0;
    c.mode = refractory_mode::queue;
    c.seed = 0xffffffffffffffffULL;
    const auto q = model_params::from(c);
    EXPECT_EQ(q.period, 2'500'000'000);
    EXPECT_EQ(q.refractory, 750'000'000);
    EXPECT_EQ(q.nudge, 1);
    EXPECT_EQ(q.delay, 3);
    EXPECT_EQ(q.jitter, 0);
    EXPECT_EQ(q.mode, refractory_mode::queue);
    EXPECT_EQ(q.seed, 0xffffffffffffffffULL);
}

TEST(ModelTime, TicksRoundToNearest) {
    EXPECT_EQ(to_ticks(0.0), 0);
    EXPECT_EQ(to_ticks(1.0), 1'000'000'000);
    EXPECT_EQ(to_ticks(0.01), 10'000'000);
    EXPECT_EQ(to_ticks(1.4e-9), 1);
    EXPECT_EQ(to_ticks(1.6e-9), 2);
    EXPECT_EQ(to_ticks(-1.6e-9), -2);
    EXPECT_EQ(to_ticks(300.0), 300'000'000'000);
    EXPECT_DOUBLE_EQ(to_seconds(2'500'000'000), 2.5);
}

// ---- start ---------------------------------------------------------------------------------

TEST(ModelStart, PhaseIsDrawZeroUniformOnPeriod) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        int refractory_starts = 0;
        for (std::uint64_t id = 0; id < 2000; ++id) {
            const firefly f = rules.start(id);
            const tick_t phase = uniform_below(random_bits(SEED, id, 0), T);
            ASSERT_EQ(f.last_flash, -1) << "no flash yet";
            ASSERT_EQ(rules.phase(f, 0), phase) << id;
            ASSERT_EQ(f.flash_at, T - phase) << id;
            ASSERT_GE(rules.phase(f, 0), 0);
            ASSERT_LT(rules.phase(f, 0), T);
            ASSERT_EQ(f.draws, 1u) << "draw 0 is used by the start phase";
            ASSERT_EQ(f.queued, 0u);
            if (phase < RF) {
                ++refractory_starts;
                // Refractory until the phase reaches Rf.
                ASSERT_EQ(rules.refractory_until(f), RF - phase) << id;
                ASSERT_EQ(rules.phase(f, RF - phase), RF) << id;
                // Nothing is held at the start, so in both modes (queue mode included, which used
                // to get a no-op refractory-end timer here) the next turn is the flash.
                ASSERT_EQ(rules.next_turn(f), T - phase) << id;
            } else {
                ASSERT_LE(rules.refractory_until(f), 0) << id;
                ASSERT_EQ(rules.next_turn(f), T - phase) << id;
            }
            ASSERT_FALSE(rules.acts_before(f, 0)) << id;
        }
        // About a fifth of them start refractory (Rf = T/5): 400 expected of 2000.
        EXPECT_GT(refractory_starts, 300);
        EXPECT_LT(refractory_starts, 500);
    }
}

TEST(ModelStart, RefractoryStartDropsPulsesUntilPhaseReachesRf) {
    const firefly_rules rules(params(refractory_mode::drop));
    std::uint64_t id = 0;
    while (rules.phase(rules.start(id), 0) >= RF || rules.phase(rules.start(id), 0) == 0)
        ++id;
    const firefly f0 = rules.start(id);
    const tick_t phase = rules.phase(f0, 0), until = RF - phase;
    ASSERT_EQ(rules.refractory_until(f0), until);

    firefly f = f0;
    EXPECT_EQ(rules.pulse(f, id, until - 1), reaction::quiet);
    EXPECT_EQ(f, f0) << "a pulse while refractory (drop mode) changes nothing";

    EXPECT_EQ(rules.pulse(f, id, until), reaction::quiet);
    EXPECT_EQ(rules.phase(f, until), RF + E)
        << "at t = Rf - phase the phase is exactly Rf, then + e";
    EXPECT_EQ(f.flash_at, until + (T - RF - E));
    EXPECT_EQ(rules.next_turn(f), until + (T - RF - E));
    EXPECT_EQ(f.last_flash, -1);
    EXPECT_EQ(f.draws, 1u);
    EXPECT_EQ(f.queued, 0u);
}

TEST(ModelStart, RefractoryStartQueuesPulsesUntilPhaseReachesRf) {
    const firefly_rules rules(params(refractory_mode::queue));
    std::uint64_t id = 0;
    while (rules.phase(rules.start(id), 0) >= RF || rules.phase(rules.start(id), 0) == 0)
        ++id;
    firefly f = rules.start(id);
    const tick_t phase = rules.phase(f, 0), until = RF - phase;
    EXPECT_EQ(rules.refractory_until(f), until);
    // Nothing held yet: the next turn is the flash (no no-op refractory-end timer any more).
    EXPECT_EQ(rules.next_turn(f), T - phase);
    EXPECT_EQ(rules.pulse(f, id, 0), reaction::quiet);
    EXPECT_EQ(rules.pulse(f, id, until - 1), reaction::quiet);
    EXPECT_EQ(f.queued, 2u);
    EXPECT_EQ(f.flash_at, T - phase) << "held pulses do not move the flash yet";
    EXPECT_EQ(rules.next_turn(f), until);
    EXPECT_FALSE(rules.acts_before(f, until - 1));
    EXPECT_TRUE(rules.acts_before(f, until))
        << "the refractory end comes before pulses at the same time";
    EXPECT_EQ(rules.act(f, id, until), reaction::quiet);
    EXPECT_EQ(rules.phase(f, until), RF + 2 * E);
    EXPECT_EQ(f.queued, 0u);
    EXPECT_EQ(f.flash_at, until + T - RF - 2 * E);
    EXPECT_EQ(rules.next_turn(f), until + T - RF - 2 * E);
    EXPECT_EQ(f.last_flash, -1);
    EXPECT_EQ(f.draws, 1u);
}

// ---- pulses --------------------------------------------------------------------------------

TEST(ModelPulse, AddsExactlyTheNudge) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        firefly f = running(rules, 100, 300);
        EXPECT_EQ(rules.next_turn(f), 800);
        EXPECT_EQ(rules.pulse(f, 5, 250), reaction::quiet);
        EXPECT_EQ(rules.phase(f, 250), 450 + E);
        EXPECT_EQ(rules.phase(f, 250), 550);
        EXPECT_EQ(rules.phase(f, 260), 560);
        EXPECT_EQ(f.flash_at, 250 + (T - 550)); // 700: the flash moved 100 earlier
        EXPECT_EQ(rules.next_turn(f), 700);
        EXPECT_EQ(f.last_flash, -1);
        EXPECT_EQ(f.draws, 1u);
        EXPECT_EQ(f.queued, 0u);
        // A second pulse at the same time adds another e.
        EXPECT_EQ(rules.pulse(f, 5, 250), reaction::quiet);
        EXPECT_EQ(rules.phase(f, 250), 650);
        EXPECT_EQ(f.flash_at, 600);
        EXPECT_EQ(rules.next_turn(f), 600);
    }
}

TEST(ModelPulse, JustBelowPeriodDoesNotFlash) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        firefly f = running(rules, 0, 500);
        EXPECT_EQ(rules.pulse(f, 3, 399), reaction::quiet); // phase 899 + 100 = 999
        EXPECT_EQ(rules.phase(f, 399), 999);
        EXPECT_EQ(f.flash_at, 400);
        EXPECT_EQ(rules.next_turn(f), 400);
        EXPECT_EQ(f.last_flash, -1);
        EXPECT_EQ(f.draws, 1u);
    }
}

TEST(ModelPulse, PushedToPeriodFlashesAtOnce) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        for (tick_t phase_before : {tick_t{900}, tick_t{950}, tick_t{999}, tick_t{1000}}) {
            // phase at t = 120 is phase_before: phase phase_before - 120 at 0.
            firefly f = running(rules, 0, phase_before - 120, 4);
            const std::uint64_t id = 17;
            ASSERT_EQ(rules.phase(f, 120), phase_before);
            ASSERT_EQ(rules.pulse(f, id, 120), reaction::flashed) << phase_before;
            const tick_t j = jitter_draw(id, 4);
            EXPECT_EQ(f.last_flash, 120);
            EXPECT_EQ(rules.phase(f, 120), j);
            EXPECT_EQ(f.flash_at, 120 + T - j);
            EXPECT_EQ(f.draws, 5u);
            EXPECT_EQ(rules.refractory_until(f), 120 + RF - j);
            EXPECT_EQ(f.queued, 0u);
            // Nothing held: in both modes the next turn is the flash (queue mode used to get a
            // no-op timer at the refractory end, 120 + RF - j).
            EXPECT_EQ(rules.next_turn(f), 120 + T - j);
        }
    }
}

TEST(ModelPulse, DropModeIgnoresRefractoryPulses) {
    const firefly_rules rules(params(refractory_mode::drop));
    const std::uint64_t id = 8;
    firefly f = running(rules, 0, 600);
    ASSERT_EQ(rules.next_turn(f), 400);
    ASSERT_EQ(rules.act(f, id, 400), reaction::flashed);
    const tick_t j = jitter_draw(id, 1), until = 400 + RF - j;
    ASSERT_EQ(f.last_flash, 400);
    ASSERT_EQ(rules.refractory_until(f), until);
    ASSERT_EQ(rules.next_turn(f), 400 + T - j);
    const firefly after_flash = f;
    for (tick_t t : {tick_t{400}, tick_t{401}, until - 1}) {
        EXPECT_EQ(rules.pulse(f, id, t), reaction::quiet);
        EXPECT_EQ(f, after_flash) << "pulse at " << t << " while refractory until " << until;
    }
    // At the refractory end the phase is exactly Rf and the pulse counts.
    EXPECT_EQ(rules.phase(f, until), RF);
    EXPECT_EQ(rules.pulse(f, id, until), reaction::quiet);
    EXPECT_EQ(rules.phase(f, until), RF + E);
    EXPECT_EQ(f.flash_at, until + T - RF - E);
    EXPECT_EQ(rules.next_turn(f), until + T - RF - E);
    EXPECT_EQ(f.queued, 0u);
}

TEST(ModelPulse, QueueModeHoldsRefractoryPulsesAndAppliesThemAtRefractoryEnd) {
    const firefly_rules rules(params(refractory_mode::queue));
    const std::uint64_t id = 9;
    firefly f = running(rules, 0, 600);
    ASSERT_EQ(rules.act(f, id, 400), reaction::flashed);
    const tick_t j = jitter_draw(id, 1), until = 400 + RF - j;
    ASSERT_EQ(rules.refractory_until(f), until);
    // Nothing held yet: the next turn is the flash (the old code armed a no-op timer at `until`).
    ASSERT_EQ(rules.next_turn(f), 400 + T - j);
    for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(rules.pulse(f, id, 400 + k), reaction::quiet);
        EXPECT_EQ(rules.next_turn(f), until)
            << "queue mode, pulses held: the next turn is the refractory end";
    }
    EXPECT_EQ(f.queued, 3u);
    EXPECT_EQ(f.last_flash, 400);
    EXPECT_EQ(rules.phase(f, 400), j);
    EXPECT_EQ(f.flash_at, 400 + T - j);
    EXPECT_EQ(rules.next_turn(f), until);

    EXPECT_EQ(rules.act(f, id, until), reaction::quiet);
    EXPECT_EQ(rules.phase(f, until), RF + 3 * E); // exactly Rf, then 3 e
    EXPECT_EQ(f.queued, 0u);
    EXPECT_EQ(f.flash_at, until + T - RF - 3 * E);
    EXPECT_EQ(rules.next_turn(f), until + T - RF - 3 * E);
    EXPECT_EQ(f.last_flash, 400);
    EXPECT_EQ(f.draws, 2u);
}

TEST(ModelPulse, QueueModeRefractoryEndSetsPhaseExactlyRf) {
    // The old test fed the refractory end a deliberately inconsistent anchor (as drift would
    // make it). The new state cannot be inconsistent: the refractory end is derived from
    // flash_at, so the phase there is exactly Rf by construction, in integer ticks, however late
    // the flash. Check that at the numbers of the old test (flash at 1000 to phase 7, 2 draws)
    // and at far-away times, and that the held pulses then apply on top of exactly Rf.
    const firefly_rules rules(params(refractory_mode::queue));
    for (tick_t at : {tick_t{1000}, tick_t{123'456'789'012}, tick_t{4'000'000'000'000'000'007}}) {
        firefly f;
        f.last_flash = at;
        f.flash_at = at + T - 7; // phase 7 at `at`
        f.draws = 2;
        f.queued = 1;
        ASSERT_EQ(rules.phase(f, at), 7);
        const tick_t until = at + RF - 7;
        EXPECT_EQ(rules.refractory_until(f), until) << at;
        EXPECT_EQ(rules.next_turn(f), until) << at;
        EXPECT_EQ(rules.phase(f, until), RF) << at;
        EXPECT_EQ(rules.act(f, 1, until), reaction::quiet) << at;
        EXPECT_EQ(rules.phase(f, until), RF + E) << at;
        EXPECT_EQ(f.flash_at, until + T - RF - E) << at;
        EXPECT_EQ(rules.next_turn(f), until + T - RF - E) << at;
        EXPECT_EQ(f.queued, 0u);
        EXPECT_EQ(f.draws, 2u);
        EXPECT_EQ(f.last_flash, at);
    }
}

TEST(ModelPulse, QueueModeHeldPulsesReachingPeriodFlashAtRefractoryEnd) {
    const firefly_rules rules(params(refractory_mode::queue));
    const std::uint64_t id = 11;
    // Rf + k e >= T  <=>  k >= 8.
    for (std::uint32_t k : {7u, 8u, 9u, 20u}) {
        firefly f = running(rules, 0, 600);
        ASSERT_EQ(rules.act(f, id, 400), reaction::flashed);
        const tick_t j1 = jitter_draw(id, 1), until = 400 + RF - j1;
        for (std::uint32_t i = 0; i < k; ++i)
            rules.pulse(f, id, 401);
        ASSERT_EQ(f.queued, k);
        ASSERT_EQ(rules.next_turn(f), until);
        const reaction r = rules.act(f, id, until);
        if (k < 8) {
            EXPECT_EQ(r, reaction::quiet);
            EXPECT_EQ(rules.phase(f, until), RF + k * E);
            EXPECT_EQ(f.flash_at, until + T - RF - k * E);
            EXPECT_EQ(rules.next_turn(f), until + T - RF - k * E);
            EXPECT_EQ(f.queued, 0u);
            EXPECT_EQ(f.draws, 2u);
        } else {
            EXPECT_EQ(r, reaction::flashed) << k;
            const tick_t j2 = jitter_draw(id, 2);
            EXPECT_EQ(f.last_flash, until);
            EXPECT_EQ(rules.phase(f, until), j2);
            EXPECT_EQ(f.flash_at, until + T - j2);
            EXPECT_EQ(f.draws, 3u);
            EXPECT_EQ(f.queued, 0u) << "held pulses are used up by the flash";
            EXPECT_EQ(rules.refractory_until(f), until + RF - j2);
            // Nothing held after the flash: the next turn is the flash (it used to be a no-op
            // timer at the refractory end, until + RF - j2).
            EXPECT_EQ(rules.next_turn(f), until + T - j2);
        }
    }
}

TEST(ModelPulse, QueueModePulseAtRefractoryEndAppliesHeldPulsesFirst) {
    const firefly_rules rules(params(refractory_mode::queue));
    const std::uint64_t id = 12;
    auto flashed_with = [&](std::uint32_t held, tick_t& until) {
        firefly f = running(rules, 0, 600);
        EXPECT_EQ(rules.act(f, id, 400), reaction::flashed);
        until = 400 + RF - jitter_draw(id, 1);
        for (std::uint32_t i = 0; i < held; ++i)
            rules.pulse(f, id, 450);
        EXPECT_EQ(f.queued, held);
        return f;
    };
    tick_t until = 0;
    { // 2 held, then one at the end: Rf + 2e + e.
        firefly f = flashed_with(2, until);
        EXPECT_TRUE(rules.acts_before(f, until));
        EXPECT_EQ(rules.pulse(f, id, until), reaction::quiet);
        EXPECT_EQ(rules.phase(f, until), RF + 3 * E);
        EXPECT_EQ(f.queued, 0u);
        EXPECT_EQ(f.flash_at, until + T - RF - 3 * E);
        EXPECT_EQ(rules.next_turn(f), until + T - RF - 3 * E);
        EXPECT_EQ(f.last_flash, 400);
    }
    { // 7 held (Rf + 7e = 900), the pulse at the end makes 1000: one flash, at `until`.
        firefly f = flashed_with(7, until);
        EXPECT_EQ(rules.pulse(f, id, until), reaction::flashed);
        const tick_t j2 = jitter_draw(id, 2);
        EXPECT_EQ(f.last_flash, until);
        EXPECT_EQ(rules.phase(f, until), j2);
        EXPECT_EQ(f.flash_at, until + T - j2);
        EXPECT_EQ(f.draws, 3u);
        EXPECT_EQ(f.queued, 0u);
        EXPECT_EQ(rules.refractory_until(f), until + RF - j2);
        // Nothing held: the next turn is the flash (formerly a no-op timer at until + RF - j2).
        EXPECT_EQ(rules.next_turn(f), until + T - j2);
    }
    { // 8 held flash on their own at `until`; the pulse then finds it refractory and is held.
        firefly f = flashed_with(8, until);
        EXPECT_EQ(rules.pulse(f, id, until), reaction::flashed);
        const tick_t j2 = jitter_draw(id, 2);
        EXPECT_EQ(f.last_flash, until);
        EXPECT_EQ(rules.phase(f, until), j2);
        EXPECT_EQ(f.flash_at, until + T - j2);
        EXPECT_EQ(f.draws, 3u);
        EXPECT_EQ(f.queued, 1u);
        EXPECT_EQ(rules.refractory_until(f), until + RF - j2);
        EXPECT_EQ(rules.next_turn(f), until + RF - j2);
    }
    { // 0 held: the pulse at the end adds e to exactly Rf.
        firefly f = flashed_with(0, until);
        EXPECT_FALSE(rules.acts_before(f, until));
        EXPECT_EQ(rules.phase(f, until), RF);
        EXPECT_EQ(rules.pulse(f, id, until), reaction::quiet);
        EXPECT_EQ(rules.phase(f, until), RF + E);
        EXPECT_EQ(f.flash_at, until + T - RF - E);
        EXPECT_EQ(rules.next_turn(f), until + T - RF - E);
        EXPECT_EQ(f.queued, 0u);
    }
}

// ---- the firefly's own turn -----------------------------------------------------------------

TEST(ModelTimer, NextTimerIsTheFlashTime) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        firefly f = running(rules, 1234, 321);
        EXPECT_EQ(rules.next_turn(f), 1234 + (T - 321));
        EXPECT_EQ(f.flash_at, 1234 + (T - 321));
        EXPECT_EQ(rules.pulse(f, 2, 1300), reaction::quiet); // phase 387 + 100
        EXPECT_EQ(rules.phase(f, 1300), 487);
        EXPECT_EQ(rules.next_turn(f), 1300 + (T - 487));
        EXPECT_EQ(f.flash_at, 1300 + (T - 487));
    }
}

TEST(ModelTimer, TimerAtFlashTimeFlashes) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        firefly f = running(rules, 0, 700, 1);
        const std::uint64_t id = 23;
        ASSERT_EQ(rules.next_turn(f), 300);
        EXPECT_EQ(rules.phase(f, 300), T);
        EXPECT_FALSE(rules.acts_before(f, 300)) << "pulses at the flash time come before the flash";
        EXPECT_TRUE(rules.acts_before(f, 301));
        EXPECT_EQ(rules.act(f, id, 300), reaction::flashed);
        const tick_t j = jitter_draw(id, 1);
        EXPECT_EQ(f.last_flash, 300);
        EXPECT_EQ(rules.phase(f, 300), j);
        EXPECT_EQ(f.flash_at, 300 + T - j);
        EXPECT_EQ(rules.refractory_until(f), 300 + RF - j);
        // Nothing held: the next turn is the flash in both modes (queue mode used to arm a no-op
        // timer at the refractory end, 300 + RF - j).
        EXPECT_EQ(rules.next_turn(f), 300 + T - j);
        EXPECT_EQ(f.draws, 2u);
        EXPECT_EQ(f.queued, 0u);
    }
}

TEST(ModelTimer, JitterDrawsUseNumbersOneTwoThree) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode));
        const std::uint64_t id = 77;
        firefly f = rules.start(id);
        ASSERT_EQ(f.draws, 1u);
        // Let it flash on its own several times. No pulses are held, so (in queue mode too: no
        // no-op refractory-end turns any more) every turn is a flash.
        for (std::uint32_t n = 1; n <= 6; ++n) {
            const tick_t t = rules.next_turn(f);
            ASSERT_EQ(t, f.flash_at);
            ASSERT_EQ(rules.act(f, id, t), reaction::flashed) << "flash " << n;
            EXPECT_EQ(f.last_flash, t);
            EXPECT_EQ(f.draws, n + 1);
            EXPECT_EQ(rules.phase(f, t), jitter_draw(id, n)) << "flash " << n << " uses draw " << n;
            EXPECT_EQ(f.flash_at, t + T - jitter_draw(id, n));
            EXPECT_GE(rules.phase(f, t), 0);
            EXPECT_LT(rules.phase(f, t), J);
        }
    }
}

TEST(ModelTimer, FreeRunningFlashesOncePerPeriodMinusJitter) {
    const firefly_rules rules(params(refractory_mode::drop));
    const std::uint64_t id = 4;
    firefly f = running(rules, 0, 0);
    tick_t t = 0;
    for (std::uint32_t n = 1; n <= 10; ++n) {
        const tick_t next = rules.next_turn(f);
        EXPECT_EQ(next, t + T - rules.phase(f, t));
        if (n > 1) {
            EXPECT_EQ(next, t + T - jitter_draw(id, n - 1)) << n;
        }
        t = next;
        ASSERT_EQ(rules.act(f, id, t), reaction::flashed);
        EXPECT_EQ(f.last_flash, t);
    }
}

// ---- refractory edge cases -----------------------------------------------------------------

TEST(ModelRefractory, ZeroMeansOnlyTheFlashInstantIsRefractory) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode, /*rf=*/0));
        for (std::uint64_t id = 0; id < 200; ++id) {
            const firefly s = rules.start(id);
            EXPECT_LE(rules.refractory_until(s), 0);
            EXPECT_EQ(rules.next_turn(s), T - rules.phase(s, 0));
        }
        const std::uint64_t id = 31;
        firefly f = running(rules, 0, 900);
        ASSERT_EQ(rules.act(f, id, 100), reaction::flashed);
        const tick_t j = jitter_draw(id, 1);
        // The flash instant itself is refractory (one tick), so that pulses arriving at that
        // instant cannot make the firefly flash twice at once.
        EXPECT_EQ(rules.refractory_until(f), 101);
        EXPECT_EQ(rules.pulse(f, id, 100), reaction::quiet);
        EXPECT_EQ(f.queued, mode == refractory_mode::queue ? 1u : 0u);
        if (mode == refractory_mode::drop) {
            EXPECT_EQ(rules.next_turn(f), 100 + T - j) << "drop mode: no refractory-end turn";
            EXPECT_EQ(rules.phase(f, 100), j) << "the pulse at the flash instant is dropped";
            // One tick later a pulse counts.
            EXPECT_EQ(rules.pulse(f, id, 101), reaction::quiet);
            EXPECT_EQ(rules.phase(f, 101), j + 1 + E);
            EXPECT_EQ(f.flash_at, 101 + T - j - 1 - E);
            EXPECT_EQ(rules.next_turn(f), 101 + T - j - 1 - E);
        } else {
            EXPECT_EQ(rules.next_turn(f), 101)
                << "queue mode: the held pulse applies one tick later";
            EXPECT_EQ(rules.act(f, id, 101), reaction::quiet);
            EXPECT_EQ(rules.phase(f, 101), j + 1 + E);
            EXPECT_EQ(f.flash_at, 101 + T - j - 1 - E);
            EXPECT_EQ(f.queued, 0u);
        }
    }
}

TEST(ModelRefractory, JitterAtOrAboveRfLeavesOnlyTheFlashInstantRefractory) {
    // Rf = 20 < jitter 50: a flash that draws j >= 20 is refractory only at its own instant.
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode, /*rf=*/20));
        for (std::uint64_t id = 0; id < 100; ++id) {
            firefly f = running(rules, 0, 900);
            ASSERT_EQ(rules.act(f, id, 100), reaction::flashed);
            const tick_t j = jitter_draw(id, 1);
            if (j >= 20) {
                EXPECT_EQ(rules.refractory_until(f), 101) << id;
                EXPECT_EQ(rules.pulse(f, id, 100), reaction::quiet);
                if (mode == refractory_mode::drop) {
                    EXPECT_EQ(rules.phase(f, 100), j)
                        << id << ": a pulse at the flash instant is dropped";
                    EXPECT_EQ(rules.next_turn(f), 100 + T - j) << id;
                } else {
                    EXPECT_EQ(f.queued, 1u) << id << ": a pulse at the flash instant is held";
                    EXPECT_EQ(rules.next_turn(f), 101) << id;
                }
            } else {
                EXPECT_EQ(rules.refractory_until(f), 100 + 20 - j) << id;
            }
        }
    }
}

TEST(ModelRefractory, ZeroJitterResetsToPhaseZero) {
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode, RF, /*jitter=*/0));
        firefly f = running(rules, 0, 900);
        ASSERT_EQ(rules.act(f, 5, 100), reaction::flashed);
        EXPECT_EQ(f.last_flash, 100);
        EXPECT_EQ(rules.phase(f, 100), 0);
        EXPECT_EQ(f.flash_at, 100 + T);
        EXPECT_EQ(rules.refractory_until(f), 100 + RF);
        // Nothing held: the next turn is the flash in both modes (queue mode used to arm a no-op
        // timer at the refractory end, 100 + RF).
        EXPECT_EQ(rules.next_turn(f), 100 + T);
    }
}

// ---- order parameter -----------------------------------------------------------------------

TEST(ModelOrderParameter, PhasorMatchesCosSin) {
    constexpr double two_pi = 2.0 * std::numbers::pi;
    std::vector<std::pair<tick_t, tick_t>> cases; // (phase, period)
    for (tick_t period :
         {tick_t{4}, tick_t{1000}, tick_t{5'000'000'000}, tick_t{999'999'937}, tick_t{20}}) {
        // quadrant boundaries, just either side, octants
        for (tick_t k = 0; k <= 8; ++k) {
            const tick_t b = period * k / 8;
            for (tick_t d : {tick_t{-1}, tick_t{0}, tick_t{1}})
                cases.emplace_back(b + d, period);
        }
        for (tick_t i = 0; i < 997; ++i)
            cases.emplace_back(period / 997 * i + i, period);
        cases.emplace_back(-1, period);
        cases.emplace_back(-period / 3, period);
        cases.emplace_back(period * 7 + period / 5, period);
        cases.emplace_back(-period * 7 - period / 5, period);
    }
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
        const tick_t period = 5'000'000'000;
        cases.emplace_back(static_cast<tick_t>(rng() % 40'000'000'000ULL) - 20'000'000'000, period);
    }
    for (auto [phase, period] : cases) {
        const auto p = phasor_sum::of(phase, period);
        // reference angle from the exact residue, in long double
        tick_t r = phase % period;
        if (r < 0) r += period;
        const long double a = static_cast<long double>(two_pi) * static_cast<long double>(r) /
                              static_cast<long double>(period);
        const double re = static_cast<double>(p.re) / phasor_sum::scale,
                     im = static_cast<double>(p.im) / phasor_sum::scale;
        ASSERT_NEAR(re, static_cast<double>(std::cos(a)), 1e-9) << phase << " / " << period;
        ASSERT_NEAR(im, static_cast<double>(std::sin(a)), 1e-9) << phase << " / " << period;
    }
}

TEST(ModelOrderParameter, PhasorExactAtCardinalPoints) {
    const tick_t P = 1000;
    EXPECT_EQ(phasor_sum::of(0, P), (phasor_sum{4294967296, 0}));
    EXPECT_EQ(phasor_sum::of(250, P), (phasor_sum{0, 4294967296}));
    EXPECT_EQ(phasor_sum::of(500, P), (phasor_sum{-4294967296, 0}));
    EXPECT_EQ(phasor_sum::of(750, P), (phasor_sum{0, -4294967296}));
    EXPECT_EQ(phasor_sum::of(1000, P), phasor_sum::of(0, P));
    EXPECT_EQ(phasor_sum::of(-250, P), phasor_sum::of(750, P));
}

TEST(ModelOrderParameter, SumIsOrderIndependent) {
    const tick_t P = 5'000'000'000;
    std::mt19937_64 rng(11);
    std::vector<phasor_sum> v;
    for (int i = 0; i < 5000; ++i)
        v.push_back(phasor_sum::of(static_cast<tick_t>(rng() % 5'000'000'000ULL), P));
    phasor_sum forward;
    for (const auto& p : v)
        forward += p;
    for (int round = 0; round < 5; ++round) {
        std::shuffle(v.begin(), v.end(), rng);
        phasor_sum s;
        for (const auto& p : v)
            s += p;
        EXPECT_EQ(s, forward);
        // in halves, as two workers would
        phasor_sum a, b;
        for (std::size_t i = 0; i < v.size(); ++i)
            (i % 3 ? a : b) += v[i];
        a += b;
        EXPECT_EQ(a, forward);
    }
    phasor_sum back = forward;
    for (const auto& p : v)
        back -= p;
    EXPECT_EQ(back, phasor_sum{});
}

TEST(ModelOrderParameter, OrderOfIdenticalPhasesIsOne) {
    const tick_t P = 5'000'000'000;
    for (tick_t phase :
         {tick_t{0}, tick_t{123'456'789}, tick_t{2'500'000'000}, tick_t{4'999'999'999}}) {
        phasor_sum s;
        const std::int64_t n = 900;
        for (std::int64_t i = 0; i < n; ++i)
            s += phasor_sum::of(phase, P);
        EXPECT_NEAR(s.order(n), 1.0, 1e-9) << phase;
    }
    EXPECT_EQ(phasor_sum{}.order(0), 0.0);
    EXPECT_EQ(phasor_sum::of(5, 10).order(0), 0.0);
    EXPECT_EQ(phasor_sum::of(5, 10).order(-3), 0.0);
}

TEST(ModelOrderParameter, OrderOfEvenlySpreadPhasesIsNearZero) {
    for (std::int64_t n : {2, 3, 4, 7, 900, 1000}) {
        const tick_t P = 5'000'000'000;
        phasor_sum s;
        for (std::int64_t i = 0; i < n; ++i)
            s += phasor_sum::of(P * i / n, P);
        EXPECT_LT(s.order(n), 1e-8) << n;
    }
    // Half at 0 and half at T/2 also cancel; a quarter turn apart gives 1/sqrt(2).
    phasor_sum h;
    h += phasor_sum::of(0, 1000);
    h += phasor_sum::of(500, 1000);
    EXPECT_EQ(h.order(2), 0.0);
    phasor_sum q;
    q += phasor_sum::of(0, 1000);
    q += phasor_sum::of(250, 1000);
    EXPECT_NEAR(q.order(2), std::sqrt(0.5), 1e-12);
    // Denominator N even when fewer contributed: one phasor among 4 fireflies gives 1/4.
    EXPECT_NEAR(phasor_sum::of(77, 1000).order(4), 0.25, 1e-9); // quantum 2^-32
}

TEST(ModelOrderParameter, FlashOrderIncrementalEqualsFromScratch) {
    const tick_t P = 5'000'000'000;
    const int n = 300;
    std::mt19937_64 rng(5);
    flash_order inc(P);
    std::vector<tick_t> last(n, -1);
    tick_t t = 0;
    for (int step = 0; step < 20000; ++step) {
        t += static_cast<tick_t>(rng() % 20'000'000); // time order, with ties
        const auto who = static_cast<std::size_t>(rng() % n);
        inc.flash(t, last[who]);
        last[who] = t;
        if (step % 997 == 0 || step == 19999) {
            phasor_sum scratch;
            std::int64_t flashed = 0;
            for (tick_t l : last)
                if (l >= 0) {
                    scratch += phasor_sum::of(-l, P);
                    ++flashed;
                }
            ASSERT_EQ(inc.sum(), scratch) << step;
            ASSERT_EQ(inc.flashed(), flashed) << step;
        }
    }
    EXPECT_EQ(inc.flashed(), n);
    // The seed's R at any t is |sum exp(i 2pi (t - t_last)/T)| / N: the same as order(N).
    const tick_t now = t + 1'234'567;
    double re = 0, im = 0;
    for (tick_t l : last) {
        const double a =
            2.0 * std::numbers::pi * static_cast<double>((now - l) % P) / static_cast<double>(P);
        re += std::cos(a);
        im += std::sin(a);
    }
    EXPECT_NEAR(inc.sum().order(n), std::hypot(re, im) / n, 1e-8);

    flash_order restored(P);
    restored.restore(inc.sum(), inc.flashed());
    EXPECT_EQ(restored.sum(), inc.sum());
    EXPECT_EQ(restored.flashed(), inc.flashed());
}

TEST(ModelOrderParameter, FlashAtTimeZeroCountsAsFlashed) {
    flash_order o(1000);
    o.flash(0, -1);
    EXPECT_EQ(o.flashed(), 1);
    EXPECT_EQ(o.sum(), phasor_sum::of(0, 1000));
    o.flash(1000, 0); // same phase again: the sum is unchanged
    EXPECT_EQ(o.flashed(), 1);
    EXPECT_EQ(o.sum(), phasor_sum::of(0, 1000));
}

} // namespace

namespace {

TEST(ModelRefractory, AtMostOneFlashPerInstant) {
    // BUG (model): docs/model.md resets the phase, which "puts the firefly in its refractory
    // period", but with Rf <= jitter (Rf = 0 is accepted by validation) the firefly is not
    // refractory at the instant of its flash; further pulses at the same tick then add e to the
    // new phase and can reach T again: a second flash at the same instant (and in a grid, an
    // exponential cascade).
    for (auto mode : both_modes) {
        const firefly_rules rules(params(mode, /*rf=*/0));
        const std::uint64_t id = 3;
        firefly f = running(rules, 0, 950);
        ASSERT_EQ(rules.pulse(f, id, 0), reaction::flashed);
        int flashes_at_zero = 1;
        for (int k = 0; k < 11; ++k)
            flashes_at_zero += rules.pulse(f, id, 0) == reaction::flashed;
        EXPECT_EQ(flashes_at_zero, 1) << name_of(mode) << ": 12 pulses at t = 0 made it flash "
                                      << flashes_at_zero << " times at t = 0";
    }
}

} // namespace

// ---- the hot-path helpers: divider and phase_circle ------------------------------------------

namespace {

TEST(ModelDivider, ExactFloorDivisionBelow2To62) {
    std::mt19937_64 rng(99);
    const std::int64_t limit = std::int64_t{1} << 62;
    for (std::int64_t d :
         {std::int64_t{1}, std::int64_t{2}, std::int64_t{3}, std::int64_t{7},
          std::int64_t{10'000'000}, std::int64_t{5'000'000'000}, std::int64_t{2'147'483'647},
          (std::int64_t{1} << 40) + 3, std::int64_t{999'999'937}, std::int64_t{4},
          std::int64_t{1024}, (std::int64_t{1} << 61) + 1, (std::int64_t{1} << 62) - 1}) {
        const divider div(d);
        EXPECT_EQ(div.divisor(), d);
        std::vector<std::int64_t> ns{0,
                                     1,
                                     d - 1,
                                     d,
                                     d + 1,
                                     2 * d - 1,
                                     2 * d,
                                     limit - 1,
                                     limit - d,
                                     limit / d * d,
                                     limit / d * d - 1};
        for (int i = 0; i < 3000; ++i)
            ns.push_back(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(limit)));
        for (int i = 0; i < 1000; ++i)
            ns.push_back(static_cast<std::int64_t>(rng() % 100'000'000'000ULL));
        for (std::int64_t n : ns) {
            // the contract: 0 <= n < 2^62 (2 d - 1 is above it for the largest d)
            if (n < 0 || n >= limit) continue;
            ASSERT_EQ(div.quotient(n), n / d) << n << " / " << d;
            std::int64_t q = -1, r = -1;
            div.split(n, q, r);
            ASSERT_EQ(q, n / d);
            ASSERT_EQ(r, n % d);
        }
    }
}

TEST(ModelOrderParameter, PhaseCircleEqualsPhasorOf) {
    std::mt19937_64 rng(7);
    for (tick_t period : {tick_t{1}, tick_t{7}, tick_t{20}, tick_t{1000}, tick_t{5'000'000'000},
                          tick_t{999'999'937}}) {
        const phase_circle circle(period);
        EXPECT_EQ(circle.period(), period);
        std::vector<tick_t> phases;
        for (tick_t k :
             {tick_t{0}, tick_t{1}, tick_t{2}, tick_t{7}, tick_t{1000}, tick_t{123456789}})
            for (tick_t d : {tick_t{-1}, tick_t{0}, tick_t{1}}) {
                phases.push_back(k * period + d);
                phases.push_back(-(k * period + d));
            }
        for (int i = 0; i < 5000; ++i) {
            // flash times of runs up to ~50 days, and their negatives (flash_order uses -t)
            const auto t = static_cast<tick_t>(rng() % 5'000'000'000'000'000ULL);
            phases.push_back(t);
            phases.push_back(-t);
        }
        for (tick_t ph : phases)
            ASSERT_EQ(circle.of(ph), phasor_sum::of(ph, period)) << ph << " on " << period;
    }
}

} // namespace

namespace {

// The rules on a firefly kept in two arrays (firefly_ref, as block_simulation keeps them) do
// exactly what they do on a firefly, and their short cuts (refractory_at reading last_flash
// only when a flash can leave the phase at or above Rf; queued only in queue mode) agree with
// the definition t < refractory_until(f), over long random event sequences in every regime.
TEST(ModelRules, FireflyRefAndShortCutsAgreeWithTheDefinitions) {
    struct regime {
        tick_t rf, jitter;
    };
    std::mt19937_64 rng(11);
    for (const auto mode : both_modes)
        for (const regime g : {regime{RF, J}, regime{0, J}, regime{0, 0}, regime{1, 0},
                               regime{30, 60}, regime{RF, RF}, regime{RF, 0}}) {
            const firefly_rules rules(params(mode, g.rf, g.jitter));
            for (std::uint64_t id = 0; id < 20; ++id) {
                firefly whole = rules.start(id);
                tick_t flash_at = whole.flash_at, last_flash = whole.last_flash;
                std::uint32_t draws = whole.draws, queued = whole.queued;
                const firefly_ref split{flash_at, last_flash, draws, queued};
                tick_t t = 0;
                for (int step = 0; step < 400; ++step) {
                    t += static_cast<tick_t>(rng() % 40); // ties included
                    // its turns before t, then a pulse at t
                    while (rules.acts_before(whole, t)) {
                        const tick_t turn = rules.next_turn(whole);
                        ASSERT_EQ(rules.next_turn(split), turn);
                        ASSERT_EQ(rules.act(whole, id, turn), rules.act(split, id, turn));
                    }
                    ASSERT_FALSE(rules.acts_before(split, t));
                    ASSERT_GE(t, whole.last_flash);
                    ASSERT_EQ(rules.refractory_at(whole, t), t < rules.refractory_until(whole))
                        << name_of(mode) << " Rf " << g.rf << " jitter " << g.jitter << " t " << t;
                    ASSERT_EQ(rules.pulse(whole, id, t), rules.pulse(split, id, t));
                    ASSERT_EQ(whole, (firefly{flash_at, last_flash, draws, queued}))
                        << name_of(mode) << " step " << step;
                }
            }
        }
}

} // namespace

// ---- dissipation (--prc-dissipation B) and inhibitory nudges --------------------------------

namespace {

model_params dissipative(refractory_mode mode, double b, tick_t nudge = E, tick_t rf = RF,
                         tick_t jitter = J) {
    model_params p = params(mode, rf, jitter);
    p.nudge = nudge;
    p.set_dissipation(b);
    return p;
}

/// The new phase by the definition (docs/model.md): x = ln(1 + (e^B - 1) phase/T) / B, then
/// T (e^(B (x + eps)) - 1) / (e^B - 1), in long double, not rounded, not capped.
long double by_state_function(long double b, tick_t phase, tick_t nudge) {
    const long double x = std::log1p(std::expm1(b) * phase / T) / b;
    return T * std::expm1(b * (x + static_cast<long double>(nudge) / T)) / std::expm1(b);
}

TEST(ModelDissipation, ZeroIsTheIntegerAdvance) {
    const model_params p = dissipative(refractory_mode::drop, 0);
    EXPECT_FALSE(p.general_prc) << "B = 0 with e >= 0 keeps the integer path";
    EXPECT_EQ(p.prc_a, 1.0);
    EXPECT_EQ(p.prc_c, static_cast<double>(E));
    run_config c;
    EXPECT_FALSE(model_params::from(c).general_prc) << "the default run";
    c.dissipation = 0.5;
    EXPECT_TRUE(model_params::from(c).general_prc);
    c.dissipation = 0;
    c.nudge = -0.1;
    EXPECT_TRUE(model_params::from(c).general_prc)
        << "an inhibitory nudge takes the general response";
}

TEST(ModelDissipation, PulseFollowsTheStateFunctionRoundedToATick) {
    for (double b : {1e-6, 0.1, 1.0, 3.0, 10.0})
        for (tick_t nudge : {tick_t{1}, tick_t{37}, E, tick_t{400}}) {
            const model_params p = dissipative(refractory_mode::drop, b, nudge);
            ASSERT_TRUE(p.general_prc);
            EXPECT_DOUBLE_EQ(p.prc_a, std::exp(b * static_cast<double>(nudge) / T));
            const firefly_rules rules(p);
            for (tick_t phase = RF; phase < T; phase += 7) {
                const long double exact = by_state_function(b, phase, nudge);
                const tick_t got = rules.respond(phase);
                if (exact >= T - 0.5L + 1e-6L) {
                    EXPECT_EQ(got, T) << "B " << b << " e " << nudge << " phase " << phase;
                } else if (exact < T - 0.5L - 1e-6L &&
                           std::fabs(exact - std::floor(exact) - 0.5L) > 1e-6L) {
                    EXPECT_EQ(got, std::llround(exact))
                        << "B " << b << " e " << nudge << " phase " << phase;
                }
                EXPECT_GE(got, phase) << "an excitatory pulse never lowers the phase";
            }
        }
}

TEST(ModelDissipation, ConcaveStateFunctionGivesLargerJumpsNearTheTop) {
    const firefly_rules rules(dissipative(refractory_mode::drop, 3.0));
    tick_t previous_jump = 0;
    for (tick_t phase = RF; phase < 700; phase += 50) {
        const tick_t jump = rules.respond(phase) - phase;
        EXPECT_GE(jump, previous_jump) << phase;
        previous_jump = jump;
    }
    // Near phase 0 the jump is c = T (e^(B eps) - 1) / (e^B - 1) < e; near the top, above e.
    EXPECT_LT(rules.respond(0), E);
    EXPECT_GT(rules.respond(800) - 800, E);
}

TEST(ModelDissipation, PulseReachingTheTopFlashesAtOnce) {
    for (auto mode : both_modes) {
        const firefly_rules rules(dissipative(mode, 3.0));
        // The largest phase that stays below T after one pulse, and the next one up.
        tick_t below = RF;
        while (rules.respond(below + 1) < T)
            ++below;
        firefly f = running(rules, 0, below - 50);
        EXPECT_EQ(rules.pulse(f, 3, 50), reaction::quiet);
        EXPECT_EQ(rules.phase(f, 50), rules.respond(below));
        firefly g = running(rules, 0, below + 1 - 50, 4);
        EXPECT_EQ(rules.pulse(g, 3, 50), reaction::flashed);
        EXPECT_EQ(g.last_flash, 50);
        EXPECT_EQ(rules.phase(g, 50), jitter_draw(3, 4));
        EXPECT_LT(below + E, T) << "(with B > 0 a pulse reaches T from further below than e)";
    }
}

TEST(ModelDissipation, InhibitoryNudgeDelaysAndFloorsAtZero) {
    for (double b : {0.0, 2.0})
        for (auto mode : both_modes) {
            const firefly_rules rules(dissipative(mode, b, -E));
            ASSERT_TRUE(rules.params().general_prc);
            firefly f = running(rules, 0, 600);
            EXPECT_EQ(rules.pulse(f, 1, 100), reaction::quiet);
            const tick_t after = rules.phase(f, 100);
            if (b == 0) {
                EXPECT_EQ(after, 700 - E) << "B = 0: exactly phase - e";
            } else {
                EXPECT_EQ(after, std::llround(by_state_function(b, 700, -E)));
            }
            EXPECT_LT(after, 700);
            EXPECT_EQ(f.flash_at, 100 + T - after) << "the flash moves later";
            // Pulses below Rf's worth of phase: the floor at 0 (the phase never goes negative),
            // and from there on the firefly is refractory again (phase < Rf).
            firefly g = running(rules, 0, RF + 10);
            EXPECT_EQ(rules.pulse(g, 1, 0), reaction::quiet);
            EXPECT_LT(rules.phase(g, 0), RF);
            EXPECT_TRUE(rules.refractory_at(g, 0)) << "pushed back below Rf: refractory";
            EXPECT_GE(rules.phase(g, 0), 0);
            firefly h = running(rules, 0, RF + 10);
            h.flash_at = T - 5; // phase 5 at t = 0, not yet refractory by last_flash... below Rf:
            const firefly before = h;
            EXPECT_EQ(rules.pulse(h, 1, 0), reaction::quiet);
            if (mode == refractory_mode::drop) {
                EXPECT_EQ(h, before) << "below Rf the pulse is dropped";
            } else {
                EXPECT_EQ(h.queued, 1u) << "below Rf the pulse is held";
            }
            // Not refractory (Rf = 0): the floor.
            const firefly_rules open(dissipative(mode, b, -E, 0, 0));
            firefly z = running(open, 0, 30);
            EXPECT_EQ(open.pulse(z, 1, 0), reaction::quiet);
            EXPECT_EQ(open.phase(z, 0), 0) << "phase 30 - e floors at 0";
            EXPECT_EQ(z.flash_at, T);
        }
}

TEST(ModelDissipation, QueueModeAppliesHeldPulsesOneAtATime) {
    const firefly_rules rules(dissipative(refractory_mode::queue, 2.0));
    const std::uint64_t id = 9;
    firefly f = running(rules, 0, 600);
    ASSERT_EQ(rules.act(f, id, 400), reaction::flashed);
    const tick_t j = jitter_draw(id, 1), until = 400 + RF - j;
    for (int k = 0; k < 3; ++k)
        EXPECT_EQ(rules.pulse(f, id, 400 + k), reaction::quiet);
    EXPECT_EQ(f.queued, 3u);
    EXPECT_EQ(rules.next_turn(f), until);
    EXPECT_EQ(rules.act(f, id, until), reaction::quiet);
    EXPECT_EQ(rules.phase(f, until), rules.respond(rules.respond(rules.respond(RF))));
    EXPECT_EQ(f.queued, 0u);
    // Enough held pulses reach T: the firefly flashes at the refractory end.
    firefly g = running(rules, 0, 600);
    ASSERT_EQ(rules.act(g, id, 400), reaction::flashed);
    for (int k = 0; k < 20; ++k)
        rules.pulse(g, id, 401);
    EXPECT_EQ(rules.act(g, id, until), reaction::flashed);
    EXPECT_EQ(g.last_flash, until);
}

// The rules with general responses, over random event sequences: firefly_ref and the fixed
// switches compute what firefly_rules computes.
TEST(ModelDissipation, FixedSwitchesAgreeWithRunSwitches) {
    std::mt19937_64 rng(5);
    for (const auto mode : both_modes)
        for (const double b : {0.0, 0.7, 4.0})
            for (const tick_t nudge : {tick_t{-60}, tick_t{90}}) {
                const model_params p = dissipative(mode, b, nudge);
                if (!p.general_prc) continue;
                const firefly_rules rules(p);
                const auto check = [&](const auto& fixed) {
                    for (std::uint64_t id = 0; id < 10; ++id) {
                        firefly a = rules.start(id), c = a;
                        tick_t t = 0;
                        for (int step = 0; step < 300; ++step) {
                            t += static_cast<tick_t>(rng() % 30);
                            while (rules.acts_before(a, t)) {
                                const tick_t turn = rules.next_turn(a);
                                ASSERT_EQ(fixed.next_turn(c), turn);
                                ASSERT_EQ(rules.act(a, id, turn), fixed.act(c, id, turn));
                            }
                            ASSERT_EQ(rules.pulse(a, id, t), fixed.pulse(c, id, t));
                            ASSERT_EQ(a, c);
                            ASSERT_GE(rules.phase(a, t), 0);
                            ASSERT_LT(rules.phase(a, t), T);
                        }
                    }
                };
                if (mode == refractory_mode::drop)
                    check(fixed_firefly_rules<refractory_mode::drop, false, true>(p));
                else
                    check(fixed_firefly_rules<refractory_mode::queue, false, true>(p));
            }
}

} // namespace

// ---- period spread (--period-spread S, --period-distribution) -------------------------------

namespace {

TEST(ModelPeriodSpread, DefaultRunDrawsAreUnchanged) {
    // Pinned from the program before period spreads existed (seed 1, T = 5 s, jitter 0.1 s):
    // the start phases (draw 0) and the jitter draws 1..3 of a few fireflies.
    const run_config c;
    const model_params p = model_params::from(c);
    EXPECT_EQ(p.spread, 0);
    const firefly_rules rules(p);
    struct pin {
        std::uint64_t id;
        tick_t flash_at;
        tick_t jitter[3];
    };
    for (const pin& x : {pin{0, 548704136, {2745223, 90313749, 53863044}},
                         pin{1, 1640008656, {23174448, 71760186, 34321707}},
                         pin{2, 3762992639, {48908467, 57786931, 93856664}},
                         pin{899, 2434134161, {98878106, 57242999, 75929787}}}) {
        firefly f = rules.start(x.id);
        EXPECT_EQ(f.flash_at, x.flash_at) << x.id;
        EXPECT_EQ(natural_period(p, x.id), (own_period{p.period, p.refractory}));
        tick_t t = f.flash_at;
        for (tick_t j : x.jitter) {
            ASSERT_EQ(rules.act(f, x.id, t), reaction::flashed);
            EXPECT_EQ(f.flash_at, t + p.period - j) << x.id;
            t = f.flash_at;
        }
    }
}

model_params spread_params(period_distribution d, tick_t spread) {
    model_params p = params(refractory_mode::drop);
    p.spread = spread;
    p.distribution = d;
    p.refractory_fraction = 0.2;
    return p;
}

TEST(ModelPeriodSpread, UniformCoversItsIntervalAndNoMore) {
    const model_params p = spread_params(period_distribution::uniform, 300);
    tick_t lo = T, hi = T;
    double sum = 0;
    const int n = 20000;
    for (std::uint64_t id = 0; id < n; ++id) {
        const own_period o = natural_period(p, id);
        ASSERT_GE(o.period, T - 300);
        ASSERT_LE(o.period, T + 300);
        ASSERT_EQ(o.refractory, std::llround(0.2 * static_cast<double>(o.period)));
        lo = std::min(lo, o.period);
        hi = std::max(hi, o.period);
        sum += static_cast<double>(o.period);
    }
    EXPECT_EQ(lo, T - 300);
    EXPECT_EQ(hi, T + 300);
    EXPECT_NEAR(sum / n, T, 5);
}

TEST(ModelPeriodSpread, NormalHasItsMomentsAndIsTruncatedAboveNudgePlusJitter) {
    for (tick_t s : {tick_t{100}, tick_t{800}}) {
        const model_params p = spread_params(period_distribution::normal, s);
        double sum = 0, squares = 0;
        const int n = 40000;
        for (std::uint64_t id = 0; id < n; ++id) {
            const own_period o = natural_period(p, id);
            ASSERT_GT(o.period, E + J) << "truncated above nudge + jitter";
            sum += static_cast<double>(o.period);
            squares += static_cast<double>(o.period) * static_cast<double>(o.period);
            ASSERT_EQ(natural_period(p, id), o) << "a pure function of (seed, id)";
        }
        const double mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
        if (s == 100) {
            EXPECT_NEAR(mean, T, 2);
            EXPECT_NEAR(sd, 100, 2);
        } else {
            // T - 800 ~ 1.06 sd above the floor 150: the truncation lifts the mean, narrows the sd.
            EXPECT_GT(mean, T);
            EXPECT_LT(sd, 800);
            EXPECT_GT(sd, 500);
        }
    }
}

TEST(ModelPeriodSpread, StartAndResetUseTheOwnPeriodAndTheUsualDraws) {
    const model_params p = spread_params(period_distribution::normal, 200);
    const firefly_rules rules(p);
    for (std::uint64_t id = 0; id < 50; ++id) {
        const own_period o = natural_period(p, id);
        firefly_spread f{rules.start(id), o.period, o.refractory};
        EXPECT_EQ(f.flash_at, o.period - uniform_below(random_bits(SEED, id, 0), o.period))
            << "draw 0, own period";
        EXPECT_EQ(rules.phase(f, 0), uniform_below(random_bits(SEED, id, 0), o.period));
        const tick_t t = f.flash_at;
        ASSERT_EQ(rules.act(f, id, t), reaction::flashed);
        EXPECT_EQ(f.flash_at, t + o.period - jitter_draw(id, 1))
            << "free-running: its own period minus jitter";
        EXPECT_EQ(rules.refractory_until(f),
                  std::max(t + o.refractory - jitter_draw(id, 1), t + 1));
    }
}

TEST(ModelPeriodSpread, DissipationScalesWithTheOwnPeriod) {
    model_params p = spread_params(period_distribution::uniform, 300);
    p.set_dissipation(3.0);
    const firefly_rules rules(p);
    firefly_spread slow{rules.start(0), T + 200, 240};
    // c = T_i (e^(B eps) - 1) / (e^B - 1), eps = e / T for every firefly.
    const double c = static_cast<double>(T + 200) * std::expm1(3.0 * E / T) / std::expm1(3.0);
    EXPECT_EQ(rules.respond(slow, 500), std::llround(p.prc_a * 500.0 + c));
    firefly_spread nominal{rules.start(0), T, RF};
    EXPECT_EQ(rules.respond(nominal, 500), rules.respond(500));
}

} // namespace

// ---- k pulses at one instant (--coupling all-to-all) ----------------------------------------

namespace {

// absorb_pulses(k) then, when the firefly flashed, act and hold(the rest): the same state as k
// pulses delivered one after another (pulse(): absorb, and act when the phase reached T), for
// every kind of rules, from random states, k from 1 to 40.
template <class Rules>
void expect_pulses_at_once_as_one_by_one(const Rules& rules, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (std::uint64_t id = 0; id < 20; ++id) {
        firefly a = rules.start(id);
        tick_t t = 0;
        for (int step = 0; step < 200; ++step) {
            t += static_cast<tick_t>(rng() % 40);
            while (rules.acts_before(a, t))
                rules.act(a, id, rules.next_turn(a));
            firefly b = a;
            const auto k = static_cast<std::uint32_t>(1 + rng() % 40);
            reaction one_by_one = reaction::quiet;
            for (std::uint32_t m = 0; m < k; ++m)
                if (rules.absorb(a, t) && rules.act(a, id, t) == reaction::flashed)
                    one_by_one = reaction::flashed;
            const std::uint32_t used = rules.absorb_pulses(b, t, k);
            ASSERT_LE(used, k);
            reaction at_once = reaction::quiet;
            if (b.flash_at <= t) {
                at_once = rules.act(b, id, t);
                rules.hold(b, k - used);
            } else {
                ASSERT_EQ(used, k) << "every pulse taken when none made it flash";
            }
            ASSERT_EQ(at_once, one_by_one) << "step " << step << " k " << k;
            ASSERT_EQ(a, b) << "step " << step << " k " << k;
        }
    }
}

TEST(ModelPulses, ManyAtOneInstantAreThePulsesOneByOne) {
    for (const auto mode : both_modes)
        for (const double b : {0.0, 2.0})
            for (const tick_t nudge : {tick_t{0}, tick_t{7}, tick_t{90}, tick_t{-60}}) {
                SCOPED_TRACE(std::string(name_of(mode)) + " B=" + std::to_string(b) +
                             " e=" + std::to_string(nudge));
                const model_params p = dissipative(mode, b, nudge);
                expect_pulses_at_once_as_one_by_one(firefly_rules(p), 11);
                if (!p.general_prc && mode == refractory_mode::drop &&
                    !run_switches(p).instant_matters())
                    expect_pulses_at_once_as_one_by_one(
                        fixed_firefly_rules<refractory_mode::drop, false>(p), 12);
                if (p.general_prc && mode == refractory_mode::queue &&
                    !run_switches(p).instant_matters())
                    expect_pulses_at_once_as_one_by_one(
                        fixed_firefly_rules<refractory_mode::queue, false, true>(p), 13);
            }
}

} // namespace
