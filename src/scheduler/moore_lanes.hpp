#pragma once
// The eight Moore neighbours of a cell inside the block, four flash times at a time (AVX2): the
// pulses of a flash applied to those that nothing more happens to, and the mask of those that
// the loop must look at (event_loop_builds.hpp: process_interval_avx2). For the default model's
// rules (drop mode, the constant advance, one period, the flash instant not checked).
//
// The neighbours of cell c in a block w cells wide are read as three rows of four flash times,
// twelve lanes: above from c - w - 1 (lanes 0-2 the neighbours c - w - 1, c - w, c - w + 1), the
// middle from c - 1 (lanes 4 and 6: c - 1, c + 1), below from c + w - 2 (lanes 9-11: c + w - 1,
// c + w, c + w + 1; so that the last cell read is c + w + 1, inside the block). Lane order is the
// neighbours' order in the scalar loop (event_loop::interval_constants::offset). The other
// lanes are written back unchanged.
#include <immintrin.h>

#include <array>
#include <cstdint>

#include "fireflies/time.hpp"

namespace fireflies {

/// Bit l stands for lane l (above); only the neighbours' lanes (moore_neighbour_lanes) are set.
using moore_mask = unsigned;
inline constexpr moore_mask moore_neighbour_lanes = 0b1110'0101'0111;

/// Each lane's cell as an offset from c in a block w wide (unsigned, wrapping), and at index 12
/// c itself (0).
inline std::array<std::uint32_t, 13> moore_lane_offsets(std::uint32_t w) noexcept {
    constexpr std::uint32_t zero = 0;
    return {zero - w - 1, zero - w, zero - w + 1, zero - w + 2, zero - 1, 0, 1, 2, w - 2, w - 1, w,
            w + 1,        0};
}

/// The flash times of a neighbourhood as read, lane by lane.
struct moore_rows {
    tick_t times[12];
};

/// The rules' constants for the pulses of one interval (drop mode, the constant advance), as
/// lanes.
struct moore_pulses {
    std::array<tick_t, 12> nudge; ///< e > 0 in the neighbours' lanes, 0 in the others
    tick_t awake;                 ///< T - Rf: a flash time more than this after a pulse's is
                                  ///< refractory's
    tick_t horizon;               ///< turns before it are filed when they move; after the pulses
    moore_pulses(tick_t e, tick_t awake_, tick_t horizon_) noexcept
        : nudge{e, e, e, 0, e, 0, e, 0, 0, e, e, e}, awake(awake_), horizon(horizon_) {}
};

namespace lanes {

[[gnu::target("avx2")]] inline __m256i load(const tick_t* at) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
}
[[gnu::target("avx2")]] inline void store(tick_t* at, __m256i x) noexcept {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(at), x);
}
[[gnu::target("avx2")]] inline unsigned movemask(__m256i m) noexcept {
    return static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(m)));
}

// The three rows' masks into the neighbours' lanes.
inline moore_mask neighbours(unsigned above, unsigned middle, unsigned below) noexcept {
    return (above | middle << 4 | below << 8) & moore_neighbour_lanes;
}

// One row: pulses applied where `nudge` has the lane and the firefly is neither refractory
// (after t + awake) nor due before t; the lanes to look at: due before t, or moved to before the
// horizon (which a flash at t is: the horizon is after t).
[[gnu::target("avx2")]] inline unsigned pulse_row(tick_t* at, tick_t* before, const tick_t* nudge,
                                                  __m256i t, __m256i t_awake,
                                                  __m256i horizon) noexcept {
    const __m256i x = load(at);
    store(before, x);
    const __m256i due = _mm256_cmpgt_epi64(t, x);
    const __m256i keep = _mm256_or_si256(_mm256_cmpgt_epi64(x, t_awake), due);
    const __m256i y = _mm256_sub_epi64(x, _mm256_andnot_si256(keep, load(nudge)));
    store(at, y);
    return movemask(
        _mm256_or_si256(due, _mm256_andnot_si256(keep, _mm256_cmpgt_epi64(horizon, y))));
}

[[gnu::target("avx2")]] inline unsigned below_row(const tick_t* at, __m256i bound) noexcept {
    return movemask(_mm256_cmpgt_epi64(bound, load(at)));
}

} // namespace lanes

/// The pulses at t to the eight neighbours of cell c (every one inside the `times` of a block w
/// wide), as event_loop::deliver would give them, for each neighbour whose flash time is at or
/// after t (no turn of its own to take first): refractory (its flash time more than p.awake
/// after t) it drops the pulse, else its flash time moves p.nudge earlier. Returns the lanes
/// of the neighbours the caller must finish, `before` holding their flash times as they were:
/// those due before t (left unchanged: their turns come first, then the pulse) and those whose
/// flash time moved, to before p.horizon (to be filed; among them those it moved to t or
/// before, which flash at t).
[[gnu::target("avx2")]] inline moore_mask pulse_moore(tick_t* times, std::uint32_t c,
                                                      std::uint32_t w, tick_t t,
                                                      const moore_pulses& p,
                                                      moore_rows& before) noexcept {
    const __m256i at = _mm256_set1_epi64x(t), t_awake = _mm256_set1_epi64x(t + p.awake),
                  horizon = _mm256_set1_epi64x(p.horizon);
    // (Row by row, each written before the next is read: in a block 3 or 4 cells wide the rows'
    // lanes overlap.)
    const unsigned above =
        lanes::pulse_row(times + (c - w - 1), before.times, p.nudge.data(), at, t_awake, horizon);
    const unsigned middle = lanes::pulse_row(times + (c - 1), before.times + 4, p.nudge.data() + 4,
                                             at, t_awake, horizon);
    const unsigned below = lanes::pulse_row(times + (c + w - 2), before.times + 8,
                                            p.nudge.data() + 8, at, t_awake, horizon);
    return lanes::neighbours(above, middle, below);
}

/// The neighbours of cell c whose flash time is before `bound`.
[[gnu::target("avx2")]] inline moore_mask moore_before(const tick_t* times, std::uint32_t c,
                                                       std::uint32_t w, tick_t bound) noexcept {
    const __m256i b = _mm256_set1_epi64x(bound);
    return lanes::neighbours(lanes::below_row(times + (c - w - 1), b),
                             lanes::below_row(times + (c - 1), b),
                             lanes::below_row(times + (c + w - 2), b));
}

} // namespace fireflies
