#pragma once
// The state and the event loop behind block_simulation (include/fireflies/block_simulation.hpp):
// private to the scheduler room. The event loop's parts built once per combination of the rules'
// switches are in event_loop_builds.hpp.
#include <array>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "fireflies/block_simulation.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/divider.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/neighbourhood.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "fireflies/sync.hpp"
#include "fireflies/worker_link.hpp"
#include "runtime/huge_pages.hpp"
#include "scheduler/moore_lanes.hpp"

namespace fireflies {

struct firefly_task;
class frame_array;

/// One worker's block of fireflies and its event loop over simulated time (conservative
/// parallel discrete-event simulation in epochs of length d, the pulse delay: every pulse that
/// arrives during epoch k was emitted during epoch k - 1, so it is known when epoch k starts).
///
/// Because nothing a firefly does in an epoch reaches another firefly before the next epoch,
/// the fireflies of one epoch are independent: each one's events must be in time order
/// (firefly_rules says which comes first at equal times), not all of them. The loop takes the
/// flashes whose pulses arrive in time order and delivers each one's pulses to its neighbours,
/// the memory of the neighbourhoods a few flashes ahead requested in advance: O(1) per event,
/// no sorting of pulses.
///
/// Each firefly is a coroutine that wakes for its own turns only: its flash, and in queue mode
/// the end of a refractory period with pulses held. A pulse that only moves its phase is applied
/// by the loop (firefly_rules::absorb) without waking it, so the cost follows the flashes. The
/// turns in later epochs wait in a ring of per-epoch buckets (O(1): a turn that moves is filed
/// again and its old entry left behind, to find nothing due when its epoch comes) up to a
/// horizon about T/8 ahead; a pass over the block each time the horizon is reached files the
/// turns beyond it, so that the many turns pulses move while still far off are not filed at all.
class event_loop {
  public:
    static constexpr std::size_t report_flash_cap = block_simulation::report_flash_cap;

    // (What block_simulation's members of the same names say.)
    event_loop(const run_config& config, const decomposition& d, int worker);
    event_loop(const run_config& config, const decomposition& d, int worker, block_state restored,
               std::int64_t epoch, std::int64_t next_sample);
    block_state save() const;
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// Runs to the end of the simulated duration, or until the link asks to stop, or (with
    /// --stop-when-synced) until the epoch boundary after sync_tracker::stop_after(); paced,
    /// reporting and checkpointing as `cadence` says.
    void run(worker_link& link, const worker_cadence& cadence);

    /// --stop-when-synced after a restart: what the time-to-sync rule knows of the samples
    /// before this one (rank 0 replays the series in the output; every worker gets the same).
    void resume_sync(const sync_tracker::state& s);

    const block& cells() const noexcept { return block_; }
    /// Every firefly of the block, row by row.
    std::vector<firefly> fireflies() const;
    std::uint64_t global_id(std::uint32_t local) const noexcept;
    std::size_t frame_bytes() const noexcept;

    // Called by the fireflies' coroutines (and by the flat engine directly): firefly `local`
    // takes its turn at t.
    void act(std::uint32_t local, tick_t t);
    void act_drawn(std::uint32_t local, tick_t t);
    void act_spread(std::uint32_t local, tick_t t);
    /// A pacemaker's turn: it flashes, and its next flash is one own period later.
    void pace(std::uint32_t local, tick_t t);

