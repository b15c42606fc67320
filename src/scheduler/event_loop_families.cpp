// The event loop built for the model families (docs/model.md): a period spread and the general
// phase response (--prc-dissipation, inhibitory nudges), one build per combination of their
// switches (with_family_rules, event_loop_builds.hpp); and all-to-all coupling, with any of the
// rules. With the default's 8 Moore neighbours (any other neighbourhood: event_loop_wide.cpp). In a
// unit of its own, so that these builds do not change how the compiler builds (inlines) the
// default model's loop in event_loop.cpp: the families cost only when used.
#include "scheduler/event_loop_builds.hpp"

namespace fireflies {

/// Calls f(rules) with the run's rules: the default model's builds (all-to-all coupling alone),
/// or the families'.
template <class F> void event_loop::with_any_rules(F&& f) const {
    const model_params& p = rules_.params();
    if (p.own_periods() || p.general_prc) return with_family_rules(p, f);
    with_fixed_rules(f);
}

void event_loop::file_turns_family(std::int64_t k) {
    with_any_rules([&](const auto& rules) { file_turns(rules, k); });
}

void event_loop::process_interval_family(tick_t end) {
    if (all_to_all_)
        return with_any_rules([&](const auto& rules) { process_interval_all_to_all(rules, end); });
    with_family_rules(rules_.params(), [&](const auto& rules) { process_interval(rules, end); });
}

// --coupling all-to-all: every worker's flashes of the epoch to every worker (an all-gather),
// into (time, firefly) order, the same on every worker whatever the order of the workers'.
void event_loop::gather_all(worker_link& link) {
    arriving_.clear();
    link.gather_flashes(flashes_, arriving_);
    flashes_.clear();
    std::sort(arriving_.begin(), arriving_.end());
}

// k pulses reach firefly `local` at t (k flashes of one instant): first its own turns before it,
// then the pulses, up to the one that makes it flash; the rest find it refractory (the flash
// instant) and are held or dropped. The same as k calls of deliver().
template <class Rules>
void event_loop::deliver_pulses(const Rules& rules, std::uint32_t local, tick_t t,
                                std::uint32_t k) {
    const auto f = view(rules, local);
    if constexpr (Rules::switches::spread())
        if (f.refractory == pacemaker_refractory) return; // a pacemaker ignores pulses
    const tick_t before = rules.next_turn(f);
    while (rules.acts_before(f, t))
        take_turn(local, rules.next_turn(f));
    const std::uint32_t used = rules.absorb_pulses(f, t, k);
    if (f.flash_at <= t) {
        take_turn(local, t);
        rules.hold(f, k - used);
    }
    refile(rules, local, before);
}

// All-to-all: the flashes whose pulses arrive before `end`, one instant at a time. The k flashes
// of one instant send k identical pulses to every firefly of the block but their own sources,
// which get k - 1 (no self-coupling): one pass over the block per instant, whatever k, each
// firefly's pulses taken together (deliver_pulses). Pulses are identical, so their sources'
// order does not matter, and every worker applies the same pulses at the same instants: the same
// run for any number of ranks. Then the due list, as in process_interval (event_loop_builds.hpp).
template <class Rules>
void event_loop::process_interval_all_to_all(const Rules& rules, tick_t end) {
    const tick_t delay = rules.params().delay;
    const std::size_t n = arriving_.size();
    const auto cells = static_cast<std::uint32_t>(flash_at_.size());
    while (next_arrival_ < n && arriving_[next_arrival_].t + delay < end) {
        const tick_t at = arriving_[next_arrival_].t;
        // This instant's flashes of the block's own fireflies, ascending (arriving_ is in
        // (time, id) order, and the local index grows with the id within a block).
        sources_.clear();
        std::size_t last = next_arrival_;
        for (; last < n && arriving_[last].t == at; ++last) {
            std::int64_t y = 0, x = 0;
            by_width_.split(static_cast<std::int64_t>(arriving_[last].agent), y, x);
            if (block_.contains(x, y))
                sources_.push_back(
                    static_cast<std::uint32_t>((y - block_.y0) * block_.width + (x - block_.x0)));
        }
        const auto k = static_cast<std::uint32_t>(last - next_arrival_);
        next_arrival_ = last;
        const tick_t t = at + delay;
        std::size_t s = 0;
        for (std::uint32_t i = 0; i < cells; ++i) {
            const std::uint32_t own = s < sources_.size() && sources_[s] == i ? 1 : 0;
            s += own;
            if (k > own) deliver_pulses(rules, i, t, k - own);
        }
        totals_.pulses_delivered +=
            static_cast<std::int64_t>(k) * cells - static_cast<std::int64_t>(sources_.size());
    }
    for (std::size_t i = 0; i < due_.size(); ++i)
        visit<Rules, true>(rules, due_[i], end);
}

} // namespace fireflies
