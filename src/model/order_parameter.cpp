#include "fireflies/order_parameter.hpp"

#include <numbers>

namespace fireflies {

phasor_sum phasor_sum::of(tick_t phase, tick_t period) noexcept {
    tick_t r = phase % period;
    if (r < 0) r += period;
    const double angle = 2.0 * std::numbers::pi * (static_cast<double>(r) / static_cast<double>(period));
    return {std::llround(std::cos(angle) * scale), std::llround(std::sin(angle) * scale)};
}

} // namespace fireflies
