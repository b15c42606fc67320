// The event loop built for the model families (docs/model.md): a period spread and the general
// phase response (--prc-dissipation, inhibitory nudges), one build per combination of their
// switches (with_family_rules, event_loop.hpp), with the default's 8 Moore neighbours (any other
// neighbourhood: block_simulation_wide.cpp). In a unit of its own, so that these builds do not
// change how the compiler builds (inlines) the default model's loop in block_simulation.cpp: the
// families cost only when used.
#include "scheduler/event_loop.hpp"

namespace fireflies {

void block_simulation::file_turns_family(std::int64_t k) {
    with_family_rules(rules_.params(), [&](const auto& rules) { file_turns(rules, k); });
}

void block_simulation::process_interval_family(tick_t end) {
    with_family_rules(rules_.params(), [&](const auto& rules) { process_interval(rules, end); });
}

} // namespace fireflies
