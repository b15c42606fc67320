#pragma once
// The event loop's parts built once per combination of the rules' switches (firefly.hpp):
// filing turns, delivering pulses, visiting the due list. Included by event_loop.cpp, which
// builds the default model's combinations, by event_loop_families.cpp, which builds the model
// families' (period spread, general phase response), and by event_loop_wide.cpp, which builds
// the loop for any other neighbourhood
// (--neighbourhood, --radius), each in a unit of its own, so that they do not change how the
// compiler builds (inlines) the others' loops.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <type_traits>

#include "scheduler/event_loop.hpp"
#include "scheduler/flash_scan.hpp"

namespace fireflies {

// The default model's rules (a refractory mode, whether the flash instant matters), their
// switches fixed at compile time.
template <class F> void event_loop::with_fixed_rules(F&& f) const {
    const model_params& p = rules_.params();
    if (fixed_switches<refractory_mode::drop, false>::fit(p))
        return f(fixed_firefly_rules<refractory_mode::drop, false>(p));
    if (fixed_switches<refractory_mode::drop, true>::fit(p))
        return f(fixed_firefly_rules<refractory_mode::drop, true>(p));
    if (fixed_switches<refractory_mode::queue, false>::fit(p))
        return f(fixed_firefly_rules<refractory_mode::queue, false>(p));
    return f(fixed_firefly_rules<refractory_mode::queue, true>(p));
}

/// Calls f(rules) with the family's rules, their switches fixed at compile time.
template <class F> void with_family_rules(const model_params& p, F&& f) {
    using enum refractory_mode;
    if (p.own_periods()) {
        // A period spread or pacemakers (the flash instant is always checked).
        if (fixed_switches<drop, true, false, true>::fit(p))
            return f(fixed_firefly_rules<drop, true, false, true>(p));
        if (fixed_switches<queue, true, false, true>::fit(p))
            return f(fixed_firefly_rules<queue, true, false, true>(p));
        if (fixed_switches<drop, true, true, true>::fit(p))
            return f(fixed_firefly_rules<drop, true, true, true>(p));
        return f(fixed_firefly_rules<queue, true, true, true>(p));
    }
    // The general phase response (B > 0 or an inhibitory nudge).
    if (fixed_switches<drop, false, true>::fit(p))
        return f(fixed_firefly_rules<drop, false, true>(p));
    if (fixed_switches<drop, true, true>::fit(p))
        return f(fixed_firefly_rules<drop, true, true>(p));
    if (fixed_switches<queue, false, true>::fit(p))
        return f(fixed_firefly_rules<queue, false, true>(p));
    return f(fixed_firefly_rules<queue, true, true>(p));
}

[[gnu::always_inline]] inline void event_loop::schedule(std::uint32_t local, tick_t t) {
    const std::int64_t e = by_epoch_.quotient(t);
    if (e <= epoch_index_) {
        due_.push_back(local);
    } else {
        ring_[static_cast<std::size_t>(e & ring_mask_)].push_back(local);
    }
}

// Files every turn in epochs [horizon_, k + ring - 1) and moves the horizon there: one pass over
// the block every ring - 1 epochs, instead of filing every turn that a pulse moves while it is
// still far off (most of them move again before they come due).
template <class Rules> void event_loop::file_turns(const Rules& rules, std::int64_t k) {
    const tick_t from = horizon_time_;
    horizon_ = k + ring_mask_;
    horizon_time_ = horizon_ * epoch_;
    const tick_t to = horizon_time_;
    const auto n = static_cast<std::uint32_t>(flash_at_.size());
    if constexpr (Rules::switches::mode() == refractory_mode::drop) {
        // Nothing is held: each turn is the flash, and the flash times alone say what to file
        // (flash_scan.cpp: a vectorised pass, a few fireflies found at a time).
        constexpr std::uint32_t chunk = 1024;
        std::array<std::uint32_t, chunk + 3> found;
        for (std::uint32_t first = 0; first < n; first += chunk) {
            const std::uint32_t last = std::min<std::uint32_t>(n, first + chunk);
            const std::size_t m =
                flash_times_in(flash_at_.data(), first, last, from, to, found.data());
            for (std::size_t j = 0; j < m; ++j)
                schedule(found[j], flash_at_[found[j]]);
        }
    } else {
        for (std::uint32_t i = 0; i < n; ++i)
            if (const tick_t t = rules.next_turn(view(rules, i)); t >= from && t < to)
                schedule(i, t);
    }
}

// The neighbours of `source` coupled to it: all of them, or with --partitioned those in the same
// block. Calls f(x, y) for each.
template <class F> void event_loop::for_each_neighbour(std::uint64_t source, F&& f) const {
    if (wide_)
        for_each_wide_neighbour(source, f);
    else
        for_each_moore_neighbour(source, f);
}

// The default's: the distinct Moore neighbours of `source` on the torus, without itself (fewer
// than 8 only on grids narrower than 3 cells, or on an edge with --boundary open).
template <class F> void event_loop::for_each_moore_neighbour(std::uint64_t source, F&& f) const {
    if (pulses_per_flash_ == 8)
        for_each_torus_neighbour(source, f);
    else if (config_.boundary == boundary_kind::open)
        for_each_neighbour_of<true>(source, f);
    else
        for_each_neighbour_of<false>(source, f);
}

// The same when every flash has 8 coupled neighbours (pulses_per_flash_: a torus at least 3
// cells each way, nothing partitioned), all distinct: in the same order, with nothing to check.
template <class F> void event_loop::for_each_torus_neighbour(std::uint64_t source, F&& f) const {
    std::int64_t sy = 0, sx = 0;
    by_width_.split(static_cast<std::int64_t>(source), sy, sx);
    const std::array<std::int64_t, 3> x{sx == 0 ? width_ - 1 : sx - 1, sx,
                                        sx == width_ - 1 ? 0 : sx + 1},
        y{sy == 0 ? height_ - 1 : sy - 1, sy, sy == height_ - 1 ? 0 : sy + 1};
    for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t i = 0; i < 3; ++i)
            if (i != 1 || j != 1) f(x[i], y[j]);
}

