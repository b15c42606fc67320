#pragma once
// The eight Moore neighbours of a cell inside the block, four flash times at a time (AVX2): the
// pulses of a flash applied to those that nothing more happens to, and the mask of those that
// the loop must look at (event_loop_builds.hpp: process_interval_avx2). For the default model's
// rules (drop mode, the constant advance, one period, the flash instant not checked).
//
// The neighbours of cell c in a block w cells wide, in the order of the loop's offsets: the row
// above left to right (c - w - 1, c - w, c - w + 1), c - 1, c + 1, the row below (c + w - 1,
// c + w, c + w + 1). Each row is read as four flash times: above from c - w - 1 (lanes 0-2), the
// middle from c - 1 (lanes 0 and 2), below from c + w - 2 (lanes 1-3, so that the last cell
// read is c + w + 1, inside the block). The other lanes are written back unchanged.
#include <cstdint>

#include "fireflies/time.hpp"

namespace fireflies {

/// Bit i stands for neighbour i (in the order above).
using moore_mask = unsigned;

/// The flash times of a neighbourhood as read: the rows above, in the middle and below, four
/// each (neighbour i at index of(i)).
struct moore_rows {
    tick_t times[12];
    static constexpr int of(int neighbour) noexcept {
        constexpr int index[8] = {0, 1, 2, 4, 6, 9, 10, 11};
        return index[neighbour];
    }
};

/// The pulses at t of one flash and the rules' constants (drop mode, the constant advance).
struct moore_pulses {
    tick_t t;
    tick_t awake;   ///< T - Rf: a flash time more than this after t is refractory's
    tick_t nudge;   ///< e
    tick_t horizon; ///< turns before it are filed when they move
};

namespace lanes {

using v4l = std::int64_t __attribute__((vector_size(32)));
using v4d = double __attribute__((vector_size(32)));

[[gnu::target("avx2")]] inline unsigned movemask(v4l m) noexcept {
    return static_cast<unsigned>(__builtin_ia32_movmskpd256(reinterpret_cast<v4d>(m)));
}

// The three rows' four-lane masks into the eight neighbours' bits.
inline moore_mask neighbours(unsigned above, unsigned middle, unsigned below) noexcept {
    return (above & 7u) | (middle & 1u) << 3 | (middle & 4u) << 2 | (below & 14u) << 4;
}

// One row: pulses applied where `nudge` has the lane and the firefly is neither refractory nor
// due before t; the lanes to look at: flashing at t or before, or moved before the horizon.
[[gnu::target("avx2")]] inline unsigned pulse_row(tick_t* at, tick_t* before, v4l nudge, v4l t,
                                                  v4l awake, v4l horizon) noexcept {
    v4l x;
    __builtin_memcpy(&x, at, sizeof x);
    __builtin_memcpy(before, &x, sizeof x);
    const v4l keep = (x - awake > t) | (t > x);
    const v4l y = x - (nudge & ~keep);
    __builtin_memcpy(at, &y, sizeof y);
    const v4l look = (t + 1 > y) | (~(y == x) & (horizon > y));
    return movemask(look);
}

[[gnu::target("avx2")]] inline unsigned below_row(const tick_t* at, v4l bound) noexcept {
    v4l x;
    __builtin_memcpy(&x, at, sizeof x);
    return movemask(bound > x);
}

} // namespace lanes

/// The pulses `p` to the eight neighbours of cell c (every one inside the `times` of a block w
/// wide), as event_loop::deliver would give them, for each neighbour whose flash time is at or
/// after p.t (no turn of its own to take first): refractory (its flash time more than p.awake
/// after p.t) it drops the pulse, else its flash time moves p.nudge earlier. Returns the
/// neighbours the caller must finish, `before` holding their flash times as they were: those due
/// before p.t (left unchanged: their turns come first, then the pulse), those whose flash time
/// is now at or before p.t (they flash at p.t) and those whose flash time moved to before
/// p.horizon (to be filed).
[[gnu::target("avx2")]] inline moore_mask pulse_moore(tick_t* times, std::uint32_t c,
                                                      std::uint32_t w, const moore_pulses& p,
                                                      moore_rows& before) noexcept {
    using lanes::v4l;
    const v4l t = v4l{} + p.t, awake = v4l{} + p.awake, horizon = v4l{} + p.horizon;
    const tick_t e = p.nudge;
    // (Row by row, each written before the next is read: in a block 3 or 4 cells wide the rows'
    // lanes overlap.)
    const unsigned above =
        lanes::pulse_row(times + (c - w - 1), before.times, v4l{e, e, e, 0}, t, awake, horizon);
    const unsigned middle =
        lanes::pulse_row(times + (c - 1), before.times + 4, v4l{e, 0, e, 0}, t, awake, horizon);
    const unsigned below =
        lanes::pulse_row(times + (c + w - 2), before.times + 8, v4l{0, e, e, e}, t, awake, horizon);
    return lanes::neighbours(above, middle, below);
}

/// The neighbours of cell c whose flash time is before `bound`.
[[gnu::target("avx2")]] inline moore_mask moore_before(const tick_t* times, std::uint32_t c,
                                                       std::uint32_t w, tick_t bound) noexcept {
    using lanes::v4l;
    const v4l b = v4l{} + bound;
    return lanes::neighbours(lanes::below_row(times + (c - w - 1), b),
                             lanes::below_row(times + (c - 1), b),
                             lanes::below_row(times + (c + w - 2), b));
}

} // namespace fireflies
