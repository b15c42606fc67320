// The default model's event loop where the CPU has AVX2 (drop mode, the flash instant not
// checked: the seed's parameters): an interior flash's eight pulses four flash times at a time
// (moore_lanes.hpp). In a unit of its own, like the families' (event_loop_families.cpp), so that
// this build and the scalar builds of event_loop.cpp do not change how the compiler builds
// (inlines) each other.
#include "scheduler/event_loop_builds.hpp"

namespace fireflies {

void event_loop::process_interval_lanes(tick_t end) {
    process_interval_avx2(fixed_firefly_rules<refractory_mode::drop, false>(rules_.params()), end);
}

} // namespace fireflies
