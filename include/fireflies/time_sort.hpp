#pragma once
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "fireflies/time.hpp"

namespace fireflies {

namespace detail {

// One pass of a bucket sort of in[0, n) on the time since the earliest (`lo`, the latest `hi`),
// about one bucket per element, into out[0, n).
template <class T, class Key>
void bucket_pass(const T* in, std::size_t n, tick_t lo, tick_t hi, T* out, Key key,
                 std::vector<std::uint32_t>& counts) {
    const auto range = static_cast<std::uint64_t>(hi - lo);
    const int bits = std::clamp(static_cast<int>(std::bit_width(n)), 5, 16);
    const int shift = std::max(0, static_cast<int>(std::bit_width(range)) - bits);
    counts.assign(static_cast<std::size_t>(range >> shift) + 1, 0);
    for (std::size_t i = 0; i < n; ++i)
        ++counts[static_cast<std::uint64_t>(key(in[i]) - lo) >> shift];
    std::uint32_t sum = 0;
    for (auto& c : counts)
        sum += std::exchange(c, sum);
    for (std::size_t i = 0; i < n; ++i)
        out[counts[static_cast<std::uint64_t>(key(in[i]) - lo) >> shift]++] = in[i];
}

// An insertion sort of out[0, n), nearly in order; false (left unsorted) when it would move
// elements more than 8 times each.
template <class T, class Key> bool insertion_pass(T* out, std::size_t n, Key key) {
    std::size_t moves = 0;
    for (std::size_t i = 1; i < n; ++i) {
        const T x = out[i];
        const tick_t t = key(x);
        std::size_t j = i;
        for (; j > 0 && key(out[j - 1]) > t; --j)
            out[j] = out[j - 1];
        out[j] = x;
        moves += i - j;
        if (moves > 8 * n) return false;
    }
    return true;
}

// Sorts a[0, n) nearly in order: a bucket pass from `in` (a[0, n) itself when null) and the
// insertion sort, or std::sort for a crowded bucket of distinct times.
template <class T, class Key>
void sort_nearly(const T* in, T* a, std::size_t n, Key key, std::vector<std::uint32_t>& counts) {
    if (n == 0) return;
    tick_t lo = key(in[0]), hi = lo;
    for (std::size_t i = 0; i < n; ++i) {
        lo = std::min(lo, key(in[i]));
        hi = std::max(hi, key(in[i]));
    }
    if (n >= 32 && hi > lo)
        bucket_pass(in, n, lo, hi, a, key, counts);
    else
        std::copy(in, in + n, a);
    if (!insertion_pass(a, n, key))
        std::sort(a, a + n, [&](const T& x, const T& y) { return key(x) < key(y); });
}

} // namespace detail

/// Sorts `v` by the time key(x) of its elements, for times that come nearly in order (a
/// worker's flashes in the order its loop made them, an epoch's or a sample interval's). The
/// elements that are in order already (each not earlier than the last one kept, taken in one
/// pass: a worker's flashes that pulses cause come in the order of the arrivals) stay; the
/// others (its fireflies' own turns, spread over the epoch) are sorted by one pass of a bucket
/// sort on the time since the earliest, about one bucket per element, which leaves each among
/// the few of its bucket, and an insertion sort (std::sort for a crowded bucket of distinct
/// times, moves beyond 8 per element); then the two are merged. O(n) plus the moves. Elements
/// with equal times keep no particular order. `scratch` and `counts` are the caller's, kept
/// between calls so that nothing is allocated once they have grown.
template <class T, class Key>
void sort_by_time(std::vector<T>& v, Key key, std::vector<T>& scratch,
                  std::vector<std::uint32_t>& counts) {
    const std::size_t n = v.size();
    if (n < 2) return;
    scratch.resize(n);
    T *const kept = v.data(), *const rest = scratch.data();
    // (With a branch: the elements in order come in long runs, the others too.)
    std::size_t a = 0, b = 0;
    tick_t last = key(kept[0]);
    for (std::size_t i = 0; i < n; ++i) {
        const T x = kept[i];
        if (const tick_t t = key(x); t >= last) {
            kept[a++] = x;
            last = t;
        } else {
            rest[b++] = x;
        }
    }
    if (b == 0) return;
    // The rest sorted behind the kept, then both merged into scratch.
    detail::sort_nearly(rest, kept + a, b, key, counts);
    std::merge(kept, kept + a, kept + a, kept + n, rest,
               [&](const T& x, const T& y) { return key(x) < key(y); });
    v.swap(scratch);
}

} // namespace fireflies