// (With `Open`, --boundary open: no wrapping, the cells beyond an edge do not exist.)
template <bool Open, class F>
void event_loop::for_each_neighbour_of(std::uint64_t source, F&& f) const {
    const auto w = static_cast<std::uint64_t>(width_);
    const auto sx = static_cast<std::int64_t>(source % w),
               sy = static_cast<std::int64_t>(source / w);
    std::array<std::uint64_t, 8> seen{};
    int n = 0;
    const bool same_block_only = config_.partitioned;
    const int source_owner = same_block_only ? decomposition_.owner(sx, sy) : -1;
    for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
            if (dx == 0 && dy == 0) continue;
            if constexpr (Open)
                if (sx + dx < 0 || sx + dx >= width_ || sy + dy < 0 || sy + dy >= height_) continue;
            const std::int64_t x = (sx + dx + width_) % width_, y = (sy + dy + height_) % height_;
            const std::uint64_t id =
                static_cast<std::uint64_t>(y) * w + static_cast<std::uint64_t>(x);
            if (id == source || std::find(seen.begin(), seen.begin() + n, id) != seen.begin() + n)
                continue;
            seen[static_cast<std::size_t>(n++)] = id;
            if (same_block_only && decomposition_.owner(x, y) != source_owner) continue;
            f(x, y);
        }
    }
}

// Any other neighbourhood (--neighbourhood, --radius): its distinct cells.
template <class F> void event_loop::for_each_wide_neighbour(std::uint64_t source, F&& f) const {
    std::int64_t sy = 0, sx = 0;
    by_width_.split(static_cast<std::int64_t>(source), sy, sx);
    if (!config_.partitioned) return reach_.for_each(sx, sy, f);
    const int source_owner = decomposition_.owner(sx, sy);
    reach_.for_each(sx, sy, [&](std::int64_t x, std::int64_t y) {
        if (decomposition_.owner(x, y) == source_owner) f(x, y);
    });
}

