#include "scheduler/flash_scan.hpp"

namespace fireflies {

namespace {

// from <= t < to as one unsigned comparison: (t - from) < (to - from) as unsigned 64-bit.

std::size_t scan_generic(const tick_t* times, std::uint32_t first, std::uint32_t last, tick_t from, tick_t to,
                         std::uint32_t* out) noexcept {
    const auto width = static_cast<std::uint64_t>(to - from);
    std::size_t k = 0;
    for (std::uint32_t i = first; i < last; ++i) {
        out[k] = i; // (written always, kept when inside: no branch)
        k += static_cast<std::uint64_t>(times[i] - from) < width ? 1 : 0;
    }
    return k;
}

using v4l = std::int64_t __attribute__((vector_size(32)));
using v4d = double __attribute__((vector_size(32)));

// Four flash times at a time (AVX2 has a signed 64-bit compare: the unsigned one flips the sign
// bits of both sides); the rare lanes inside the window are picked from the compare's mask.
[[gnu::target("avx2")]] std::size_t scan_avx2(const tick_t* times, std::uint32_t first, std::uint32_t last,
                                              tick_t from, tick_t to, std::uint32_t* out) noexcept {
    constexpr std::int64_t sign = std::int64_t{1} << 63;
    const v4l base = v4l{} + from, bound = v4l{} + (static_cast<std::int64_t>(to - from) ^ sign);
    std::size_t k = 0;
    std::uint32_t i = first;
    for (; i + 4 <= last; i += 4) {
        v4l t;
        __builtin_memcpy(&t, times + i, sizeof t);
        const v4l inside = ((t - base) ^ sign) < bound;
        if (const int mask = __builtin_ia32_movmskpd256(reinterpret_cast<v4d>(inside)))
            for (int lane = 0; lane < 4; ++lane)
                if (mask >> lane & 1) out[k++] = i + static_cast<std::uint32_t>(lane);
    }
    return k + scan_generic(times, i, last, from, to, out + k);
}

using scan_fn = std::size_t (*)(const tick_t*, std::uint32_t, std::uint32_t, tick_t, tick_t, std::uint32_t*) noexcept;
const scan_fn scan = __builtin_cpu_supports("avx2") ? scan_avx2 : scan_generic;

} // namespace

std::size_t flash_times_in(const tick_t* times, std::uint32_t first, std::uint32_t last, tick_t from, tick_t to,
                           std::uint32_t* out) noexcept {
    return scan(times, first, last, from, to, out);
}

} // namespace fireflies
