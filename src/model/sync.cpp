#include "fireflies/sync.hpp"

#include <algorithm>
#include <array>
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

std::int64_t largest_volley(std::vector<tick_t>& times, tick_t window,
                            std::vector<tick_t>& scratch) {
    const std::size_t n = times.size();
    if (n == 0) return 0;
    // A sample interval's flash times, each worker's in the order its loop made them.
    std::vector<std::uint32_t> counts;
    sort_by_time(
        times, [](tick_t t) { return t; }, scratch, counts);
    std::int64_t best = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (j < i) j = i;
        while (j < n && times[j] - times[i] < window)
            ++j;
        best = std::max(best, static_cast<std::int64_t>(j - i));
    }
    return best;
}

} // namespace fireflies