// A pulse reaches firefly `local` at t: first its own turns before it, then the pulse.
template <class Rules>
[[gnu::always_inline]] inline void event_loop::deliver(const Rules& rules, std::uint32_t local,
                                                       tick_t t) {
    const auto f = view(rules, local);
    if constexpr (Rules::switches::spread())
        // a pacemaker ignores pulses (its turns are on the due list)
        if (f.refractory == pacemaker_refractory) return;
    const tick_t before = rules.next_turn(f);
    while (rules.acts_before(f, t))
        take_turn(local, rules.next_turn(f));
    if (rules.absorb(f, t)) take_turn(local, t);
    refile(rules, local, before);
}

// A firefly on the due list: its own turns before `end`.
template <class Rules, bool AllToAll>
void event_loop::visit(const Rules& rules, std::uint32_t local, tick_t end) {
    const auto f = view(rules, local);
    const tick_t before = rules.next_turn(f);
    while (rules.next_turn(f) < end)
        take_turn(local, rules.next_turn(f));
    refile(rules, local, before);
}

// After a visit: a turn that moved from `before` is filed again, only when it comes before the
// horizon (file_turns finds the later ones); one moved into this epoch goes on the due list.
template <class Rules>
[[gnu::always_inline]] inline void event_loop::refile(const Rules& rules, std::uint32_t local,
                                                      tick_t before) {
    // One branch, taken by few pulses (whether a pulse moved the turn is as good as random).
    if (const tick_t after = rules.next_turn(view(rules, local));
        (after != before) & (after < horizon_time_))
        schedule(local, after);
}

// The neighbours of interior cell c whose flash time is at or before `soon`: bit i for neighbour
// i (offset[i]), or with `Lanes` bit l for lane l (lane_offset[l], moore_lanes.hpp).
template <bool Lanes>
[[gnu::always_inline]] inline unsigned moore_at_or_before(const tick_t* times, std::uint32_t c,
                                                          std::uint32_t w, tick_t soon) {
    if constexpr (Lanes) {
        return moore_before(times, c, w, soon + 1);
    } else {
        const tick_t *up = times + (c - w - 1), *mid = times + (c - 1), *down = times + (c + w - 1);
        return static_cast<unsigned>(up[0] <= soon) | static_cast<unsigned>(up[1] <= soon) << 1 |
               static_cast<unsigned>(up[2] <= soon) << 2 |
               static_cast<unsigned>(mid[0] <= soon) << 3 |
               static_cast<unsigned>(mid[2] <= soon) << 4 |
               static_cast<unsigned>(down[0] <= soon) << 5 |
               static_cast<unsigned>(down[1] <= soon) << 6 |
               static_cast<unsigned>(down[2] <= soon) << 7;
    }
}

