// sort_by_time (time_sort.hpp): the elements in order kept, the rest sorted (the bucket pass and
// the insertion sort) and merged, give what std::sort gives, for times nearly in order, in
// random order, in order then not (a loop's epoch), all equal, and crowded into one bucket (the
// fallback), at every small length.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "fireflies/report.hpp"
#include "fireflies/time_sort.hpp"

using namespace fireflies;

namespace {

std::vector<tick_t> times_of(const std::vector<flash_event>& v) {
    std::vector<tick_t> t;
    for (const auto& ev : v)
        t.push_back(ev.t);
    return t;
}

void expect_sorted(std::vector<flash_event> v, const char* what) {
    std::vector<flash_event> scratch;
    std::vector<std::uint32_t> counts;
    std::vector<flash_event> want = v;
    std::sort(want.begin(), want.end());
    sort_by_time(
        v, [](const flash_event& ev) { return ev.t; }, scratch, counts);
    EXPECT_EQ(times_of(v), times_of(want)) << what << ", " << v.size() << " flashes";
    // The same flashes, each once (equal times in any order).
    std::sort(v.begin(), v.end());
    EXPECT_EQ(v, want) << what;
}

} // namespace

TEST(TimeSort, SortsLikeStdSort) {
    std::mt19937_64 random(11);
    for (const std::size_t n : {0u, 1u, 2u, 31u, 32u, 33u, 200u, 2500u, 70000u}) {
        std::vector<flash_event> v(n);
        for (std::size_t i = 0; i < n; ++i)
            v[i] = {static_cast<tick_t>(random() % 10'000'000), i};
        expect_sorted(v, "random");
        // nearly in order
        for (std::size_t i = 0; i < n; ++i)
            v[i].t = static_cast<tick_t>(1000 * i + random() % 5000);
        expect_sorted(v, "nearly in order");
        // A loop's epoch: flashes in order (pulses'), a few earlier among them, then the rest
        // (own turns) anywhere in the epoch.
        for (std::size_t i = 0; i < n; ++i)
            v[i].t = i < n / 2 ? static_cast<tick_t>(10 * i) - (i % 17 == 0 ? 7 : 0)
                               : static_cast<tick_t>(random() % (10 * n + 1));
        expect_sorted(v, "in order, then the rest");
        for (auto& ev : v)
            ev.t = 42;
        expect_sorted(v, "all equal");
        // One far outlier: every other time in one bucket, distinct, reversed (the fallback).
        for (std::size_t i = 0; i < n; ++i)
            v[i].t = static_cast<tick_t>(n - i);
        if (n > 0) v[0].t = tick_t{1} << 50;
        expect_sorted(v, "crowded");
        for (std::size_t i = 0; i < n; ++i)
            v[i].t = -static_cast<tick_t>(random() % 1000) - (tick_t{1} << 40);
        expect_sorted(v, "negative");
    }
}