  private:
    // (What both constructors share.)
    event_loop(const run_config& config, const decomposition& d, int worker, std::in_place_t);
    void take_turn(std::uint32_t local, tick_t t);
    void schedule(std::uint32_t local, tick_t t);
    void begin_epoch(std::int64_t k);
    /// Calls f(rules): the run's rules with their switches fixed at compile time, so that the
    /// event loop below is built once per combination.
    template <class F> void with_fixed_rules(F&& f) const;
    /// The same, or the model families' rules (event_loop_families.cpp).
    template <class F> void with_any_rules(F&& f) const;
    template <class Rules> void file_turns(const Rules& rules, std::int64_t k);
    template <class Rules> void deliver(const Rules& rules, std::uint32_t local, tick_t t);
    // (AllToAll: process_interval_all_to_all's own build, so that process_interval stays the
    // only caller of its build and the compiler inlines it there as before)
    template <class Rules, bool AllToAll = false>
    void visit(const Rules& rules, std::uint32_t local, tick_t end);
    template <class Rules> void refile(const Rules& rules, std::uint32_t local, tick_t before);
    std::int64_t interior(const flash_event& source) const noexcept;
    std::int64_t interior(const flash_event& source, std::int64_t margin) const noexcept;
    /// With `Wide`, for any neighbourhood (--neighbourhood, --radius); else for the 8 Moore cells.
    template <class Rules, bool Wide = false> void process_interval(const Rules& rules, tick_t end);
    /// The default model's build (moore_lanes_fit) where the CPU has AVX2: the eight pulses of a
    /// flash inside the block four flash times at a time (moore_lanes.hpp).
    template <class Rules>
    [[gnu::target("avx2")]] void process_interval_avx2(const Rules& rules, tick_t end);
    // It, with the default model's rules in drop mode (lanes_), in a unit of its own
    // (event_loop_lanes.cpp).
    bool lanes_ = false;
    void process_interval_lanes(tick_t end);
    // process_interval's pieces, inlined into it (`Lanes`: into process_interval_avx2), and the
    // constants of its loop (locals of process_interval: read once, not again after every store
    // to a flash time)
    struct interval_constants {
        tick_t delay, nudge;
        tick_t* times;
        std::int64_t row;                    // the block's width
        std::array<std::uint32_t, 9> offset; // the 8 neighbours of an interior firefly, itself
        std::array<std::uint32_t, 13> lane_offset; // the same by lanes (moore_lane_offsets)
        moore_pulses lanes;                        // `Lanes`: the rules' constants as lanes
    };
    template <class Rules, bool Wide, bool Lanes> void run_interval(const Rules& rules, tick_t end);
    template <bool Wide, bool Lanes>
    void prefetch_arrivals(std::size_t a, const interval_constants& k);
    template <class Rules, bool Wide, bool Lanes>
    void deliver_arrival(const Rules& rules, std::size_t a, tick_t t, const interval_constants& k);
    template <class Rules>
    void deliver_moore(const Rules& rules, std::uint32_t c, tick_t t, const interval_constants& k);
    template <class Rules> void visit_due(const Rules& rules, tick_t end);
    // The model families' builds of file_turns and process_interval
    // (event_loop_families.cpp).
    bool family_ = false; // a period spread, the general phase response or all-to-all coupling
    void file_turns_family(std::int64_t k);
    void process_interval_family(tick_t end);
    // process_interval for any other neighbourhood (wide_), with any rules
    // (event_loop_wide.cpp).
    void process_interval_wide(tick_t end);
    // --coupling all-to-all (event_loop_families.cpp)
    bool all_to_all_ = false;
    template <class Rules> void process_interval_all_to_all(const Rules& rules, tick_t end);
    template <class Rules>
    void deliver_pulses(const Rules& rules, std::uint32_t local, tick_t t, std::uint32_t k);
    void gather_all(worker_link& link);
    std::vector<std::uint32_t> sources_; // of one instant's flashes, those of this block (local)
    // What a firefly's own turn touches besides its flash time: the rest of its state, in the
    // coroutine engine its coroutine frame (the promise holds the rest), on one line or, when it
    // straddles two (48-byte frames from a line's start: two of every four), on both: its first
    // and its last byte's lines (a frame of up to 64 bytes). Inline here, in every build of the
    // loop: defined out of line, GCC 12 dropped its calls from the default build (prefetches
    // alone are no effect it must keep).
    [[gnu::always_inline]] void prefetch_turn(std::uint32_t local) const noexcept {
        const std::byte* first = turn_base_ + std::size_t{local} * rest_stride_;
        __builtin_prefetch(first, 1);
        __builtin_prefetch(first + rest_stride_ - 1, 1);
    }
    // The default model's flashes draw their jitter in batches (firefly_rules::draws_can_wait):
    // draw_batch flashes at a time during an interval, while their fireflies' lines are still in
    // the cache (drawn after the interval, a large block's flashes met them again in memory),
    // and the interval's last ones after it.
    bool defer_draws_ = false;
    static constexpr std::size_t draw_batch = 32;
    std::size_t drawn_ = 0;                                         // flashes_ before it are drawn
    std::size_t draw_at_ = std::numeric_limits<std::size_t>::max(); // the next batch's end
    // (flashes_ from drawn_)
    void draw_pending(bool all);
    [[gnu::always_inline]] void draw_when_due() {
        if (flashes_.size() >= draw_at_) draw_pending(false);
    }
    // A flash: into flashes_ and order_previous_; after the interval, record_flashes copies the
    // interval's into the reports and counts them.
    void emit_flash(std::uint64_t id, tick_t t, tick_t previous);
    void record_flashes(std::size_t first);
    void run_epoch(tick_t end, worker_link& link);
    using clock = std::chrono::steady_clock;
    void wait_for_pace(std::int64_t k, double speed, clock::time_point start, worker_link& link);
    void simulate_epoch(std::int64_t k, worker_link& link);
    void report_if_due(worker_link& link, tick_t report_every);
    bool stop_requested(worker_link& link);
    void emit_sample(worker_link& link);
    void send_flashes(worker_link& link, report_header h, std::span<const epoch_work> epochs = {});
    void record_epoch(std::int64_t flashes_before, std::int64_t pulses_before);
    void take_snapshot(tick_t t);
    void exchange_halo(worker_link& link);
    void sort_by_time(std::vector<flash_event>& v);
    void finish(worker_link& link, bool interrupted, bool checkpointed, tick_t through);
    void checkpoint(worker_link& link, std::int64_t next_epoch);
    void allocate(std::size_t n);
    void start_tasks();
    std::int64_t coupled_neighbours(std::uint64_t source) const;
    std::int64_t pulses_from(std::uint64_t source) const;
    std::int64_t pulses_into_block(std::uint64_t source) const;
    template <class F> void for_each_neighbour(std::uint64_t source, F&& f) const;
    template <class F> void for_each_moore_neighbour(std::uint64_t source, F&& f) const;
    template <bool Open, class F> void for_each_neighbour_of(std::uint64_t source, F&& f) const;
    template <class F> void for_each_torus_neighbour(std::uint64_t source, F&& f) const;
    template <class F> void for_each_wide_neighbour(std::uint64_t source, F&& f) const;

