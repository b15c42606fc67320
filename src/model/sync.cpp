#include "fireflies/sync.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <string>
#include <utility>

#include "fireflies/error.hpp"
#include "fireflies/time_sort.hpp"

namespace fireflies {

sync_tracker::sync_tracker(double threshold, tick_t period, tick_t sample) noexcept
    : threshold_(threshold), sample_(sample),
      span_(sample > 0 ? (period + sample - 1) / sample : 0) {}

void sync_tracker::add(std::int64_t k, double r) {
    if (k != state_.next)
        throw error("sync_tracker: sample " + std::to_string(k) + " after " +
                    std::to_string(state_.next - 1));
    ++state_.next;
    if (synced()) return;
    if (!(r >= threshold_)) { // NaN counts as below
        state_.stretch = -1;
        return;
    }
    if (state_.stretch < 0) state_.stretch = k;
    if (k - state_.stretch >= span_) {
        state_.start = state_.stretch;
        state_.decided = k;
    }
}

void sync_tracker::replay(std::span<const double> series) {
    for (std::size_t i = static_cast<std::size_t>(state_.next); i < series.size(); ++i)
        add(static_cast<std::int64_t>(i), series[i]);
}

namespace {

// The most flashes in a window [x, x + window) over x in `from` (a bucket's flash times, sorted),
// with `between` flashes of the buckets the window always covers and `to` (the flash times of the
// bucket or two where it ends, sorted) after them: as x steps up, the flashes of `from` at or
// after x fall and those of `to` before x + window rise.
std::int64_t volley_from(std::span<const tick_t> from, std::int64_t between,
                         std::span<const tick_t> to, tick_t window) {
    std::int64_t best = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < from.size(); ++i) {
        while (j < to.size() && to[j] < from[i] + window)
            ++j;
        best = std::max(best, static_cast<std::int64_t>(from.size() - i + j) + between);
    }
    return best;
}

// The exact count by a sort of them all, for windows so narrow that buckets no wider than a
// window would far outnumber the flashes.
std::int64_t volley_by_sort(std::span<const tick_t> times, tick_t window) {
    std::vector<tick_t> sorted(times.begin(), times.end()), scratch;
    std::vector<std::uint32_t> counts;
    sort_by_time(
        sorted, [](tick_t t) { return t; }, scratch, counts);
    std::int64_t best = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        j = std::max(j, i);
        while (j < sorted.size() && sorted[j] - sorted[i] < window)
            ++j;
        best = std::max(best, static_cast<std::int64_t>(j - i));
    }
    return best;
}

// The largest volley from the flash times put in buckets of 2^shift ticks (`points` by bucket,
// bucket k's from starts[k] to starts[k + 1]; `starts` runs on past the last bucket with the
// count of all). A window [x, x + window) from a flash x of bucket b covers buckets
// b + 1 .. b + q - 1 whole (window = q 2^shift + a rest below 2^shift) and ends in bucket b + q
// or b + q + 1; from the earliest flash of b it covers b .. b + q - 1 whole. So the most flashes
// of q buckets in a row is a count some window reaches, and those of the q + 2 from b bound what
// any window from b reaches: only the buckets whose bound beats the best count so far are
// counted exactly, with their flashes and those of their end buckets sorted (once).
std::int64_t volley_in_buckets(std::vector<tick_t>& points,
                               const std::vector<std::uint32_t>& starts, std::size_t buckets,
                               std::size_t q, tick_t window) {
    const std::uint32_t* const at = starts.data();
    std::uint32_t most = 0;
    for (std::size_t b = 0; b < buckets; ++b)
        most = std::max(most, at[b + q] - at[b]);
    auto best = static_cast<std::int64_t>(most);
    std::vector<std::uint8_t> sorted(buckets, 0);
    const auto sorted_flashes = [&](std::size_t b, std::size_t e) { // of buckets b .. e - 1
        for (std::size_t k = b; k < std::min(e, buckets); ++k)
            if (!std::exchange(sorted[k], 1))
                std::sort(points.begin() + at[k], points.begin() + at[k + 1]);
        return std::span<const tick_t>(points.data() + at[b], points.data() + at[e]);
    };
    for (std::size_t b = 0; b < buckets; ++b)
        if (at[b + q + 2] - at[b] > best && at[b + 1] > at[b])
            best = std::max(best, volley_from(sorted_flashes(b, b + 1), at[b + q] - at[b + 1],
                                              sorted_flashes(b + q, b + q + 2), window));
    return best;
}

} // namespace

std::int64_t largest_volley(std::span<const tick_t> times, tick_t window,
                            std::vector<tick_t>& scratch) {
    const std::size_t n = times.size();
    if (n == 0) return 0;
    const auto [lo_at, hi_at] = std::minmax_element(times.begin(), times.end());
    const tick_t lo = *lo_at, range = *hi_at - lo;
    if (range < window) return static_cast<std::int64_t>(n);
    // Buckets of 2^shift ticks, no wider than the window, about one per two to four flashes.
    const int shift =
        std::min(static_cast<int>(std::bit_width(static_cast<std::uint64_t>(range) / n)) + 1,
                 static_cast<int>(std::bit_width(static_cast<std::uint64_t>(window))) - 1);
    const auto buckets = static_cast<std::size_t>(range >> shift) + 1;
    if (buckets > 4 * n + 64) return volley_by_sort(times, window);
    const auto q = static_cast<std::size_t>(window >> shift);
    // The flash times by bucket (a counting sort); then starts[k]: where bucket k's begin.
    std::vector<std::uint32_t> starts(buckets + q + 3, 0);
    for (const tick_t t : times)
        ++starts[static_cast<std::size_t>((t - lo) >> shift) + 2];
    for (std::size_t k = 2; k < starts.size(); ++k)
        starts[k] += starts[k - 1];
    scratch.resize(n);
    for (const tick_t t : times)
        scratch[starts[static_cast<std::size_t>((t - lo) >> shift) + 1]++] = t;
    return volley_in_buckets(scratch, starts, buckets, q, window);
}

} // namespace fireflies
