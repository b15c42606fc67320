#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "fireflies/config.hpp"

namespace fireflies {

/// The cells a firefly's flash reaches (docs/model.md, "The grid"): those within distance R of
/// it, Chebyshev distance for moore, Manhattan for von-neumann, on the W x H torus or, with
/// --boundary open, on the rectangle; each distinct cell once, never the firefly itself (on a
/// torus narrower than 2R + 1 cells a cell reached both ways round counts once). A pure function
/// of the grid and the options, shared by the configuration check, the decomposition's halo and
/// the scheduler, so that they agree.
class neighbourhood {
  public:
    neighbourhood(std::int64_t width, std::int64_t height, neighbourhood_kind kind,
                  std::int64_t radius, boundary_kind boundary) noexcept
        : width_(width), height_(height), radius_(radius), kind_(kind),
          open_(boundary == boundary_kind::open) {}
    static neighbourhood of(const run_config& c) noexcept {
        return {c.width, c.height, c.neighbourhood, c.radius, c.boundary};
    }

    std::int64_t radius() const noexcept { return radius_; }
    /// The default model's: the 8 cells around (moore, radius 1).
    bool moore_one() const noexcept { return kind_ == neighbourhood_kind::moore && radius_ == 1; }

    /// Neighbours of a firefly at least R cells from every edge (with --boundary periodic, every
    /// firefly of a grid at least 2R + 1 cells a side): (2R + 1)^2 - 1 for moore, 2R(R + 1) for
    /// von-neumann.
    std::int64_t full_count() const noexcept {
        return kind_ == neighbourhood_kind::moore ? (2 * radius_ + 1) * (2 * radius_ + 1) - 1
                                                  : 2 * radius_ * (radius_ + 1);
    }

    /// The largest distance between two cells of the grid (with the wrap on the torus): a larger
    /// radius reaches no further cell.
    std::int64_t diameter() const noexcept {
        const std::int64_t dx = open_ ? width_ - 1 : width_ / 2,
                           dy = open_ ? height_ - 1 : height_ / 2;
        return kind_ == neighbourhood_kind::moore ? std::max(dx, dy) : dx + dy;
    }

    /// Whether an offset (dx, dy) is within the radius (wrapping aside).
    bool reaches(std::int64_t dx, std::int64_t dy) const noexcept {
        const std::int64_t ax = dx < 0 ? -dx : dx, ay = dy < 0 ? -dy : dy;
        return kind_ == neighbourhood_kind::moore ? std::max(ax, ay) <= radius_
                                                  : ax + ay <= radius_;
    }

    /// The offsets (dx, dy) of every neighbour of a firefly far from the edges, row by row.
    std::vector<std::pair<std::int64_t, std::int64_t>> offsets() const {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        for (std::int64_t dy = -radius_; dy <= radius_; ++dy)
            for (std::int64_t dx = -radius_; dx <= radius_; ++dx)
                if ((dx != 0 || dy != 0) && reaches(dx, dy)) out.emplace_back(dx, dy);
        return out;
    }

    /// Calls f(x, y) for each neighbour of cell (x, y), row by row: each distinct cell once, at
    /// its shortest offset (O(neighbours), no search for repeats).
    template <class F> void for_each(std::int64_t x, std::int64_t y, F&& f) const {
        const span rows = along(y, height_, radius_);
        for (std::int64_t dy = rows.first; dy <= rows.last; ++dy) {
            const std::int64_t ny = wrap(y + dy, height_);
            const std::int64_t reach =
                kind_ == neighbourhood_kind::moore ? radius_ : radius_ - (dy < 0 ? -dy : dy);
            const span columns = along(x, width_, reach);
            for (std::int64_t dx = columns.first; dx <= columns.last; ++dx)
                if (dx != 0 || dy != 0) f(wrap(x + dx, width_), ny);
        }
    }

  private:
    struct span {
        std::int64_t first, last; // offsets, inclusive
    };
    /// The offsets within `reach` of coordinate s on an axis of n cells, each cell once: up to
    /// the edges when open; on the torus [-reach, reach], or when that wraps onto itself
    /// (2 reach + 1 > n) every cell once at its shortest offset, each within reach.
    span along(std::int64_t s, std::int64_t n, std::int64_t reach) const noexcept {
        if (open_) return {std::max(-reach, -s), std::min(reach, n - 1 - s)};
        if (2 * reach + 1 <= n) return {-reach, reach};
        const std::int64_t below = (n - 1) / 2;
        return {-below, n - 1 - below};
    }
    static std::int64_t wrap(std::int64_t v, std::int64_t n) noexcept {
        return v < 0 ? v + n : (v >= n ? v - n : v);
    }

    std::int64_t width_, height_, radius_;
    neighbourhood_kind kind_;
    bool open_;
};

} // namespace fireflies