// Memory is requested in two stages ahead of use: the flash times of the neighbourhood of the
// flash `far` arrivals after a; `near` arrivals after a (those times have arrived by then), the
// other fields and the coroutine frames of the neighbours that flash will push to their own
// flash: those whose flash is at most one nudge after the pulses arrive (a mask of the eight,
// then a request for each set bit, usually none or one).
template <bool Wide, bool Lanes>
[[gnu::always_inline]] inline void event_loop::prefetch_arrivals(std::size_t a,
                                                                 const interval_constants& k) {
    constexpr std::size_t far = 8, near = 4;
    const std::size_t n = arriving_.size();
    const std::int64_t row = k.row;
    const auto w = static_cast<std::uint32_t>(row);
    const tick_t* const times = k.times;
    if constexpr (Wide) {
        if (a + far < n && centres_[a + far] >= 0) {
            const std::int64_t r = reach_.radius();
            for (std::int64_t dy = -r; dy <= r; ++dy) {
                const tick_t* left =
                    &times[static_cast<std::size_t>(centres_[a + far] + dy * row - r)];
                __builtin_prefetch(left, 1);
                __builtin_prefetch(left + 2 * r, 1);
            }
        }
        if (a + near < n && centres_[a + near] >= 0) {
            const tick_t soon = arriving_[a + near].t + k.delay + k.nudge;
            // (Firefly 0's instead of a branch, which would go either way at random.)
            for (const std::int64_t o : offsets_) {
                const auto j = static_cast<std::uint32_t>(centres_[a + near] + o);
                prefetch_turn(j & -static_cast<std::uint32_t>(times[j] <= soon));
            }
        }
    } else {
        if (a + far < n && centres_[a + far] >= 0)
            for (const std::int64_t r :
                 {centres_[a + far] - row, centres_[a + far], centres_[a + far] + row}) {
                const tick_t* left = &times[static_cast<std::size_t>(r - 1)];
                __builtin_prefetch(left, 1);
                __builtin_prefetch(left + 2, 1); // the same line, unless the three cross one
            }
        if (a + near < n && centres_[a + near] >= 0) {
            const auto c = static_cast<std::uint32_t>(centres_[a + near]);
            const tick_t soon = arriving_[a + near].t + k.delay + k.nudge;
            const unsigned pushed = moore_at_or_before<Lanes>(times, c, w, soon);
            // The first two without a branch (none set asks for the centre's, offset[8] = 0,
            // lane_offset[12] = 0: whether any is set is as good as random), more in a loop that
            // is rarely entered.
            const auto& offset = [&]() -> const auto& {
                if constexpr (Lanes)
                    return k.lane_offset;
                else
                    return k.offset;
            }
            ();
            constexpr unsigned none = Lanes ? 1u << 12 : 1u << 8;
            const unsigned second = pushed & (pushed - 1);
            prefetch_turn(c + offset[static_cast<std::size_t>(std::countr_zero(pushed | none))]);
            prefetch_turn(c + offset[static_cast<std::size_t>(std::countr_zero(second | none))]);
            for (unsigned more = second & (second - 1); more != 0; more &= more - 1)
                prefetch_turn(c + offset[static_cast<std::size_t>(std::countr_zero(more))]);
        }
    }
}

// The eight pulses at t of a flash whose neighbourhood is in the block, centred on c, four flash
// times at a time (moore_lanes.hpp); then, in the neighbours' order, what deliver does beyond
// the pulse for those that need it: their turns before t and the pulse (left to deliver), their
// flash at t, or filing the turn the pulse moved.
template <class Rules>
[[gnu::always_inline]] inline void event_loop::deliver_moore(const Rules& rules, std::uint32_t c,
                                                             tick_t t,
                                                             const interval_constants& k) {
    moore_rows before;
    moore_mask look =
        pulse_moore(k.times, c, static_cast<std::uint32_t>(k.row), t, k.lanes, before);
    for (; look != 0; look &= look - 1) {
        const auto lane = static_cast<std::size_t>(std::countr_zero(look));
        const std::uint32_t local = c + k.lane_offset[lane];
        const tick_t was = before.times[lane];
        if (was < t) {
            deliver(rules, local, t);
        } else if (const tick_t now = k.times[local]; now <= t) {
            take_turn(local, t);
            refile(rules, local, was);
        } else {
            schedule(local, now);
        }
    }
    totals_.pulses_delivered += 8;
}

// Whether a build of the loop may take an interior flash's eight pulses four lanes at a time
// (deliver_moore): the default model's rules, where a pulse reads the flash time alone.
template <class Rules>
constexpr bool moore_lanes_fit = Rules::switches::mode() == refractory_mode::drop &&
                                 !Rules::switches::instant_matters() &&
                                 !Rules::switches::general_prc() && !Rules::switches::spread();

// The pulses of arrival a, at t: a flash whose whole neighbourhood is in the block (centres_)
// reaches the fireflies at fixed offsets from it (k.offset, or offsets_ when `Wide`); any other
// flash, those of its neighbours that are in the block.
template <class Rules, bool Wide, bool Lanes>
[[gnu::always_inline]] inline void event_loop::deliver_arrival(const Rules& rules, std::size_t a,
                                                               tick_t t,
                                                               const interval_constants& k) {
    if (centres_[a] >= 0) {
        if constexpr (Wide) {
            for (const std::int64_t o : offsets_)
                deliver(rules, static_cast<std::uint32_t>(centres_[a] + o), t);
            totals_.pulses_delivered += static_cast<std::int64_t>(offsets_.size());
        } else if constexpr (Lanes) {
            deliver_moore(rules, static_cast<std::uint32_t>(centres_[a]), t, k);
        } else {
            const auto c = static_cast<std::uint32_t>(centres_[a]);
            for (std::size_t i = 0; i < 8; ++i)
                deliver(rules, c + k.offset[i], t);
            totals_.pulses_delivered += 8;
        }
        return;
    }
    const std::int64_t row = k.row;
    auto in_block = [&](std::int64_t x, std::int64_t y) {
        if (!block_.contains(x, y)) return;
        deliver(rules, static_cast<std::uint32_t>((y - block_.y0) * row + (x - block_.x0)), t);
        ++totals_.pulses_delivered;
    };
    if constexpr (Wide)
        for_each_wide_neighbour(arriving_[a].agent, in_block);
    else
        for_each_moore_neighbour(arriving_[a].agent, in_block);
}

