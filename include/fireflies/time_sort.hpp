#pragma once
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "fireflies/time.hpp"

namespace fireflies {

/// Sorts `v` by the time key(x) of its elements, for times that come nearly in order (a
/// worker's flashes in the order its loop made them, an epoch's or a sample interval's): one
/// pass of a bucket sort on the time since the earliest, about one bucket per element, leaves
/// each element among the few of its bucket, and an insertion sort finishes: O(n) plus the
/// moves. A crowded bucket of distinct times (moves beyond 8 per element) falls back to
/// std::sort. Elements with equal times keep no particular order. `scratch` and `counts` are
/// the caller's, kept between calls so that nothing is allocated once they have grown.
template <class T, class Key>
void sort_by_time(std::vector<T>& v, Key key, std::vector<T>& scratch,
                  std::vector<std::uint32_t>& counts) {
    const std::size_t n = v.size();
    if (n < 2) return;
    tick_t lo = key(v.front()), hi = lo;
    for (const T& x : v) {
        lo = std::min(lo, key(x));
        hi = std::max(hi, key(x));
    }
    const auto range = static_cast<std::uint64_t>(hi - lo);
    if (range == 0) return;
    if (n >= 32) {
        const int bits = std::clamp(static_cast<int>(std::bit_width(n)), 5, 16);
        const int shift = std::max(0, static_cast<int>(std::bit_width(range)) - bits);
        counts.assign(static_cast<std::size_t>(range >> shift) + 1, 0);
        for (const T& x : v)
            ++counts[static_cast<std::uint64_t>(key(x) - lo) >> shift];
        std::uint32_t sum = 0;
        for (auto& c : counts)
            sum += std::exchange(c, sum);
        scratch.resize(n);
        for (const T& x : v)
            scratch[counts[static_cast<std::uint64_t>(key(x) - lo) >> shift]++] = x;
        v.swap(scratch);
    }
    T* const out = v.data();
    std::size_t moves = 0;
    for (std::size_t i = 1; i < n; ++i) {
        const T x = out[i];
        const tick_t t = key(x);
        std::size_t j = i;
        for (; j > 0 && key(out[j - 1]) > t; --j)
            out[j] = out[j - 1];
        out[j] = x;
        moves += i - j;
        if (moves > 8 * n) {
            std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
            return;
        }
    }
}

} // namespace fireflies
