// flash_times_in (scheduler/flash_scan.cpp): the fireflies whose flash time is in [from, to),
// against a plain filter, on the window's edges and at every length (the vectorised pass and
// its scalar tail).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "scheduler/flash_scan.hpp"

using namespace fireflies;

namespace {

std::vector<std::uint32_t> plain(const std::vector<tick_t>& t, std::uint32_t first,
                                 std::uint32_t last, tick_t from, tick_t to) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = first; i < last; ++i)
        if (t[i] >= from && t[i] < to) out.push_back(i);
    return out;
}

std::vector<std::uint32_t> scanned(const std::vector<tick_t>& t, std::uint32_t first,
                                   std::uint32_t last, tick_t from, tick_t to) {
    // (room for the last group of four)
    std::vector<std::uint32_t> out(last - first + 3, 0xdeadbeef);
    out.resize(flash_times_in(t.data(), first, last, from, to, out.data()));
    return out;
}

} // namespace

TEST(FlashScan, FindsExactlyTheTimesInTheWindow) {
    const tick_t from = 1'000'000, to = 1'630'000;
    // The edges and their neighbours, far values on both sides, negative times.
    const std::vector<tick_t> edges{from - 1,
                                    from,
                                    from + 1,
                                    to - 1,
                                    to,
                                    to + 1,
                                    0,
                                    -5,
                                    std::numeric_limits<tick_t>::max(),
                                    std::numeric_limits<tick_t>::min(),
                                    from + (to - from) / 2};
    for (std::uint32_t n = 0; n <= 23; ++n) {
        std::vector<tick_t> t(n);
        for (std::uint32_t i = 0; i < n; ++i)
            t[i] = edges[(i * 7 + n) % edges.size()];
        for (std::uint32_t first = 0; first <= std::min<std::uint32_t>(n, 3); ++first)
            EXPECT_EQ(scanned(t, first, n, from, to), plain(t, first, n, from, to))
                << "n " << n << " first " << first;
    }
    std::mt19937_64 random(7);
    std::vector<tick_t> t(100'003);
    for (auto& x : t)
        x = from - 3'000'000 + static_cast<tick_t>(random() % 8'000'000);
    const auto found = scanned(t, 5, static_cast<std::uint32_t>(t.size()), from, to);
    EXPECT_EQ(found, plain(t, 5, static_cast<std::uint32_t>(t.size()), from, to));
    EXPECT_GT(found.size(), 5'000u);
    // an empty window
    EXPECT_TRUE(scanned(t, 0, static_cast<std::uint32_t>(t.size()), from, from).empty());
}
