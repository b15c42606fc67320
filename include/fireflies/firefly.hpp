#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fireflies/config.hpp"
#include "fireflies/random.hpp"
#include "fireflies/time.hpp"

namespace fireflies {

/// The model's constants in ticks (see time.hpp), derived once from a run_config.
struct model_params {
    tick_t period = 0;     ///< T
    tick_t nudge = 0;      ///< e, phase added by one pulse
    tick_t refractory = 0; ///< Rf, in ticks of phase (refractory fraction * T)
    tick_t jitter = 0;     ///< phase after a flash is U(0, jitter)
    tick_t delay = 0;      ///< d, flash to pulse arrival
    refractory_mode mode = refractory_mode::drop;
    std::uint64_t seed = 0;
    /// The phase response of a pulse (docs/model.md, "Dissipation"): false for the constant
    /// advance phase += e in exact integer ticks (B = 0, e >= 0, the default); true for the
    /// general map phase' = min(T, max(0, llround(prc_a * phase + prc_c))), which B > 0 (the
    /// Mirollo-Strogatz state function) and inhibitory nudges (e < 0) need.
    bool general_prc = false;
    double prc_a = 1;                ///< e^(B e/T); 1 for B = 0
    double prc_c = 0;                ///< T (e^(B e/T) - 1) / (e^B - 1), in ticks; e for B = 0
    double dissipation = 0;          ///< B
    double prc_num = 0, prc_den = 1; ///< e^(B e/T) - 1 and e^B - 1: c = T prc_num / prc_den

    /// Each firefly's own period (docs/model.md, "Period spread"): 0 for one period T for all.
    tick_t spread = 0;
    period_distribution distribution = period_distribution::normal;
    double refractory_fraction = 0; ///< r: a firefly's Rf is r times its own period
    /// Some fireflies are pacemakers (docs/model.md, "Pacemakers"): with their own fixed periods,
    /// they take the loop with the fireflies' own periods, as a period spread does.
    bool pacemakers = false;
    /// Whether fireflies have periods of their own: a period spread, or pacemakers.
    bool own_periods() const noexcept { return spread > 0 || pacemakers; }

    static model_params from(const run_config& c) noexcept;
    /// Fills general_prc, prc_a and prc_c from the period, the nudge (in ticks) and B.
    void set_dissipation(double b) noexcept;
};

/// A firefly's own period and refractory length, in ticks (with a period spread).
struct own_period {
    tick_t period = 0;
    tick_t refractory = 0;
    friend bool operator==(const own_period&, const own_period&) = default;
};

/// The first draw number of the stream of a firefly's own period: far above the draws of its
/// start and reset phases (a 32-bit counter), so that they are not touched.
inline constexpr std::uint64_t period_stream = std::uint64_t{1} << 63;

/// Firefly `id`'s own period and refractory length: T and Rf without a spread; with one, drawn
/// once from its own stream (docs/model.md, "Period spread").
own_period natural_period(const model_params& p, std::uint64_t id) noexcept;

/// A pacemaker as the model takes it: its firefly's id and its period in ticks.
struct pacemaker_period {
    std::uint64_t id = 0;
    tick_t period = 0;
    friend auto operator<=>(const pacemaker_period&, const pacemaker_period&) = default;
};
/// The run's pacemakers (--pacemaker), sorted by id; a period of 0 is the run's.
std::vector<pacemaker_period> pacemaker_periods(const run_config& c);
/// A pacemaker's refractory length in own_period: a mark, never a length (a pacemaker ignores
/// pulses, so nothing asks whether it is refractory).
inline constexpr tick_t pacemaker_refractory = -1;
/// Firefly `id`'s own period: a pacemaker's (its refractory length pacemaker_refractory), else
/// natural_period. `pacemakers` sorted by id.
own_period own_period_of(const model_params& p, const std::vector<pacemaker_period>& pacemakers,
                         std::uint64_t id);
/// Whether firefly `id` is one of `pacemakers` (sorted by id).
bool is_pacemaker(const std::vector<pacemaker_period>& pacemakers, std::uint64_t id) noexcept;

/// One pulse's new phase under the general phase response: min(T, max(0, llround(a phase + c))),
/// with a phase in [0, T]. The product and the sum are rounded separately (the empty asm keeps
/// the compiler from fusing them into one fused multiply-add where -march allows it), and
/// std::llround rounds halves away from zero: the same double operations, in the same order, on
/// every rank, so every rank (the same binary on the same kind of machine) computes the same
/// tick, as does the Python reference of tests/reference.
inline tick_t general_response(double a, double c, tick_t period, tick_t phase) noexcept {
    double product = a * static_cast<double>(phase);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(product));
#else
    product = *static_cast<volatile double*>(&product);
#endif
    const double x = product + c;
    if (!(x < static_cast<double>(period))) return period;
    if (!(x > 0)) return 0;
    const tick_t r = std::llround(x);
    return r < period ? r : period;
}