    // configuration
    run_config config_;
    const decomposition& decomposition_;
    int worker_;
    block block_;
    firefly_rules rules_;
    engine_kind engine_;
    tick_t duration_, sample_, epoch_, nudge_;
    std::int64_t width_, height_;
    std::vector<int> neighbours_;
    neighbourhood reach_;
    bool wide_ = false; // not the default's 8 Moore cells (--neighbourhood, --radius)
    std::vector<std::int64_t> offsets_; // wide: each neighbour's local index minus the centre's
    // the pulses every flash sends when it is the same for all: 8 (8 distinct neighbours, all
    // coupled), N - 1 (all-to-all); 0: counted flash by flash (pulses_from)
    std::int64_t pulses_per_flash_ = 0;
    bool open_eight_inside_ = false; // --boundary open: 8 coupled neighbours away from the edges
    // A wide neighbourhood: a flash at least inside_margin_ cells from every edge of the grid has
    // full_count_ coupled neighbours (with --boundary open; on a torus that holds it, every flash).
    bool wide_inside_ = false;
    std::int64_t inside_margin_ = 0, full_count_ = 0;
    // exchange_halo: per neighbour rank, the last flash sent
    std::vector<std::uint64_t> sent_stamp_;
    std::uint64_t halo_flashes_ = 0; // (numbered from 1)
    divider by_epoch_, by_width_, by_block_width_;

