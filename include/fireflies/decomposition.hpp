#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fireflies {

/// One worker's rectangle of the grid: columns [x0, x0 + width), rows [y0, y0 + height).
struct block {
    std::int64_t x0 = 0, y0 = 0, width = 0, height = 0;

    std::int64_t cells() const noexcept { return width * height; }
    bool contains(std::int64_t x, std::int64_t y) const noexcept {
        return x >= x0 && x < x0 + width && y >= y0 && y < y0 + height;
    }
    friend bool operator==(const block&, const block&) = default;
};

/// Who owns which block of a W x H torus, as a pure function of (W, H, workers): no MPI here.
///
/// The grid is cut into horizontal bands, each band into blocks. When `workers` factors as
/// columns x rows with columns <= W and rows <= H, every band has the same cuts: an ordinary 2-D
/// process grid, the factorisation with the least halo perimeter (for a square grid, the most
/// square one, as MPI_Dims_create picks), block sizes differing by at most one row and one
/// column. Otherwise (e.g. a prime worker count above both W and H) bands hold q or q + 1
/// blocks and band heights follow their block counts, so block areas stay balanced.
/// Workers are numbered band by band, left to right; worker w is MPI rank w + 1.
class decomposition {
  public:
    decomposition(std::int64_t width, std::int64_t height, int workers);

    std::int64_t width() const noexcept { return width_; }
    std::int64_t height() const noexcept { return height_; }
    int workers() const noexcept { return static_cast<int>(blocks_.size()); }
    const block& block_of(int worker) const { return blocks_.at(static_cast<std::size_t>(worker)); }
    const std::vector<block>& blocks() const noexcept { return blocks_; }

    /// The worker that owns cell (x, y); coordinates are taken modulo the grid (torus).
    int owner(std::int64_t x, std::int64_t y) const noexcept;

    /// Workers owning a cell within `reach` cells (Chebyshev distance, torus) of `worker`'s
    /// block but outside it, ascending: with reach 1 the owners of its Moore neighbours, with
    /// --radius R those of its halo R cells deep, however narrow the blocks around it. A block
    /// that wraps onto itself is its own neighbour and is not listed. Symmetric: a worker lists
    /// every worker that lists it.
    std::vector<int> neighbours(int worker, std::int64_t reach = 1) const;

    /// True for an ordinary columns x rows process grid.
    bool aligned() const noexcept { return aligned_; }
    int bands() const noexcept { return static_cast<int>(band_y0_.size()) - 1; }
    /// "3 x 2" for a process grid (columns x rows), or "5 bands of 6-7 blocks" otherwise.
    std::string describe() const;

  private:
    std::int64_t width_, height_;
    bool aligned_ = true;
    std::vector<std::int64_t> band_y0_;              // bands + 1 row boundaries
    std::vector<std::vector<std::int64_t>> band_x0_; // per band: blocks + 1 column boundaries
    std::vector<int> band_first_;                    // first worker of each band
    std::vector<block> blocks_;
};

/// Splits n items into k parts that differ by at most one, larger parts first; returns k + 1
/// boundaries.
std::vector<std::int64_t> even_split(std::int64_t n, std::int64_t k);

} // namespace fireflies