/// Everything that is one firefly, and all a checkpoint needs of it: 24 bytes.
///
/// The phase is kept as the time at which it reaches T if nothing else happens:
/// phi(t) = T - (flash_at - t), exact in integer ticks, growing at rate 1 with no bookkeeping; a
/// pulse moves flash_at earlier by e, a flash sets it to t + T - jitter. While the firefly is
/// refractory it ignores (drop) or holds (queue) pulses, so flash_at is then still the one its
/// last flash set, and the end of its refractory period follows from flash_at and last_flash
/// (firefly_rules::refractory_until).
struct firefly {
    tick_t flash_at = 0;      ///< when its phase reaches T, unless pulses come first
    tick_t last_flash = -1;   ///< its latest flash, -1 before the first
    std::uint32_t draws = 0;  ///< random draws used so far (the counter of its random stream)
    std::uint32_t queued = 0; ///< pulses held during the refractory period (queue mode)

    friend bool operator==(const firefly&, const firefly&) = default;
};

/// The fields of a firefly besides its flash time: what its own turns need (and pulses only in
/// the rarer configurations, see firefly_rules). A block keeps the flash times, which every pulse
/// reads, in an array of their own, and these apart: in the coroutine engine each firefly's in
/// its coroutine's promise, on the same cache line as the rest of its frame.
struct firefly_rest {
    tick_t last_flash = -1;
    std::uint32_t draws = 0;
    std::uint32_t queued = 0;
};

/// A firefly whose fields live in other storage (a block keeps each flash time, which every
/// pulse reads, apart from the rest, which only the firefly's own turns need): the same fields,
/// as references. firefly_rules takes either.
struct firefly_ref {
    tick_t& flash_at;
    tick_t& last_flash;
    std::uint32_t& draws;
    std::uint32_t& queued;
};

/// A firefly that carries its own period (a run with a period spread): the rules read T and Rf
/// from it rather than from the run's parameters.
struct firefly_spread : firefly {
    tick_t period = 0;
    tick_t refractory = 0;
};
/// The same, with the fields in a block's storage (its period and Rf as values).
struct firefly_ref_spread : firefly_ref {
    tick_t period;
    tick_t refractory;
};

/// What a firefly's own turn did.
enum class reaction : std::uint8_t { quiet, flashed };

/// The switches of the rules that depend on the run's parameters: the refractory mode, whether
/// the flash instant itself must be checked (a flash can leave the phase at or above Rf: jitter
/// > Rf, or Rf < 1 tick), and whether a pulse takes the general phase response (B > 0 or e < 0)
/// rather than the integer advance. firefly_rules reads them from the parameters; an event loop
/// fixes them at compile time with fixed_switches, one build of the loop per combination, so
/// that a pulse in drop mode does not test for queue mode, and the default model does not test
/// for the general response.
struct run_switches {
    refractory_mode mode_;
    bool instant_matters_;
    bool general_prc_;
    bool spread_;
    explicit run_switches(const model_params& p) noexcept
        : mode_(p.mode),
          // With a period spread, Rf and the jitter compare firefly by firefly: check the instant.
          instant_matters_(p.own_periods() ||
                           (p.jitter > 0 ? p.jitter > p.refractory : p.refractory < 1)),
          general_prc_(p.general_prc), spread_(p.own_periods()) {}
    refractory_mode mode() const noexcept { return mode_; }
    bool instant_matters() const noexcept { return instant_matters_; }
    bool general_prc() const noexcept { return general_prc_; }
    bool spread() const noexcept { return spread_; }
};

