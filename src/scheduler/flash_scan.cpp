#include "scheduler/flash_scan.hpp"
#include "fireflies/cpu.hpp"

#include <array>

namespace fireflies {

namespace {

// from <= t < to as one unsigned comparison: (t - from) < (to - from) in unsigned 64-bit
// arithmetic (which wraps, where signed would overflow for t far below from, e.g. "never").

std::size_t scan_generic(const tick_t* times, std::uint32_t first, std::uint32_t last, tick_t from,
                         tick_t to, std::uint32_t* out) noexcept {
    const std::uint64_t width = static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
    std::size_t k = 0;
    for (std::uint32_t i = first; i < last; ++i) {
        out[k] = i; // (written always, kept when inside: no branch)
        k +=
            static_cast<std::uint64_t>(times[i]) - static_cast<std::uint64_t>(from) < width ? 1 : 0;
    }
    return k;
}

using v4l = std::int64_t __attribute__((vector_size(32)));
using v4ul = std::uint64_t __attribute__((vector_size(32)));
using v4d = double __attribute__((vector_size(32)));
using v4u = std::uint32_t __attribute__((vector_size(16)));

// For each 4-bit mask of lanes found, the lanes' offsets packed to the front.
constexpr auto packed_lanes = [] {
    std::array<std::array<std::uint32_t, 4>, 16> t{};
    for (unsigned mask = 0; mask < 16; ++mask) {
        unsigned k = 0;
        for (unsigned lane = 0; lane < 4; ++lane)
            if (mask >> lane & 1) t[mask][k++] = lane;
    }
    return t;
}();

// Four flash times at a time (AVX2 has a signed 64-bit compare: the unsigned one flips the sign
// bits of both sides). Without a branch: the compare's mask picks the lanes' indices, packed,
// from a table, and they are stored whether any is found or not (whether a group of four holds
// one is as good as random), the count advancing by the number found.
[[gnu::target("avx2,popcnt")]] std::size_t scan_avx2(const tick_t* times, std::uint32_t first,
                                                     std::uint32_t last, tick_t from, tick_t to,
                                                     std::uint32_t* out) noexcept {
    constexpr std::int64_t sign = std::int64_t{1} << 63;
    const v4ul base = v4ul{} + static_cast<std::uint64_t>(from);
    const v4l bound = v4l{} + (static_cast<std::int64_t>(static_cast<std::uint64_t>(to) -
                                                         static_cast<std::uint64_t>(from)) ^
                               sign);
    std::size_t k = 0;
    std::uint32_t i = first;
    for (; i + 4 <= last; i += 4) {
        v4ul t;
        __builtin_memcpy(&t, times + i, sizeof t);
        const v4l inside = (reinterpret_cast<v4l>(t - base) ^ sign) < bound;
        const int mask = __builtin_ia32_movmskpd256(reinterpret_cast<v4d>(inside));
        v4u lanes;
        __builtin_memcpy(&lanes, packed_lanes[static_cast<std::size_t>(mask)].data(), sizeof lanes);
        const v4u found = lanes + i;
        __builtin_memcpy(out + k, &found, sizeof found);
        k += static_cast<std::size_t>(__builtin_popcount(static_cast<unsigned>(mask)));
    }
    return k + scan_generic(times, i, last, from, to, out + k);
}

using scan_fn = std::size_t (*)(const tick_t*, std::uint32_t, std::uint32_t, tick_t, tick_t,
                                std::uint32_t*) noexcept;
const scan_fn scan = use_avx2() ? scan_avx2 : scan_generic;

} // namespace

std::size_t flash_times_in(const tick_t* times, std::uint32_t first, std::uint32_t last,
                           tick_t from, tick_t to, std::uint32_t* out) noexcept {
    return scan(times, first, last, from, to, out);
}

} // namespace fireflies
