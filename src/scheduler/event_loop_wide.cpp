// The event loop built for any neighbourhood but the default's 8 Moore cells (--neighbourhood,
// --radius; docs/model.md), with the default model's rules and with the model families'. In a
// unit of its own, like the families' (event_loop_families.cpp), so that these builds
// change neither how the compiler builds the default model's loop nor the families'.
#include "scheduler/event_loop_builds.hpp"

namespace fireflies {

void event_loop::process_interval_wide(tick_t end) {
    auto wide = [&](const auto& rules) {
        process_interval<std::remove_cvref_t<decltype(rules)>, true>(rules, end);
    };
    const model_params& p = rules_.params();
    if (p.own_periods() || p.general_prc)
        with_family_rules(p, wide);
    else
        with_fixed_rules(wide);
}

} // namespace fireflies