// The due list, stale entries included: flash times 64 entries ahead, and 24 ahead the rest and
// the coroutine frame of those whose turn comes before the end.
template <class Rules>
[[gnu::always_inline]] inline void event_loop::visit_due(const Rules& rules, tick_t end) {
    constexpr std::size_t due_far = 64, due_near = 24;
    const bool queue = rules.params().mode == refractory_mode::queue;
    for (std::size_t i = 0; i < due_.size(); ++i) {
        if (i + due_far < due_.size()) __builtin_prefetch(&flash_at_[due_[i + due_far]], 1);
        if (i + due_near < due_.size()) {
            const std::uint32_t later = due_[i + due_near];
            prefetch_turn(later & -static_cast<std::uint32_t>(queue | (flash_at_[later] < end)));
        }
        visit(rules, due_[i], end);
        draw_when_due();
    }
}

// Events before `end`: the pulses of every flash whose pulses arrive by then, in time order
// (arriving_ is), each firefly's own turns before each of its pulses; then the fireflies whose
// own turn is due and that no pulse reached (visiting twice is harmless). Fireflies are
// independent within an epoch, so one firefly's events need to be in time order, not all.
// `Wide`: a flash whose whole neighbourhood is in the block (centres_, R cells each way) reaches
// the fireflies at offsets_ from it; the default's 8 Moore cells are fixed offsets. `Lanes`:
// those eight four at a time (process_interval_avx2).
template <class Rules, bool Wide, bool Lanes>
[[gnu::always_inline]] inline void event_loop::run_interval(const Rules& shared_rules, tick_t end) {
    // (A copy whose address no call sees: the compiler keeps its constants in registers instead
    // of reading them again after every store to a flash time, which might have changed them.)
    const Rules rules = shared_rules;
    const model_params& p = rules.params();
    const tick_t delay = p.delay;
    const std::int64_t row = block_.width;
    const auto w = static_cast<std::uint32_t>(row);
    // The eight neighbours of an interior firefly c are c + offset[k], k < 8 (unsigned, wrapping);
    // offset[8] is the firefly itself.
    constexpr std::uint32_t zero = 0;
    const interval_constants k{
        delay,
        nudge_,
        flash_at_.data(),
        row,
        {zero - w - 1, zero - w, zero - w + 1, zero - 1, 1, w - 1, w, w + 1, 0},
        moore_lane_offsets(w),
        {nudge_, p.period - p.refractory, horizon_time_}};
    const std::size_t n = arriving_.size();
    std::size_t a = next_arrival_;
    for (; a < n && arriving_[a].t + delay < end; ++a) {
        prefetch_arrivals<Wide, Lanes>(a, k);
        deliver_arrival<Rules, Wide, Lanes>(rules, a, arriving_[a].t + delay, k);
        draw_when_due();
    }
    next_arrival_ = a;
    visit_due(rules, end);
}

template <class Rules, bool Wide>
void event_loop::process_interval(const Rules& rules, tick_t end) {
    run_interval<Rules, Wide, false>(rules, end);
}

template <class Rules>
[[gnu::target("avx2")]] void event_loop::process_interval_avx2(const Rules& rules, tick_t end) {
    static_assert(moore_lanes_fit<Rules>);
    run_interval<Rules, false, true>(rules, end);
}

} // namespace fireflies
