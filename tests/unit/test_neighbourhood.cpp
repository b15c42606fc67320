// The neighbourhood of --neighbourhood and --radius (include/fireflies/neighbourhood.hpp): its
// counts, its cells against a brute force over the whole grid (tests/unit/reference_model.hpp)
// on every small grid, torus and open, and the default (moore, radius 1) against the reference's
// walk of the 8 Moore cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fireflies/neighbourhood.hpp"
#include "reference_model.hpp"

namespace {

using namespace fireflies;

constexpr neighbourhood_kind kinds[] = {neighbourhood_kind::moore, neighbourhood_kind::von_neumann};
constexpr boundary_kind boundaries[] = {boundary_kind::periodic, boundary_kind::open};

std::vector<std::uint64_t> cells_of(const neighbourhood& n, std::int64_t W, std::uint64_t id) {
    std::vector<std::uint64_t> out;
    n.for_each(static_cast<std::int64_t>(id) % W, static_cast<std::int64_t>(id) / W,
               [&](std::int64_t x, std::int64_t y) {
                   out.push_back(static_cast<std::uint64_t>(y * W + x));
               });
    return out;
}

TEST(Neighbourhood, CountsAwayFromTheEdges) {
    const std::int64_t moore[] = {8, 24, 48, 80, 120}, von_neumann[] = {4, 12, 24, 40, 60};
    for (std::int64_t r = 1; r <= 5; ++r)
        for (auto kind : kinds)
            for (auto b : boundaries) {
                const neighbourhood n(25, 23, kind, r, b);
                const std::int64_t want =
                    (kind == neighbourhood_kind::moore ? moore : von_neumann)[r - 1];
                EXPECT_EQ(n.full_count(), want) << r;
                EXPECT_EQ(static_cast<std::int64_t>(n.offsets().size()), want) << r;
                EXPECT_EQ(static_cast<std::int64_t>(cells_of(n, 25, 11 * 25 + 12).size()), want)
                    << "the centre";
            }
}

TEST(Neighbourhood, EveryDistinctCellWithinTheRadiusOnSmallGrids) {
    for (std::int64_t W = 1; W <= 7; ++W)
        for (std::int64_t H = 1; H <= 6; ++H)
            for (auto kind : kinds)
                for (auto b : boundaries)
                    for (std::int64_t r = 1; r <= 5; ++r) {
                        const neighbourhood n(W, H, kind, r, b);
                        SCOPED_TRACE(std::to_string(W) + "x" + std::to_string(H) + " " +
                                     std::string(name_of(kind)) + " R=" + std::to_string(r) + " " +
                                     std::string(name_of(b)));
                        for (std::uint64_t id = 0; id < static_cast<std::uint64_t>(W * H); ++id) {
                            std::vector<std::uint64_t> got = cells_of(n, W, id);
                            const std::size_t walked = got.size();
                            std::sort(got.begin(), got.end());
                            ASSERT_EQ(std::unique(got.begin(), got.end()), got.end())
                                << "a cell twice, from " << id;
                            ASSERT_EQ(got.size(), walked);
                            ASSERT_EQ(got, reference::neighbours_within(W, H, id, kind, r, nullptr,
                                                                        b == boundary_kind::open))
                                << "cell " << id;
                        }
                    }
}

TEST(Neighbourhood, MooreRadiusOneIsTheDefaultWalk) {
    for (std::int64_t W = 1; W <= 6; ++W)
        for (std::int64_t H = 1; H <= 6; ++H)
            for (auto b : boundaries) {
                const bool open = b == boundary_kind::open;
                EXPECT_TRUE(neighbourhood(W, H, neighbourhood_kind::moore, 1, b).moore_one());
                for (std::uint64_t id = 0; id < static_cast<std::uint64_t>(W * H); ++id)
                    ASSERT_EQ(reference::neighbours_within(W, H, id, neighbourhood_kind::moore, 1,
                                                           nullptr, open),
                              reference::moore_neighbours(W, H, id, nullptr, open))
                        << W << "x" << H << " cell " << id << (open ? " open" : "");
            }
    EXPECT_FALSE(
        neighbourhood(9, 9, neighbourhood_kind::moore, 2, boundary_kind::periodic).moore_one());
    EXPECT_FALSE(neighbourhood(9, 9, neighbourhood_kind::von_neumann, 1, boundary_kind::periodic)
                     .moore_one());
}

TEST(Neighbourhood, DiameterIsTheFarthestTwoCells) {
    EXPECT_EQ(neighbourhood(5, 5, neighbourhood_kind::moore, 1, boundary_kind::periodic).diameter(),
              2);
    EXPECT_EQ(
        neighbourhood(5, 5, neighbourhood_kind::von_neumann, 1, boundary_kind::periodic).diameter(),
        4);
    EXPECT_EQ(neighbourhood(5, 4, neighbourhood_kind::moore, 1, boundary_kind::open).diameter(), 4);
    EXPECT_EQ(
        neighbourhood(5, 4, neighbourhood_kind::von_neumann, 1, boundary_kind::open).diameter(), 7);
    EXPECT_EQ(neighbourhood(1, 1, neighbourhood_kind::moore, 1, boundary_kind::periodic).diameter(),
              0);
    // At the diameter every cell reaches every other; one less, some cell misses one.
    for (std::int64_t W = 2; W <= 6; ++W)
        for (std::int64_t H = 1; H <= 5; ++H)
            for (auto kind : kinds)
                for (auto b : boundaries) {
                    const std::int64_t dia = neighbourhood(W, H, kind, 1, b).diameter();
                    const neighbourhood all(W, H, kind, dia, b);
                    bool short_of_one = false;
                    for (std::uint64_t id = 0; id < static_cast<std::uint64_t>(W * H); ++id) {
                        EXPECT_EQ(static_cast<std::int64_t>(cells_of(all, W, id).size()),
                                  W * H - 1);
                        if (dia > 1)
                            short_of_one |=
                                static_cast<std::int64_t>(
                                    cells_of(neighbourhood(W, H, kind, dia - 1, b), W, id).size()) <
                                W * H - 1;
                    }
                    if (dia > 1) {
                        EXPECT_TRUE(short_of_one) << W << "x" << H;
                    }
                }
}

} // namespace
