// The decomposition of the W x H torus into worker blocks (a pure function of W, H, workers):
// ownership, tiling, balance, the aligned and the band layouts, owner(), neighbours() against a
// brute-force scan, describe(), and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"

using namespace fireflies;

namespace {

std::string shape(std::int64_t W, std::int64_t H, int workers) {
    return std::to_string(W) + "x" + std::to_string(H) + " / " + std::to_string(workers) +
           " workers";
}

/// Brute force: the workers owning a Moore neighbour (torus) of some cell of `worker`'s block,
/// other than `worker`.
std::vector<int> brute_neighbours(const decomposition& d, int worker) {
    const block& b = d.block_of(worker);
    std::set<int> out;
    const std::int64_t W = d.width(), H = d.height();
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
            for (std::int64_t dy = -1; dy <= 1; ++dy)
                for (std::int64_t dx = -1; dx <= 1; ++dx) {
                    const std::int64_t nx = ((x + dx) % W + W) % W, ny = ((y + dy) % H + H) % H;
                    // owner by scanning the blocks, not by owner()
                    int o = -1;
                    for (int w = 0; w < d.workers(); ++w)
                        if (d.block_of(w).contains(nx, ny)) o = w;
                    if (o != worker) out.insert(o);
                }
    return {out.begin(), out.end()};
}

/// Every invariant that must hold for any valid (W, H, workers).
void check_invariants(std::int64_t W, std::int64_t H, int workers, bool check_neighbours = true) {
    SCOPED_TRACE(shape(W, H, workers));
    const decomposition d(W, H, workers);
    ASSERT_EQ(d.width(), W);
    ASSERT_EQ(d.height(), H);
    ASSERT_EQ(d.workers(), workers);
    ASSERT_EQ(d.blocks().size(), static_cast<std::size_t>(workers));

    // Every cell owned by exactly one block; blocks inside the grid and non-empty.
    std::vector<int> owners(static_cast<std::size_t>(W * H), 0);
    std::int64_t total = 0;
    for (int w = 0; w < workers; ++w) {
        const block& b = d.block_of(w);
        ASSERT_EQ(b, d.blocks()[static_cast<std::size_t>(w)]);
        ASSERT_GE(b.width, 1) << w;
        ASSERT_GE(b.height, 1) << w;
        ASSERT_GE(b.x0, 0);
        ASSERT_GE(b.y0, 0);
        ASSERT_LE(b.x0 + b.width, W);
        ASSERT_LE(b.y0 + b.height, H);
        total += b.cells();
        for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
            for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
                ++owners[static_cast<std::size_t>(y * W + x)];
    }
    ASSERT_EQ(total, W * H);
    for (std::size_t i = 0; i < owners.size(); ++i)
        ASSERT_EQ(owners[i], 1) << "cell " << i;

    // owner() agrees with the blocks, also for coordinates off the grid (torus).
    for (std::int64_t y = 0; y < H; ++y)
        for (std::int64_t x = 0; x < W; ++x) {
            const int o = d.owner(x, y);
            ASSERT_GE(o, 0);
            ASSERT_LT(o, workers);
            ASSERT_TRUE(d.block_of(o).contains(x, y)) << x << "," << y;
            ASSERT_EQ(d.owner(x - W, y), o);
            ASSERT_EQ(d.owner(x + W, y - H), o);
            ASSERT_EQ(d.owner(x - 3 * W, y + 2 * H), o);
        }

    // Workers are numbered band by band, left to right: row-major order of (y0, x0).
    for (int w = 1; w < workers; ++w) {
        const block& a = d.block_of(w - 1);
        const block& b = d.block_of(w);
        ASSERT_TRUE(a.y0 < b.y0 || (a.y0 == b.y0 && a.x0 < b.x0)) << w;
    }

    // Bands: the blocks with the same y0 share their height and tile the full width.
    std::map<std::int64_t, std::vector<block>> bands;
    for (const block& b : d.blocks())
        bands[b.y0].push_back(b);
    ASSERT_EQ(static_cast<int>(bands.size()), d.bands());
    std::int64_t min_count = workers, max_count = 0;
    for (auto& [y0, bs] : bands) {
        std::int64_t x = 0, wmin = W, wmax = 0;
        for (const block& b : bs) {
            ASSERT_EQ(b.height, bs[0].height);
            ASSERT_EQ(b.x0, x);
            x += b.width;
            wmin = std::min(wmin, b.width);
            wmax = std::max(wmax, b.width);
        }
        ASSERT_EQ(x, W);
        ASSERT_LE(wmax - wmin, 1) << "widths within a band differ by at most one column";
        min_count = std::min<std::int64_t>(min_count, static_cast<std::int64_t>(bs.size()));
        max_count = std::max<std::int64_t>(max_count, static_cast<std::int64_t>(bs.size()));
    }
    ASSERT_LE(max_count - min_count, 1) << "bands hold q or q + 1 blocks";

    if (d.aligned()) {
        ASSERT_EQ(min_count, max_count);
        std::int64_t hmin = H, hmax = 0, wmin = W, wmax = 0;
        for (const block& b : d.blocks()) {
            hmin = std::min(hmin, b.height);
            hmax = std::max(hmax, b.height);
            wmin = std::min(wmin, b.width);
            wmax = std::max(wmax, b.width);
        }
        ASSERT_LE(hmax - hmin, 1) << "aligned: heights differ by at most one row";
        ASSERT_LE(wmax - wmin, 1) << "aligned: widths differ by at most one column";
        // Every band has the same cuts.
        for (auto& [y0, bs] : bands)
            for (std::size_t i = 0; i < bs.size(); ++i)
                ASSERT_EQ(bs[i].x0, bands.begin()->second[i].x0);
        ASSERT_EQ(d.describe(), std::to_string(max_count) + " x " + std::to_string(d.bands()));
    } else {
        ASSERT_EQ(d.describe(), std::to_string(d.bands()) + " bands of " +
                                    std::to_string(min_count) + "-" + std::to_string(max_count) +
                                    " blocks");
    }

    // aligned() exactly when workers = columns x rows with columns <= W and rows <= H.
    bool factorable = false;
    for (std::int64_t r = 1; r <= H; ++r)
        if (workers % r == 0 && workers / r <= W) factorable = true;
    ASSERT_EQ(d.aligned(), factorable);

    if (!check_neighbours) return;
    for (int w = 0; w < workers; ++w) {
        const auto n = d.neighbours(w);
        ASSERT_TRUE(std::is_sorted(n.begin(), n.end())) << w;
        ASSERT_EQ(std::adjacent_find(n.begin(), n.end()), n.end()) << "no duplicates";
        ASSERT_EQ(std::count(n.begin(), n.end(), w), 0) << "a worker is not its own neighbour";
        ASSERT_EQ(n, brute_neighbours(d, w)) << "worker " << w;
        for (int m : n) {
            const auto back = d.neighbours(m);
            ASSERT_TRUE(std::binary_search(back.begin(), back.end(), w))
                << w << " -> " << m << " but not back";
        }
    }
}

/// Brute force for a halo `reach` cells deep: the workers owning a cell within Chebyshev distance
/// `reach` (torus) of some cell of `worker`'s block, other than `worker`; owners by scanning the
/// blocks.
std::vector<int> brute_halo(const decomposition& d, int worker, std::int64_t reach) {
    const std::int64_t W = d.width(), H = d.height();
    std::vector<int> owner(static_cast<std::size_t>(W * H), -1);
    for (int w = 0; w < d.workers(); ++w) {
        const block& c = d.block_of(w);
        for (std::int64_t y = c.y0; y < c.y0 + c.height; ++y)
            for (std::int64_t x = c.x0; x < c.x0 + c.width; ++x)
                owner[static_cast<std::size_t>(y * W + x)] = w;
    }
    const block& b = d.block_of(worker);
    std::set<int> out;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
            for (std::int64_t dy = -reach; dy <= reach; ++dy)
                for (std::int64_t dx = -reach; dx <= reach; ++dx) {
                    const std::int64_t nx = ((x + dx) % W + W) % W, ny = ((y + dy) % H + H) % H;
                    const int o = owner[static_cast<std::size_t>(ny * W + nx)];
                    if (o != worker) out.insert(o);
                }
    return {out.begin(), out.end()};
}

TEST(DecompositionNeighbours, HaloOfAnyDepthMatchesBruteForceAndIsSymmetric) {
    struct grid {
        std::int64_t W, H;
        int workers;
    };
    // Blocks narrower than the halo (1 or 2 cells), bands, wrap-around, one row or column.
    for (auto [W, H, workers] :
         {grid{7, 7, 7}, grid{9, 8, 7}, grid{5, 4, 7}, grid{30, 30, 7}, grid{12, 1, 5},
          grid{1, 12, 5}, grid{37, 23, 7}, grid{6, 6, 36}, grid{10, 10, 4}, grid{11, 5, 13}})
        for (std::int64_t reach = 1; reach <= 6; ++reach) {
            const decomposition d(W, H, workers);
            for (int w = 0; w < workers; ++w) {
                SCOPED_TRACE(shape(W, H, workers) + " worker " + std::to_string(w) + " reach " +
                             std::to_string(reach));
                const auto n = d.neighbours(w, reach);
                ASSERT_EQ(n, brute_halo(d, w, reach));
                if (reach == 1) {
                    ASSERT_EQ(n, d.neighbours(w));
                }
                for (int m : n) {
                    const auto back = d.neighbours(m, reach);
                    ASSERT_TRUE(std::binary_search(back.begin(), back.end(), w))
                        << w << " -> " << m << " but not back";
                }
            }
        }
}

TEST(DecompositionEvenSplit, PartsDifferByAtMostOneLargerFirst) {
    EXPECT_EQ(even_split(10, 3), (std::vector<std::int64_t>{0, 4, 7, 10}));
    EXPECT_EQ(even_split(9, 3), (std::vector<std::int64_t>{0, 3, 6, 9}));
    EXPECT_EQ(even_split(5, 5), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(even_split(7, 1), (std::vector<std::int64_t>{0, 7}));
    EXPECT_EQ(even_split(30, 7), (std::vector<std::int64_t>{0, 5, 10, 14, 18, 22, 26, 30}));
}

TEST(DecompositionLayout, SmallGridsExhaustively) {
    for (std::int64_t W = 1; W <= 7; ++W)
        for (std::int64_t H = 1; H <= 7; ++H)
            for (int workers = 1; workers <= W * H; ++workers) {
                check_invariants(W, H, workers);
                if (HasFatalFailure()) return;
            }
}

TEST(DecompositionLayout, OddGrid37x23With1To20Workers) {
    for (int workers = 1; workers <= 20; ++workers) {
        check_invariants(37, 23, workers);
        if (HasFatalFailure()) return;
    }
}

TEST(DecompositionLayout, PrimeWorkerCountsOn30x30) {
    for (int workers : {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 97, 101}) {
        check_invariants(30, 30, workers);
        if (HasFatalFailure()) return;
    }
    // 7 and 13 fit as 7 x 1 and 13 x 1 process grids.
    EXPECT_TRUE(decomposition(30, 30, 7).aligned());
    EXPECT_TRUE(decomposition(30, 30, 13).aligned());
    // 31 > 30 columns and > 30 rows: only the band layout can hold it.
    const decomposition d31(30, 30, 31);
    EXPECT_FALSE(d31.aligned());
    EXPECT_GT(d31.bands(), 1);
    EXPECT_NE(d31.describe().find("bands of"), std::string::npos) << d31.describe();
}

TEST(DecompositionLayout, BandLayoutKeepsBlockAreasBalanced) {
    // Prime (and other unfactorable) counts on grids too small for a 1-D split.
    struct shape_case {
        std::int64_t W, H;
        int workers;
    };
    for (auto [W, H, workers] :
         {shape_case{30, 30, 31}, shape_case{30, 30, 37}, shape_case{30, 30, 101},
          shape_case{30, 30, 899}, shape_case{60, 60, 61}, shape_case{60, 60, 127},
          shape_case{37, 23, 41}, shape_case{37, 23, 43}, shape_case{100, 10, 101}}) {
        SCOPED_TRACE(shape(W, H, workers));
        const decomposition d(W, H, workers);
        check_invariants(W, H, workers, /*check_neighbours=*/W * H <= 1000);
        if (HasFatalFailure()) return;
        std::int64_t lo = W * H, hi = 0;
        for (const block& b : d.blocks()) {
            lo = std::min(lo, b.cells());
            hi = std::max(hi, b.cells());
        }
        const double mean = double(W * H) / workers;
        EXPECT_LE(double(hi), 1.6 * mean + 2) << "largest block " << hi << " vs mean " << mean;
        EXPECT_GE(double(lo), mean / 1.6 - 2) << "smallest block " << lo << " vs mean " << mean;
    }
}

TEST(DecompositionLayout, OneRowPerBlock) {
    // H = workers: a 1-D split into rows where nothing else fits (1 x 7, and 17 prime > 3 columns).
    for (auto [W, H] : {std::pair<std::int64_t, std::int64_t>{1, 7}, {3, 17}, {2, 13}}) {
        const int workers = static_cast<int>(H);
        check_invariants(W, H, workers);
        if (HasFatalFailure()) return;
        const decomposition d(W, H, workers);
        EXPECT_TRUE(d.aligned());
        EXPECT_EQ(d.describe(), "1 x " + std::to_string(H));
        for (int w = 0; w < workers; ++w)
            EXPECT_EQ(d.block_of(w), (block{0, w, W, 1}));
    }
    // Where a squarer grid exists it wins, and every block still gets rows.
    for (auto [W, H] : {std::pair<std::int64_t, std::int64_t>{5, 4}, {30, 30}}) {
        check_invariants(W, H, static_cast<int>(H));
        if (HasFatalFailure()) return;
    }
    // 1 x N: nothing but rows is possible.
    const decomposition d(1, 9, 9);
    for (int w = 0; w < 9; ++w) {
        EXPECT_EQ(d.block_of(w), (block{0, w, 1, 1}));
        // neighbours on a 1-wide torus: the rows above and below
        const std::vector<int> want = [&] {
            std::set<int> s{(w + 1) % 9, (w + 8) % 9};
            return std::vector<int>(s.begin(), s.end());
        }();
        EXPECT_EQ(d.neighbours(w), want) << w;
    }
}

TEST(DecompositionLayout, OneCellPerWorker) {
    for (auto [W, H] : {std::pair<std::int64_t, std::int64_t>{1, 1},
                        {2, 2},
                        {3, 3},
                        {5, 4},
                        {7, 7},
                        {1, 5},
                        {5, 1}}) {
        const int workers = static_cast<int>(W * H);
        check_invariants(W, H, workers);
        if (HasFatalFailure()) return;
        const decomposition d(W, H, workers);
        for (const block& b : d.blocks())
            EXPECT_EQ(b.cells(), 1);
        if (W >= 3 && H >= 3) {
            for (int w = 0; w < workers; ++w)
                EXPECT_EQ(d.neighbours(w).size(), 8u) << w;
        }
    }
    // 37 x 23 = 851 workers: ownership and balance (the neighbour brute force is quadratic).
    check_invariants(37, 23, 851, /*check_neighbours=*/false);
    const decomposition d(37, 23, 851);
    for (int w = 0; w < 851; w += 37) {
        EXPECT_EQ(d.neighbours(w).size(), 8u);
        EXPECT_EQ(d.neighbours(w), brute_neighbours(d, w));
    }
}

TEST(DecompositionLayout, SquareGridsGetSquareProcessGrids) {
    // As MPI_Dims_create: the factorisation with the least halo.
    EXPECT_EQ(decomposition(30, 30, 4).describe(), "2 x 2");
    EXPECT_EQ(decomposition(30, 30, 9).describe(), "3 x 3");
    EXPECT_EQ(decomposition(30, 30, 16).describe(), "4 x 4");
    EXPECT_EQ(decomposition(60, 60, 64).describe(), "8 x 8");
    EXPECT_EQ(decomposition(30, 30, 1).describe(), "1 x 1");
    const decomposition d6(30, 30, 6);
    EXPECT_TRUE(d6.describe() == "3 x 2" || d6.describe() == "2 x 3") << d6.describe();
    // A wide grid is cut into columns, a tall one into rows.
    EXPECT_EQ(decomposition(400, 10, 4).describe(), "4 x 1");
    EXPECT_EQ(decomposition(10, 400, 4).describe(), "1 x 4");
    // The least halo among all aligned factorisations: sum of block perimeters
    // 2 (rows * W + columns * H).
    for (auto [W, H] : {std::pair<std::int64_t, std::int64_t>{30, 30}, {37, 23}, {100, 7}, {8, 64}})
        for (int workers = 1; workers <= 64; ++workers) {
            if (workers > W * H) break;
            const decomposition d(W, H, workers);
            if (!d.aligned()) continue;
            const std::int64_t rows = d.bands(), cols = workers / rows;
            const std::int64_t chosen = rows * W + cols * H;
            for (std::int64_t r = 1; r <= H; ++r)
                if (workers % r == 0 && workers / r <= W) {
                    EXPECT_LE(chosen, r * W + (workers / r) * H)
                        << shape(W, H, workers) << ": " << d.describe() << " vs " << workers / r
                        << " x " << r;
                }
        }
}

TEST(DecompositionLayout, DescribeBands) {
    const decomposition d(30, 30, 31);
    std::istringstream in(d.describe());
    int bands = 0, lo = 0, hi = 0;
    std::string word1, word2, blocks;
    char dash = 0;
    in >> bands >> word1 >> word2 >> lo >> dash >> hi >> blocks;
    EXPECT_EQ(word1, "bands");
    EXPECT_EQ(word2, "of");
    EXPECT_EQ(dash, '-');
    EXPECT_EQ(blocks, "blocks");
    EXPECT_EQ(bands, d.bands());
    EXPECT_EQ(hi, lo + 1);
}

TEST(DecompositionErrors, MoreWorkersThanCellsThrowsUsageError) {
    EXPECT_THROW(decomposition(3, 3, 10), usage_error);
    EXPECT_THROW(decomposition(1, 1, 2), usage_error);
    EXPECT_THROW(decomposition(30, 30, 901), usage_error);
    EXPECT_NO_THROW(decomposition(30, 30, 900));
    try {
        decomposition(2, 3, 7);
        FAIL() << "no throw";
    } catch (const usage_error& e) {
        EXPECT_EQ(e.exit_code(), 2);
        const std::string what = e.what();
        EXPECT_NE(what.find('7'), std::string::npos) << what;
    }
}

TEST(DecompositionErrors, NonPositiveArgumentsThrowUsageError) {
    EXPECT_THROW(decomposition(0, 3, 1), usage_error);
    EXPECT_THROW(decomposition(3, 0, 1), usage_error);
    EXPECT_THROW(decomposition(3, 3, 0), usage_error);
    EXPECT_THROW(decomposition(-3, 3, 1), usage_error);
    EXPECT_THROW(decomposition(3, 3, -1), usage_error);
}

TEST(DecompositionNeighbours, SingleWorkerHasNone) {
    for (auto [W, H] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {2, 2}, {30, 30}, {1, 9}}) {
        const decomposition d(W, H, 1);
        EXPECT_TRUE(d.neighbours(0).empty());
        EXPECT_EQ(d.block_of(0), (block{0, 0, W, H}));
    }
}

TEST(DecompositionNeighbours, FourByFourOn30x30) {
    // A 4 x 4 process grid on a torus: every block has exactly 8 neighbouring blocks.
    const decomposition d(30, 30, 16);
    ASSERT_TRUE(d.aligned());
    for (int w = 0; w < 16; ++w) {
        const auto n = d.neighbours(w);
        EXPECT_EQ(n.size(), 8u) << w;
        const int c = w % 4, r = w / 4;
        std::set<int> want;
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc)
                if (dr || dc) want.insert(((r + dr + 4) % 4) * 4 + (c + dc + 4) % 4);
        EXPECT_EQ(n, std::vector<int>(want.begin(), want.end())) << w;
    }
    // 2 x 2: each block touches the three others (on both sides, through the torus).
    const decomposition q(30, 30, 4);
    for (int w = 0; w < 4; ++w)
        EXPECT_EQ(q.neighbours(w).size(), 3u);
}

TEST(DecompositionLayout, IsAPureFunction) {
    for (int workers : {1, 5, 31, 64}) {
        const decomposition a(30, 30, workers), b(30, 30, workers);
        EXPECT_EQ(a.blocks(), b.blocks());
        EXPECT_EQ(a.describe(), b.describe());
    }
}

} // namespace
