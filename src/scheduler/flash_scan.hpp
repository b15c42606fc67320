#pragma once
// Finding the fireflies whose flash time falls in a window: the pass of file_turns over a whole
// block (event_loop.hpp), vectorised where the machine allows.
#include <cstddef>
#include <cstdint>

#include "fireflies/time.hpp"

namespace fireflies {

/// Writes to `out` the indices i in [first, last) with from <= times[i] < to, in increasing
/// order, and returns how many. `out` has room for last - first + 3 indices (the vectorised pass
/// writes four at a time); to - from >= 0.
std::size_t flash_times_in(const tick_t* times, std::uint32_t first, std::uint32_t last,
                           tick_t from, tick_t to, std::uint32_t* out) noexcept;

} // namespace fireflies
