#pragma once
// A deliberately naive reference simulator of MODEL.md, for the unit tests only.
//
// One global priority queue of individual events (pulse or timer, per firefly) over plain
// arrays, ordered by (time, kind, firefly) with pulses before timers at equal times. The model's
// rules come from `firefly_rules` (tested on their own in test_model.cpp); everything else (the
// neighbourhood on the torus, the delays, when an event happens, what is counted) is written
// here again from scratch, without the epochs, rings, radix sorts or coroutines of
// block_simulation, so that the two can be compared event for event.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "fireflies/time.hpp"

namespace fireflies::reference {

/// The distinct Moore neighbours of cell `id` on a W x H torus, without the cell itself,
/// ascending. With `part` (partitioned mode), only those owned by the same worker.
inline std::vector<std::uint64_t> moore_neighbours(std::int64_t W, std::int64_t H, std::uint64_t id,
                                                   const decomposition* part = nullptr) {
    const auto x = static_cast<std::int64_t>(id % static_cast<std::uint64_t>(W));
    const auto y = static_cast<std::int64_t>(id / static_cast<std::uint64_t>(W));
    std::set<std::uint64_t> out;
    for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
            const std::int64_t nx = ((x + dx) % W + W) % W, ny = ((y + dy) % H + H) % H;
            const auto n = static_cast<std::uint64_t>(ny * W + nx);
            if (n == id) continue;
            if (part && part->owner(nx, ny) != part->owner(x, y)) continue;
            out.insert(n);
        }
    return {out.begin(), out.end()};
}

/// The state of the whole grid at one sample time.
struct snapshot {
    tick_t t = 0;
    std::vector<tick_t> phase;      ///< per firefly, phase_at(t) after every event <= t
    std::vector<tick_t> last_flash; ///< per firefly, its last flash <= t, or -1
    std::int64_t flashes = 0;       ///< flashes with time <= t
};

struct result {
    std::vector<flash_event> flashes; ///< every flash, sorted by (t, agent)
    std::vector<firefly> final_states;
    std::vector<snapshot> samples;    ///< at k * sample_every for every k with that time <= through
    std::int64_t pulses_sent = 0;      ///< one per (flash, coupled neighbour)
    std::int64_t pulses_delivered = 0; ///< pulses with arrival time <= through
    std::int64_t pulses_in_flight = 0; ///< pulses with arrival time > through
};

/// Runs the model of `c` over the whole grid through simulated time `through` (inclusive).
/// `part` is used only when c.partitioned (the coupling is cut at its block boundaries).
inline result run(const run_config& c, tick_t through, const decomposition* part = nullptr) {
    const model_params p = model_params::from(c);
    const firefly_rules rules(p);
    const std::int64_t W = c.width, H = c.height;
    const auto n = static_cast<std::size_t>(W * H);
    const decomposition* cut = c.partitioned ? part : nullptr;

    std::vector<std::vector<std::uint64_t>> nbr(n);
    for (std::size_t i = 0; i < n; ++i) nbr[i] = moore_neighbours(W, H, i, cut);

    // (time, kind, firefly): kind 0 = pulse, 1 = timer, so pulses come first at equal times.
    using ev = std::tuple<tick_t, int, std::uint64_t>;
    std::priority_queue<ev, std::vector<ev>, std::greater<>> q;

    result r;
    std::vector<firefly> st(n);
    std::vector<tick_t> last(n, -1);
    for (std::size_t i = 0; i < n; ++i) {
        st[i] = rules.start(i);
        q.emplace(st[i].next_timer, 1, i);
    }

    auto advance = [&](tick_t until) {
        while (!q.empty() && std::get<0>(q.top()) <= until) {
            const auto [t, kind, id] = q.top();
            q.pop();
            firefly& f = st[id];
            if (kind == 1 && f.next_timer != t) continue; // stale timer
            const tick_t before = f.next_timer;
            reaction re;
            if (kind == 0) {
                ++r.pulses_delivered;
                re = rules.pulse(f, id, t);
            } else {
                re = rules.timer(f, id, t);
            }
            if (re == reaction::flashed) {
                r.flashes.push_back({t, id});
                last[id] = t;
                for (auto m : nbr[id]) {
                    q.emplace(t + p.delay, 0, m);
                    ++r.pulses_sent;
                }
            }
            if (f.next_timer != before) q.emplace(f.next_timer, 1, id);
        }
    };

    const tick_t sample = to_ticks(c.sample_every);
    const tick_t duration = to_ticks(c.duration);
    for (std::int64_t k = 0; k * sample <= through && k * sample <= duration; ++k) {
        const tick_t t = k * sample;
        advance(t);
        snapshot s;
        s.t = t;
        s.phase.resize(n);
        for (std::size_t i = 0; i < n; ++i) s.phase[i] = st[i].phase_at(t);
        s.last_flash = last;
        s.flashes = static_cast<std::int64_t>(r.flashes.size());
        r.samples.push_back(std::move(s));
    }
    advance(through);
    while (!q.empty()) {
        if (std::get<1>(q.top()) == 0) ++r.pulses_in_flight;
        q.pop();
    }
    std::sort(r.flashes.begin(), r.flashes.end());
    r.final_states = std::move(st);
    return r;
}

/// Sum of the phasors of the true phases of the cells of `b` in snapshot `s`.
inline phasor_sum state_sum(const snapshot& s, const block& b, std::int64_t W, tick_t period) {
    phasor_sum sum;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
            sum += phasor_sum::of(s.phase[static_cast<std::size_t>(y * W + x)], period);
    return sum;
}

/// The seed's R sum, from scratch: sum of exp(-i 2 pi t_last / T) over the cells of `b` that
/// have flashed; and how many have.
inline std::pair<phasor_sum, std::int64_t> flash_sum(const snapshot& s, const block& b, std::int64_t W,
                                                     tick_t period) {
    phasor_sum sum;
    std::int64_t flashed = 0;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x) {
            const tick_t last = s.last_flash[static_cast<std::size_t>(y * W + x)];
            if (last < 0) continue;
            sum += phasor_sum::of(-last, period);
            ++flashed;
        }
    return {sum, flashed};
}

} // namespace fireflies::reference