    // fireflies, in two parts: the flash times that every pulse reads, in one array; the rest of
    // each firefly, which only its own turns need, in its coroutine's promise (coroutine engine)
    // or in a second array (flat engine), at rest_base_ + local * rest_stride_, in the frame (or
    // the rest) at turn_base_ + local * rest_stride_
    std::vector<tick_t, huge_page_allocator<tick_t>> flash_at_;
    std::vector<firefly_rest, huge_page_allocator<firefly_rest>> rest_; // flat engine
    std::byte *rest_base_ = nullptr, *turn_base_ = nullptr;
    std::size_t rest_stride_ = 0;
    firefly_rest& rest(std::uint32_t local) const noexcept {
        return *std::launder(
            reinterpret_cast<firefly_rest*>(rest_base_ + std::size_t{local} * rest_stride_));
    }
    firefly_ref at(std::uint32_t local) noexcept {
        firefly_rest& r = rest(local);
        return {flash_at_[local], r.last_flash, r.draws, r.queued};
    }
    void put(std::uint32_t local, const firefly& f);
    // with a period spread: each firefly's own period and Rf (a pure function of the seed and
    // its id, so never checkpointed); empty without one
    std::vector<own_period> periods_;
    void set_periods();
    // pacemakers: the run's (sorted by id); in periods_ each has the refractory length
    // pacemaker_refractory, which the builds with own periods test (on the line they read
    // anyway) to skip the pulses it ignores
    std::vector<pacemaker_period> pacemakers_;
    /// Firefly `local` as the rules of the loop take it: with its own period when they have a
    /// period spread, else with the run's (and then nothing more is read).
    template <class Rules> auto view(const Rules&, std::uint32_t local) noexcept {
        if constexpr (Rules::switches::spread()) {
            const own_period& o = periods_[local];
            return firefly_ref_spread{at(local), o.period, o.refractory};
        } else {
            return at(local);
        }
    }
    flash_order flash_order_;
    std::unique_ptr<frame_array> frames_; // coroutine engine: frame i is firefly i's
    std::size_t tasks_ = 0;               // the coroutines made, frames_'s first ones

    // turns: the current epoch's due list, a ring of later epochs' buckets up to the horizon
    std::int64_t epoch_index_ = 0;
    tick_t epoch_end_ = 0;
    std::vector<std::uint32_t> due_;
    std::vector<std::vector<std::uint32_t>> ring_; // size a power of two
    std::int64_t ring_mask_ = 0;
    // every turn in an epoch before this one is filed
    std::int64_t horizon_ = 0;
    tick_t horizon_time_ = 0; // horizon_ * epoch_

    // pulses: flashes whose pulses arrive this epoch (time order) and this epoch's own flashes
    std::vector<flash_event> arriving_;
    std::size_t next_arrival_ = 0;
    std::vector<std::int64_t> centres_; // of each arriving flash: interior() or -1
    std::vector<flash_event> flashes_;  // this epoch's flashes, time order
    std::vector<flash_event> sort_scratch_;
    std::vector<std::uint32_t> sort_counts_;
    std::vector<flash_event> unreported_; // flashes not yet sent to the hub (events mode, or
                                          // the --record-region's in summary telemetry)
    // summary telemetry: each of unreported_'s previous flash
    std::vector<tick_t> region_previous_;
    // summary telemetry sends the --record-region's flashes
    bool region_events_ = false;
    std::vector<tick_t> order_t_, order_previous_; // flashes since the last report: times, and each
                                                   // one's firefly's flash before it
    std::vector<std::vector<flash_event>> outgoing_;

    // samples and totals
    std::int64_t next_sample_ = 0;
    // --stop-when-synced: the rule fed the whole grid's R_state one sample late (a pipelined
    // reduction among the workers), and the sample after which to stop (-1: not yet)
    std::vector<sync_tracker> sync_; // empty without --stop-when-synced
    bool state_sum_open_ = false;
    std::int64_t stop_after_ = -1;
    bool stop_check_due_ = false;
    report_header totals_;
    std::int64_t first_epoch_ = 0;
    tick_t reported_through_ = 0;
    std::int64_t snapshot_samples_ = 0; // a snapshot every this many samples; 0: none
    snapshot_grid snapshot_grid_;
    std::vector<snapshot_pixel> pixels_;
    // --record-epochs: the work of each epoch of this segment, sent with the final report
    std::vector<epoch_work> epoch_log_;
    std::int64_t epoch_arrivals_ = 0, epoch_visits_ = 0; // of the epoch just simulated
};

} // namespace fireflies
