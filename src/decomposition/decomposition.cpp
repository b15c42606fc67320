#include "fireflies/decomposition.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "fireflies/error.hpp"

namespace fireflies {

std::vector<std::int64_t> even_split(std::int64_t n, std::int64_t k) {
    std::vector<std::int64_t> bounds(static_cast<std::size_t>(k + 1), 0);
    const std::int64_t base = n / k, extra = n % k;
    for (std::int64_t i = 0; i < k; ++i)
        bounds[static_cast<std::size_t>(i + 1)] =
            bounds[static_cast<std::size_t>(i)] + base + (i < extra ? 1 : 0);
    return bounds;
}

namespace {

struct layout {
    std::vector<std::int64_t> blocks_per_band; // one entry per band
    std::vector<std::int64_t> band_y0;
    double halo = std::numeric_limits<double>::infinity(); // sum of block perimeters, cells
    bool aligned = false;
};

// Band heights proportional to the blocks each band holds (largest remainder), each >= 1.
std::vector<std::int64_t> band_heights(std::int64_t height, const std::vector<std::int64_t>& counts,
                                       std::int64_t workers) {
    const auto bands = static_cast<std::int64_t>(counts.size());
    bool uniform =
        std::all_of(counts.begin(), counts.end(), [&](auto c) { return c == counts[0]; });
    if (uniform) return even_split(height, bands);
    std::vector<std::int64_t> h(counts.size(), 1);
    std::int64_t left = height - bands;
    std::vector<std::pair<std::int64_t, std::size_t>> rem; // remainder numerators
    std::int64_t given = 0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
        const std::int64_t num = left * counts[b];
        h[b] += num / workers;
        given += num / workers;
        rem.emplace_back(-(num % workers), b);
    }
    std::sort(rem.begin(), rem.end());
    for (std::int64_t i = 0; i < left - given; ++i)
        ++h[rem[static_cast<std::size_t>(i)].second];
    std::vector<std::int64_t> y0{0};
    for (auto v : h)
        y0.push_back(y0.back() + v);
    return y0;
}

layout plan(std::int64_t width, std::int64_t height, std::int64_t workers) {
    layout best_aligned, best_any;
    const std::int64_t max_bands = std::min(height, workers);
    for (std::int64_t bands = 1; bands <= max_bands; ++bands) {
        const std::int64_t q = workers / bands, extra = workers % bands;
        if (q + (extra ? 1 : 0) > width) continue;
        layout l;
        l.aligned = extra == 0;
        for (std::int64_t b = 0; b < bands; ++b)
            l.blocks_per_band.push_back(q + (b < extra ? 1 : 0));
        l.band_y0 = band_heights(height, l.blocks_per_band, workers);
        l.halo = 0;
        for (std::int64_t b = 0; b < bands; ++b) {
            const double h = static_cast<double>(l.band_y0[static_cast<std::size_t>(b + 1)] -
                                                 l.band_y0[static_cast<std::size_t>(b)]);
            const double n = static_cast<double>(l.blocks_per_band[static_cast<std::size_t>(b)]);
            l.halo += 2.0 * (static_cast<double>(width) + n * h);
        }
        layout& slot = l.aligned ? best_aligned : best_any;
        if (l.halo < slot.halo) slot = l;
    }
    if (!best_aligned.blocks_per_band.empty()) return best_aligned;
    if (!best_any.blocks_per_band.empty()) return best_any;
    throw usage_error("more workers (" + std::to_string(workers) + ") than cells (" +
                      std::to_string(width) + " x " + std::to_string(height) + ")");
}

} // namespace

decomposition::decomposition(std::int64_t width, std::int64_t height, int workers)
    : width_(width), height_(height) {
    if (width < 1 || height < 1 || workers < 1)
        throw usage_error("decomposition needs a positive grid and at least one worker");
    if (static_cast<std::int64_t>(workers) > width * height)
        throw usage_error("more workers (" + std::to_string(workers) + ") than cells (" +
                          std::to_string(width) + " x " + std::to_string(height) + " = " +
                          std::to_string(width * height) + ")");
    const layout l = plan(width, height, workers);
    aligned_ = l.aligned;
    band_y0_ = l.band_y0;
    int next = 0;
    for (std::size_t b = 0; b < l.blocks_per_band.size(); ++b) {
        band_first_.push_back(next);
        band_x0_.push_back(even_split(width, l.blocks_per_band[b]));
        const auto& xs = band_x0_.back();
        for (std::size_t i = 0; i + 1 < xs.size(); ++i, ++next)
            blocks_.push_back(
                {xs[i], band_y0_[b], xs[i + 1] - xs[i], band_y0_[b + 1] - band_y0_[b]});
    }
}

int decomposition::owner(std::int64_t x, std::int64_t y) const noexcept {
    x %= width_;
    if (x < 0) x += width_;
    y %= height_;
    if (y < 0) y += height_;
    const auto band = static_cast<std::size_t>(
        std::upper_bound(band_y0_.begin(), band_y0_.end(), y) - band_y0_.begin() - 1);
    const auto& xs = band_x0_[band];
    const auto col = std::upper_bound(xs.begin(), xs.end(), x) - xs.begin() - 1;
    return band_first_[band] + static_cast<int>(col);
}

std::vector<int> decomposition::neighbours(int worker, std::int64_t reach) const {
    const block& b = block_of(worker);
    std::set<int> found;
    // The halo's columns [x_first, x_end) and rows around the block, unwrapped; where 2 reach
    // would wrap past the block itself, every column (row) of the torus once.
    const bool all_columns = b.width + 2 * reach >= width_,
               all_rows = b.height + 2 * reach >= height_;
    const std::int64_t x_first = all_columns ? b.x0 + b.width - width_ : b.x0 - reach;
    const std::int64_t x_end = all_columns ? b.x0 + b.width : b.x0 + b.width + reach;
    const std::int64_t y_first = all_rows ? b.y0 + b.height - height_ : b.y0 - reach;
    const std::int64_t y_end = all_rows ? b.y0 + b.height : b.y0 + b.height + reach;
    auto look = [&](std::int64_t x, std::int64_t y) {
        const int o = owner(x, y);
        if (o != worker) found.insert(o);
    };
    for (std::int64_t y = y_first; y < y_end; ++y) {
        if (y >= b.y0 && y < b.y0 + b.height) {
            // Beside the block: the columns left and right of it.
            for (std::int64_t x = x_first; x < b.x0; ++x)
                look(x, y);
            for (std::int64_t x = b.x0 + b.width; x < x_end; ++x)
                look(x, y);
        } else {
            for (std::int64_t x = x_first; x < x_end; ++x)
                look(x, y);
        }
    }
    return {found.begin(), found.end()};
}

std::string decomposition::describe() const {
    if (aligned_) return std::to_string(band_x0_[0].size() - 1) + " x " + std::to_string(bands());
    std::size_t lo = band_x0_[0].size() - 1, hi = lo;
    for (const auto& xs : band_x0_) {
        lo = std::min(lo, xs.size() - 1);
        hi = std::max(hi, xs.size() - 1);
    }
    return std::to_string(bands()) + " bands of " + std::to_string(lo) + "-" + std::to_string(hi) +
           " blocks";
}

} // namespace fireflies