template <refractory_mode Mode, bool InstantMatters, bool GeneralPrc = false, bool Spread = false>
struct fixed_switches {
    /// Checks that `p` has these switches.
    static bool fit(const model_params& p) noexcept {
        const run_switches s(p);
        return s.mode() == Mode && s.instant_matters() == InstantMatters &&
               s.general_prc() == GeneralPrc && s.spread() == Spread;
    }
    explicit fixed_switches(const model_params&) noexcept {}
    static constexpr refractory_mode mode() noexcept { return Mode; }
    static constexpr bool instant_matters() noexcept { return InstantMatters; }
    static constexpr bool general_prc() noexcept { return GeneralPrc; }
    static constexpr bool spread() noexcept { return Spread; }
};

/// The model's rules (docs/model.md). Pure: no I/O, no scheduling. The scheduler decides *when*
/// something happens; these decide *what* it does. Each rule takes a `firefly` or a
/// `firefly_ref`. Written once for both kinds of switches (firefly_rules, and the
/// fixed_firefly_rules of the event loop), which therefore compute the same.
///
/// A firefly's events are pulses, and its own turns: its flash (its phase reaches T, on its own
/// or pushed there by a pulse) and, in queue mode with pulses held, the end of its refractory
/// period, where the phase is exactly Rf and the held pulses apply. A scheduler applies a
/// pulse at t by first taking every turn that comes before it (acts_before), then absorb(); when
/// that says the phase reached T, the firefly takes its turn at t (act: it flashes).
///
/// Order at equal times, for one firefly: pulses (in any order: they are identical) before its
/// flash; the end of its refractory period before pulses (at that instant it no longer is).
///
/// Pulses read only flash_at unless the run needs more: queued only in queue mode (it is 0 in
/// drop mode), last_flash only when a flash can leave the phase at or above Rf (jitter > Rf, or
/// Rf < 1 tick), where the flash instant itself is what keeps it refractory.
template <class Switches> class basic_firefly_rules {
  public:
    using switches = Switches;
    explicit basic_firefly_rules(const model_params& p) noexcept : p_(p), switches_(p) {}
    const model_params& params() const noexcept { return p_; }

    /// State at t = 0: phase U(0, T) from draw 0 of firefly `id` (refractory while below Rf).
    firefly start(std::uint64_t id) const noexcept {
        return start(id, p_.spread > 0 ? natural_period(p_, id).period : p_.period);
    }
    /// The same on a period of its own (a pacemaker's): phase U(0, period) from draw 0.
    firefly start(std::uint64_t id, tick_t period) const noexcept {
        return start_from(random_bits(p_.seed, id, 0), period);
    }
    /// The same from draw 0's bits (a block draws its fireflies' in a batch: random_bits_batch).
    static firefly start_from(std::uint64_t bits, tick_t period) noexcept {
        firefly f;
        f.flash_at = period - uniform_below(bits, period);
        f.draws = 1;
        return f;
    }

    /// Phase in [0, T) at t, for a firefly whose events up to t have been applied.
    template <class F> tick_t phase(const F& f, tick_t t) const noexcept {
        return period_of(f) - (f.flash_at - t);
    }

    /// Its period T: its own, for a firefly that carries one (a run with a period spread).
    template <class F> tick_t period_of(const F& f) const noexcept {
        if constexpr (requires { f.period; })
            return f.period;
        else
            return p_.period;
    }
    /// Its refractory length Rf, likewise.
    template <class F> tick_t refractory_of(const F& f) const noexcept {
        if constexpr (requires { f.refractory; })
            return f.refractory;
        else
            return p_.refractory;
    }

    /// Pulses strictly before this time find the firefly refractory: where its phase reaches
    /// Rf after its last flash (or its start), and at least the tick after its last flash (the
    /// flash instant itself is refractory, so that it flashes at most once per instant even
    /// with Rf <= jitter). Meaningful while the firefly is refractory; once it is not, the value
    /// is at or before the present.
    template <class F> tick_t refractory_until(const F& f) const noexcept {
        const tick_t by_phase = f.flash_at - (period_of(f) - refractory_of(f));
        return by_phase > f.last_flash ? by_phase : f.last_flash + 1;
    }

    /// t < refractory_until(f), for t at or after its last flash. Without branches: whether a
    /// pulse finds its target refractory is as good as random.
    template <class F> bool refractory_at(const F& f, tick_t t) const noexcept {
        const bool by_phase = t < f.flash_at - (period_of(f) - refractory_of(f));
        if (!switches_.instant_matters()) return by_phase;
        return by_phase | (t <= f.last_flash);
    }

    /// Whether it holds pulses for the end of its refractory period (queue mode).
    template <class F> bool holding(const F& f) const noexcept {
        return switches_.mode() == refractory_mode::queue && f.queued > 0;
    }

    /// Its next own turn: the flash, or (queue mode, pulses held) the end of its refractory period.
    template <class F> tick_t next_turn(const F& f) const noexcept {
        return holding(f) ? refractory_until(f) : f.flash_at;
    }

    /// Whether its own next turn comes before a pulse at t.
    template <class F> bool acts_before(const F& f, tick_t t) const noexcept {
        if (holding(f)) return refractory_until(f) <= t;
        return f.flash_at < t;
    }

    /// A pulse at t, with every turn before it taken. Refractory: dropped, or held (queue mode).
    /// Otherwise phase += e. True when the phase has reached T: the firefly acts at t (flashes).
    /// (A refractory firefly's flash_at is after t + T - Rf, so it answers false.)
    /// Under the general response (B > 0 or e < 0) the new phase is general_response() of the
    /// phase: capped at T (the firefly flashes at t), floored at 0.
    template <class F> bool absorb(F& f, tick_t t) const noexcept {
        const bool refractory = refractory_at(f, t);
        if (switches_.mode() == refractory_mode::queue) f.queued += refractory ? 1 : 0;
        if (switches_.general_prc()) {
            if (!refractory)
                f.flash_at = t + (period_of(f) - respond(f, period_of(f) - (f.flash_at - t)));
            return f.flash_at <= t;
        }
        f.flash_at -= p_.nudge & (static_cast<tick_t>(refractory) - 1); // (a mask, not a branch)
        return f.flash_at <= t;
    }

    /// k pulses at one instant t (--coupling all-to-all: k flashes of one instant), with every
    /// turn before t taken: the same as absorb() k times up to the one that makes the firefly
    /// flash. Returns how many it took: k, or fewer when the phase reached T (flash_at <= t:
    /// the caller makes it flash at t and hands the pulses left to hold()). The constant advance
    /// takes them in one step (its phase only rises); the general response one at a time, each
    /// rounded to a tick, as the model says (an inhibitory pulse may leave it refractory for the
    /// next ones).
    template <class F> std::uint32_t absorb_pulses(F& f, tick_t t, std::uint32_t k) const noexcept {
        if (switches_.general_prc()) {
            for (std::uint32_t m = 0; m < k; ++m)
                if (absorb(f, t)) return m + 1;
            return k;
        }
        if (refractory_at(f, t)) {
            hold(f, k);
            return k;
        }
        if (p_.nudge == 0) return f.flash_at <= t ? 1 : k;
        // Pulses until the phase reaches T (at least one: a firefly due at t flashes after it).
        const tick_t room = f.flash_at - t;
        const tick_t needed = room > 0 ? (room - 1) / p_.nudge + 1 : 1;
        const std::uint32_t used =
            needed < static_cast<tick_t>(k) ? static_cast<std::uint32_t>(needed) : k;
        f.flash_at -= static_cast<tick_t>(used) * p_.nudge;
        return used;
    }

    /// n pulses that find the firefly refractory (at the instant of its flash): held in queue
    /// mode, dropped in drop mode.
    template <class F> void hold(F& f, std::uint32_t n) const noexcept {
        if (switches_.mode() == refractory_mode::queue) f.queued += n;
    }

    /// The phase after one pulse that finds firefly `f` not refractory at `phase` (in [0, T]).
    /// With a period spread, c scales with the firefly's own period (eps = e / T is the same for
    /// every firefly: docs/model.md).
    template <class F> tick_t respond(const F& f, tick_t phase) const noexcept {
        if (!switches_.general_prc()) return phase + p_.nudge;
        const tick_t period = period_of(f);
        const double c = p_.dissipation > 0 && period != p_.period
                             ? static_cast<double>(period) * p_.prc_num / p_.prc_den
                             : p_.prc_c;
        return general_response(p_.prc_a, c, period, phase);
    }
    /// The same for a firefly with the run's period T.
    tick_t respond(tick_t phase) const noexcept { return respond(firefly{}, phase); }

    /// Its own turn at t: next_turn(f), or t after absorb() said so. It flashes, or (queue mode)
    /// its refractory period ends with the held pulses applied, which may make it flash at t.
    template <class F> reaction act(F& f, std::uint64_t id, tick_t t) const noexcept {
        if (holding(f)) {
            // The end of the refractory period (t == refractory_until): the phase there is
            // exactly Rf (flash_at - t = T - Rf, integer arithmetic, nothing accumulated), or just
            // above it when the refractory period was the one-tick flash instant; the held
            // pulses add to it.
            if (switches_.general_prc()) {
                // One pulse at a time, each rounded to a tick, until the phase reaches T.
                const tick_t period = period_of(f);
                tick_t phase = period - (f.flash_at - t);
                for (std::uint32_t k = 0; k < f.queued && phase < period; ++k)
                    phase = respond(f, phase);
                f.flash_at = t + (period - phase);
            } else {
                f.flash_at -= static_cast<tick_t>(f.queued) * p_.nudge;
            }
            f.queued = 0;
            if (f.flash_at > t) return reaction::quiet;
        }
        // Validation guarantees jitter + nudge < T, so a firefly that has just flashed at t
        // cannot be pushed to T again at the same t (and the flash instant is refractory anyway).
        const tick_t jitter =
            p_.jitter > 0 ? uniform_below(random_bits(p_.seed, id, f.draws), p_.jitter) : 0;
        ++f.draws;
        f.last_flash = t;
        f.flash_at = t + (period_of(f) - jitter);
        f.queued = 0;
        return reaction::flashed;
    }

    /// Whether a scheduler may draw a flash's jitter later, with other flashes' (flash_begin,
    /// then flash_time before anything else reads the flash time): in drop mode with the constant
    /// advance and one period for all, when a flash leaves the firefly refractory for at least
    /// one delay d whatever its jitter (Rf - jitter >= d). Within that time the flash time only
    /// says "refractory, no turn before the end of the epoch", which pending_flash says as well.
    bool draws_can_wait() const noexcept {
        return p_.mode == refractory_mode::drop && !p_.general_prc && !p_.own_periods() &&
               p_.jitter > 0 && p_.refractory - p_.jitter >= p_.delay;
    }
    /// act(f, id, t) when draws_can_wait() (its flash), without the draw: f's flash time is left
    /// at pending_flash until flash_time() gives it. Returns the draw number its jitter takes.
    template <class F> std::uint32_t flash_begin(F& f, tick_t t) const noexcept {
        const std::uint32_t draw = f.draws++;
        f.last_flash = t;
        f.flash_at = pending_flash;
        f.queued = 0;
        return draw;
    }
    /// The flash time act() sets after a flash at t whose draw gave `bits` (draws_can_wait()).
    tick_t flash_time(tick_t t, std::uint64_t bits) const noexcept {
        return t + (p_.period - uniform_below(bits, p_.jitter));
    }
    /// The flash time between flash_begin and flash_time: far after any simulated time, and
    /// far from overflowing when the rules subtract from it.
    static constexpr tick_t pending_flash = std::numeric_limits<tick_t>::max() / 4;

    /// Everything a pulse at t does to a firefly whose turns before t have been taken: absorb,
    /// with the end of a refractory period at t first and the flash it may cause. For tests and
    /// reference code that handle one event at a time.
    template <class F> reaction pulse(F& f, std::uint64_t id, tick_t t) const noexcept {
        reaction r = reaction::quiet;
        if (acts_before(f, t)) r = act(f, id, next_turn(f));
        if (absorb(f, t)) r = act(f, id, t);
        return r;
    }

  private:
    model_params p_;
    [[no_unique_address]] Switches switches_;
};

/// The rules with the switches read from the run's parameters.
using firefly_rules = basic_firefly_rules<run_switches>;
/// The rules with the switches fixed at compile time (for parameters with fixed_switches::fit).
template <refractory_mode Mode, bool InstantMatters, bool GeneralPrc = false, bool Spread = false>
using fixed_firefly_rules =
    basic_firefly_rules<fixed_switches<Mode, InstantMatters, GeneralPrc, Spread>>;

} // namespace fireflies
