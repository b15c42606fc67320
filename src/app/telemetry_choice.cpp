#include "app/telemetry_choice.hpp"

#include <algorithm>
#include <cstdio>

namespace fireflies {

std::string choose_telemetry(run_config& config, int workers) {
    if (!config.telemetry_auto) return {};
    config.telemetry_auto = false;
    const double cells = static_cast<double>(config.width) * static_cast<double>(config.height);
    double rate = static_cast<double>(workers) * telemetry_capacity::worker_rate;
    if (config.effective_speed() > 0) rate = std::min(rate, cells * config.effective_speed());
    const double events = rate / config.period;
    char text[256];
    // A --record-region's flashes reach the hub in either telemetry; the whole grid's only as
    // events.
    const bool whole_grid_recorded = config.record_flashes && config.record_region.whole();
    if (whole_grid_recorded || config.visualize) {
        config.telemetry = telemetry_mode::events;
        std::snprintf(text, sizeof text, "auto: %s needs every flash at the hub",
                      whole_grid_recorded ? "--record-flashes" : "--visualize");
    } else if (events <= telemetry_capacity::hub_events) {
        config.telemetry = telemetry_mode::events;
        std::snprintf(text, sizeof text,
                      "auto: up to %.2g flash events per wall second, within the hub's %.2g",
                      events, telemetry_capacity::hub_events);
    } else {
        config.telemetry = telemetry_mode::summary;
        std::snprintf(text, sizeof text,
                      "auto: up to %.2g flash events per wall second would be more than the hub's "
                      "%.2g; the same "
                      "series from per-sample sums",
                      events, telemetry_capacity::hub_events);
    }
    return text;
}

} // namespace fireflies
