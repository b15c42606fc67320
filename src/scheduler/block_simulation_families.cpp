// The event loop built for the model families (docs/model.md): a period spread and the general
// phase response (--prc-dissipation, inhibitory nudges), one build per combination of their
// switches, each with the default's 8 Moore neighbours and with any neighbourhood
// (--neighbourhood, --radius; the default model's rules too). In a unit of its own, so that these builds do not change how the compiler builds
// (inlines) the default model's loop in block_simulation.cpp: the families cost only when used.
#include <type_traits>

#include "scheduler/event_loop.hpp"

namespace fireflies {

namespace {

/// Calls f(rules) with the family's rules, their switches fixed at compile time.
template <class F> void with_family_rules(const model_params& p, F&& f) {
    using enum refractory_mode;
    if (p.spread == 0 && !p.general_prc) {
        // The default model's rules (with a wide neighbourhood).
        if (fixed_switches<drop, false>::fit(p)) return f(fixed_firefly_rules<drop, false>(p));
        if (fixed_switches<drop, true>::fit(p)) return f(fixed_firefly_rules<drop, true>(p));
        if (fixed_switches<queue, false>::fit(p)) return f(fixed_firefly_rules<queue, false>(p));
        return f(fixed_firefly_rules<queue, true>(p));
    }
    if (p.spread > 0) {
        // A period spread (the flash instant is always checked).
        if (fixed_switches<drop, true, false, true>::fit(p)) return f(fixed_firefly_rules<drop, true, false, true>(p));
        if (fixed_switches<queue, true, false, true>::fit(p)) return f(fixed_firefly_rules<queue, true, false, true>(p));
        if (fixed_switches<drop, true, true, true>::fit(p)) return f(fixed_firefly_rules<drop, true, true, true>(p));
        return f(fixed_firefly_rules<queue, true, true, true>(p));
    }
    // The general phase response (B > 0 or an inhibitory nudge).
    if (fixed_switches<drop, false, true>::fit(p)) return f(fixed_firefly_rules<drop, false, true>(p));
    if (fixed_switches<drop, true, true>::fit(p)) return f(fixed_firefly_rules<drop, true, true>(p));
    if (fixed_switches<queue, false, true>::fit(p)) return f(fixed_firefly_rules<queue, false, true>(p));
    return f(fixed_firefly_rules<queue, true, true>(p));
}

} // namespace

void block_simulation::file_turns_family(std::int64_t k) {
    with_family_rules(rules_.params(), [&](const auto& rules) { file_turns(rules, k); });
}

void block_simulation::process_interval_family(tick_t end) {
    with_family_rules(rules_.params(), [&](const auto& rules) {
        using switches = typename std::remove_cvref_t<decltype(rules)>::switches;
        if constexpr (switches::spread() || switches::general_prc()) {
            if (!wide_) return process_interval(rules, end);
        }
        process_interval<std::remove_cvref_t<decltype(rules)>, true>(rules, end);
    });
}

} // namespace fireflies
