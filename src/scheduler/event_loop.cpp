#include "scheduler/event_loop.hpp"
#include "fireflies/cpu.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <limits>
#include <utility>

#include "fireflies/error.hpp"
#include "fireflies/time_sort.hpp"
#include "runtime/resources.hpp"
#include "scheduler/event_loop_builds.hpp"
#include "scheduler/firefly_task.hpp"

namespace fireflies {

namespace {

constexpr tick_t never = std::numeric_limits<tick_t>::max();

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

// What take_turn tells the coroutine it resumes: whose turn it is, and when (one thread runs a
// block's loop). Read from here rather than kept in every frame, which keeps a frame, with the
// firefly's state in its promise, at GCC 12's 48 bytes (docs/performance.md, "Large blocks").
struct turn_call {
    event_loop* sim;
    std::uint32_t local;
    tick_t t;
};
thread_local turn_call calling{};

// v.push_back(x), its growth out of line: a turn that appends does not pay for the registers the
// growth needs.
template <class T> [[gnu::noinline]] void append_growing(std::vector<T>& v, const T& x) {
    v.push_back(x);
}
template <class T> void append(std::vector<T>& v, const T& x) {
    if (v.size() == v.capacity()) [[unlikely]]
        return append_growing(v, x);
    v.push_back(x);
}

// One firefly's life: sleep until its turn (its phase reaches T, or its refractory period ends
// with pulses held), take it, repeat. Pulses that only move its phase do not wake it. Its state
// lives in the block's arrays (so that a checkpoint and the per-sample sweep can read it); the
// coroutine is the firefly's thread of control.
firefly_task firefly_life() {
    for (;;) {
        co_await std::suspend_always{}; // until its turn
        calling.sim->act(calling.local, calling.t);
    }
}

// The same for a firefly with its own period (--period-spread).
firefly_task firefly_life_spread() {
    for (;;) {
        co_await std::suspend_always{}; // until its turn
        calling.sim->act_spread(calling.local, calling.t);
    }
}

} // namespace

// What both constructors share: the run's constants.
event_loop::event_loop(const run_config& config, const decomposition& d, int worker,
                       std::in_place_t)
    : config_(config), decomposition_(d), worker_(worker), block_(d.block_of(worker)),
      rules_(model_params::from(config)), engine_(config.engine),
      duration_(to_ticks(config.duration)), sample_(to_ticks(config.sample_every)),
      epoch_(rules_.params().delay), nudge_(rules_.params().nudge), width_(config.width),
      height_(config.height), reach_(neighbourhood::of(config)),
      flash_order_(rules_.params().period) {}

event_loop::event_loop(const run_config& config, const decomposition& d, int worker)
    : event_loop(config, d, worker, std::in_place) {
    by_width_ = divider(width_);
    by_block_width_ = divider(block_.width);
    const auto n = static_cast<std::size_t>(block_.cells());
    allocate(n);
    const model_params& p = rules_.params();
    if (p.own_periods()) {
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint64_t id = global_id(i);
            // (A pacemaker starts on its own period.)
            put(i, pacemakers_.empty()
                       ? rules_.start(id)
                       : rules_.start(id, own_period_of(p, pacemakers_, id).period));
        }
    } else {
        // Draw 0 of every firefly, a chunk at a time in a batch (the same as rules_.start).
        constexpr std::size_t chunk = 1024;
        std::array<std::uint64_t, chunk> ids, bits;
        const std::array<std::uint32_t, chunk> first_draw{};
        for (std::size_t first = 0; first < n; first += chunk) {
            const std::size_t m = std::min(chunk, n - first);
            for (std::size_t j = 0; j < m; ++j)
                ids[j] = global_id(static_cast<std::uint32_t>(first + j));
            random_bits_batch(p.seed, ids.data(), first_draw.data(), m, bits.data());
            for (std::size_t j = 0; j < m; ++j)
                put(static_cast<std::uint32_t>(first + j), rules_.start_from(bits[j], p.period));
        }
    }
    start_tasks();
}

void event_loop::resume_sync(const sync_tracker::state& s) {
    if (sync_.empty()) return;
    if (s.next != next_sample_)
        throw error("resume_sync: the time-to-sync rule has seen " + std::to_string(s.next) +
                    " samples, the block " + std::to_string(next_sample_));
    sync_.front().set(s);
    stop_after_ = sync_.front().stop_after();
}

event_loop::event_loop(const run_config& config, const decomposition& d, int worker,
                       block_state restored, std::int64_t epoch, std::int64_t next_sample)
    : event_loop(config, d, worker, std::in_place) {
    if (restored.cells != block_ ||
        restored.fireflies.size() != static_cast<std::size_t>(block_.cells()))
        throw error("restored block does not match worker " + std::to_string(worker) + "'s block");
    allocate(restored.fireflies.size());
    for (std::uint32_t i = 0; i < restored.fireflies.size(); ++i)
        put(i, restored.fireflies[i]);
    // The seed's order parameter from each firefly's last flash, as though each were its first
    // (as the hub does in restore_block).
    for (const firefly& f : restored.fireflies)
        if (f.last_flash >= 0) flash_order_.flash(f.last_flash, -1);
    arriving_ = std::move(restored.in_flight);
    std::sort(arriving_.begin(), arriving_.end());
    first_epoch_ = epoch_index_ = epoch;
    next_sample_ = next_sample;
    start_tasks();
}

// Storage for n fireflies: the flash times, and one coroutine per firefly (each at the top of its
// loop) whose promise holds the rest of it, or with the flat engine a second array.
void event_loop::allocate(std::size_t n) {
    // (Both constructors come here.) --stop-when-synced: the time-to-sync rule, fed by the workers'
    // reduction of each sample's R_state.
    if (config_.stop_when_synced)
        sync_.emplace_back(config_.sync_threshold, rules_.params().period, sample_);
    pacemakers_ = pacemaker_periods(config_);
    flash_at_.resize(n);
    if (engine_ != engine_kind::coroutine || n == 0) {
        rest_.resize(n);
        rest_base_ = turn_base_ = reinterpret_cast<std::byte*>(rest_.data());
        rest_stride_ = sizeof(firefly_rest);
        return;
    }
    frames_ = std::make_unique<frame_array>(n);
    frame_array::scope scope(*frames_);
    // (Each made at its first co_await: firefly_task's initial_suspend does not suspend.)
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto task =
            (rules_.params().own_periods() ? firefly_life_spread() : firefly_life()).handle;
        if (task.address() != frames_->frame(i))
            throw error("coroutine frames are not laid out in firefly order");
        ++tasks_;
        // Every frame is the same coroutine's, so its promise sits at the same offset in each: the
        // frames' order (checked above) is the promises' order.
        if (i == 0) {
            rest_base_ = reinterpret_cast<std::byte*>(&task.promise().rest);
            rest_stride_ = frames_->stride();
            turn_base_ = static_cast<std::byte*>(task.address());
        }
    }
}

// With a period spread, each firefly's own period (drawn from its id, the same on every rank and
// after a restart); with pacemakers, theirs, and which of the block's fireflies they are.
void event_loop::set_periods() {
    const model_params& p = rules_.params();
    if (!p.own_periods()) return;
    periods_.resize(flash_at_.size());
    for (std::uint32_t i = 0; i < periods_.size(); ++i)
        periods_[i] = own_period_of(p, pacemakers_, global_id(i));
}

// The timer ring, and what both constructors share.
void event_loop::start_tasks() {
    by_epoch_ = divider(epoch_);
    by_width_ = divider(width_);
    by_block_width_ = divider(block_.width);
    region_events_ = config_.telemetry == telemetry_mode::summary && config_.record_flashes &&
                     !config_.record_region.whole();
    set_periods(); // (global_id needs the dividers)
    wide_ = !reach_.moore_one();
    all_to_all_ = config_.coupling == coupling_kind::all_to_all;
    family_ = rules_.params().own_periods() || rules_.params().general_prc || all_to_all_;
    defer_draws_ = !family_ && rules_.draws_can_wait();
    lanes_ = !wide_ && !family_ && nudge_ > 0 &&
             fixed_switches<refractory_mode::drop, false>::fit(rules_.params()) && use_avx2();
    const std::int64_t r = reach_.radius();
    // (All-to-all exchanges every flash with every worker instead: gather_all.)
    if (!config_.partitioned && !all_to_all_) neighbours_ = decomposition_.neighbours(worker_, r);
    const bool open = config_.boundary == boundary_kind::open;
    const bool eight_coupled =
        !wide_ && !config_.partitioned && !all_to_all_ && width_ >= 3 && height_ >= 3 && !open;
    pulses_per_flash_ = all_to_all_ ? width_ * height_ - 1 : eight_coupled ? 8 : 0;
    open_eight_inside_ = !wide_ && !config_.partitioned && open;
    wide_inside_ =
        wide_ && !config_.partitioned && (open || (2 * r + 1 <= width_ && 2 * r + 1 <= height_));
    inside_margin_ = open ? r : 0;
    full_count_ = reach_.full_count();
    if (wide_)
        for (const auto& [dx, dy] : reach_.offsets())
            offsets_.push_back(dy * block_.width + dx);
    outgoing_.resize(neighbours_.size());
    sent_stamp_.assign(neighbours_.size(), 0);
    const tick_t period = rules_.params().period;
    // The ring spans about T/8, 64 to 256 epochs (a longer one would file more turns that move
    // again before they come due).
    ring_.resize(std::clamp<std::uint64_t>(
        std::bit_ceil(static_cast<std::uint64_t>(period / epoch_ / 8)), 64, 256));
    ring_mask_ = static_cast<std::int64_t>(ring_.size()) - 1;
    horizon_ = epoch_index_; // nothing filed yet: the first epoch files
    horizon_time_ = horizon_ * epoch_;
    totals_.worker = worker_;
    if (config_.snapshot_every > 0) snapshot_samples_ = to_ticks(config_.snapshot_every) / sample_;
    snapshot_grid_ = snapshot_grid::of(width_, height_, config_.snapshot_max);
}

block_state event_loop::save() const {
    block_state s;
    s.cells = block_;
    s.fireflies = fireflies();
    const auto w = static_cast<std::uint64_t>(width_);
    for (const flash_event& ev : arriving_)
        // cold
        if (block_.contains(static_cast<std::int64_t>(ev.agent % w),
                            static_cast<std::int64_t>(ev.agent / w)))
            s.in_flight.push_back(ev);
    return s;
}

void event_loop::put(std::uint32_t local, const firefly& f) {
    flash_at_[local] = f.flash_at;
    rest(local) = {f.last_flash, f.draws, f.queued};
}

std::vector<firefly> event_loop::fireflies() const {
    std::vector<firefly> out(flash_at_.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        const firefly_rest& r = rest(static_cast<std::uint32_t>(i));
        out[i] = {flash_at_[i], r.last_flash, r.draws, r.queued};
    }
    return out;
}

event_loop::~event_loop() {
    // (The coroutines made: a constructor that throws after delegating runs this destructor.)
    for (std::size_t i = 0; i < tasks_; ++i)
        std::coroutine_handle<>::from_address(frames_->frame(i)).destroy();
}

std::size_t event_loop::frame_bytes() const noexcept {
    return frames_ ? frames_->bytes_reserved() : 0;
}

std::uint64_t event_loop::global_id(std::uint32_t local) const noexcept {
    std::int64_t row = 0, column = 0;
    by_block_width_.split(local, row, column);
    return static_cast<std::uint64_t>((block_.y0 + row) * width_ + block_.x0 + column);
}

void event_loop::act(std::uint32_t local, tick_t t) {
    if (!defer_draws_) return act_drawn(local, t);
    // The flash, its firefly's local index in place of its id, which draw_pending sets with the
    // flash time a few flashes later (draw_batch) or at the end of the interval.
    firefly_ref f = at(local);
    const tick_t previous = f.last_flash;
    rules_.flash_begin(f, t);
    emit_flash(local, t, previous);
}

// act() with the jitter drawn at the flash.
[[gnu::noinline]] void event_loop::act_drawn(std::uint32_t local, tick_t t) {
    firefly_ref f = at(local);
    const tick_t previous = f.last_flash;
    const std::uint64_t id = global_id(local);
    if (rules_.act(f, id, t) == reaction::flashed) emit_flash(id, t, previous);
}

// With the draws deferred (act), the flashes noted since the last draw (flashes_ from drawn_: with
// `all`, every one, else a multiple of four of them; each firefly's at most once: it stays
// refractory to the end of the epoch): each one's id in place of its local index and, from its
// jitter, four draws at a time, its flash time, filed when it comes before the horizon (what
// refile did for act's flash time).
void event_loop::draw_pending(bool all) {
    const std::size_t first = drawn_;
    // (Mid-interval, a multiple of four: the batch's lanes full.)
    drawn_ = all ? flashes_.size() : first + ((flashes_.size() - first) & ~std::size_t{3});
    draw_at_ = drawn_ + draw_batch;
    if (!defer_draws_) return;
    const std::uint64_t seed = rules_.params().seed;
    for (std::size_t from = first; from < drawn_; from += draw_batch) {
        const std::size_t n = std::min(draw_batch, drawn_ - from);
        flash_event* flash = flashes_.data() + from;
        std::array<std::uint64_t, draw_batch> id, bits;
        std::array<std::uint32_t, draw_batch> local, draw;
        for (std::size_t i = 0; i < n; ++i) {
            local[i] = static_cast<std::uint32_t>(flash[i].agent);
            draw[i] = rest(local[i]).draws - 1; // (flash_begin counted it)
            id[i] = flash[i].agent = global_id(local[i]);
        }
        random_bits_batch(seed, id.data(), draw.data(), n, bits.data());
        for (std::size_t i = 0; i < n; ++i) {
            const tick_t at = rules_.flash_time(flash[i].t, bits[i]);
            flash_at_[local[i]] = at;
            if (at < horizon_time_) schedule(local[i], at);
        }
    }
}

// act() for a firefly with its own period (a period spread): its own coroutine, so that the
// default model's turns do not test for it.
void event_loop::act_spread(std::uint32_t local, tick_t t) {
    if (periods_[local].refractory == pacemaker_refractory) return pace(local, t);
    firefly_ref_spread f{at(local), periods_[local].period, periods_[local].refractory};
    const tick_t previous = f.last_flash;
    const std::uint64_t id = global_id(local);
    if (rules_.act(f, id, t) == reaction::flashed) emit_flash(id, t, previous);
}

// No jitter, no draw, no held pulses: its flashes are exactly one own period apart.
void event_loop::pace(std::uint32_t local, tick_t t) {
    firefly_ref f = at(local);
    const tick_t previous = f.last_flash;
    f.last_flash = t;
    f.flash_at = t + periods_[local].period;
    emit_flash(global_id(local), t, previous);
}

[[gnu::noinline]] void event_loop::take_turn(std::uint32_t local, tick_t t) {
    if (engine_ == engine_kind::coroutine) {
        calling = {this, local, t};
        std::coroutine_handle<>::from_address(frames_->frame(local)).resume();
    } else if (periods_.empty()) {
        act(local, t);
    } else {
        act_spread(local, t);
    }
}

void event_loop::begin_epoch(std::int64_t k) {
    epoch_index_ = k;
    if (k >= horizon_) {
        if (family_)
            file_turns_family(k); // (event_loop_families.cpp)
        else
            with_fixed_rules([&](const auto& rules) { file_turns(rules, k); });
    }
    // The bucket becomes the due list as it is. Entries of fireflies filed again since (a pulse
    // moved the turn earlier) are stale: visiting one finds no turn before the epoch's end and
    // does nothing, which costs less than keeping a tag per firefly to tell.
    // (file_turns may have put turns of this epoch on it already.)
    auto& bucket = ring_[static_cast<std::size_t>(k & ring_mask_)];
    if (due_.empty())
        due_.swap(bucket);
    else
        due_.insert(due_.end(), bucket.begin(), bucket.end());
    bucket.clear();
}

// The pulses a flash of `source` sends when not every firefly has 8 coupled neighbours: with
// --boundary open or a wide neighbourhood (and nothing partitioned) the whole neighbourhood's
// away from the grid's edges (everywhere on a torus that holds it), else counted.
std::int64_t event_loop::pulses_from(std::uint64_t source) const {
    if (open_eight_inside_) {
        std::int64_t y = 0, x = 0;
        by_width_.split(static_cast<std::int64_t>(source), y, x);
        if (x >= 1 && x < width_ - 1 && y >= 1 && y < height_ - 1) return 8;
    }
    return coupled_neighbours(source);
}

// The pulses a flash of `source` sends to this block's fireflies.
std::int64_t event_loop::pulses_into_block(std::uint64_t source) const {
    std::int64_t y = 0, x = 0;
    by_width_.split(static_cast<std::int64_t>(source), y, x);
    if (all_to_all_) return block_.cells() - (block_.contains(x, y) ? 1 : 0);
    std::int64_t n = 0;
    for_each_neighbour(
        source, [&](std::int64_t nx, std::int64_t ny) { n += block_.contains(nx, ny) ? 1 : 0; });
    return n;
}

// (Not inlined into the flash, which the default's open edges would otherwise pay for.)
[[gnu::noinline]] std::int64_t event_loop::coupled_neighbours(std::uint64_t source) const {
    if (wide_inside_) {
        std::int64_t y = 0, x = 0;
        by_width_.split(static_cast<std::int64_t>(source), y, x);
        const std::int64_t m = inside_margin_;
        if (x >= m && x < width_ - m && y >= m && y < height_ - m) return full_count_;
    }
    std::int64_t n = 0;
    for_each_neighbour(source, [&](std::int64_t, std::int64_t) { ++n; });
    return n;
}

// The local index of flash `source`'s centre when all eight of its neighbours are in this block
// (they are then at fixed offsets from it), else -1. With `margin`, a wide neighbourhood's: when
// every cell within `margin` of it is.
std::int64_t event_loop::interior(const flash_event& source) const noexcept {
    std::int64_t sy = 0, sx = 0;
    by_width_.split(static_cast<std::int64_t>(source.agent), sy, sx);
    const std::int64_t lx = sx - block_.x0, ly = sy - block_.y0;
    const bool inside = width_ >= 3 && height_ >= 3 && lx >= 1 && lx < block_.width - 1 &&
                        ly >= 1 && ly < block_.height - 1;
    return inside ? ly * block_.width + lx : -1;
}

std::int64_t event_loop::interior(const flash_event& source, std::int64_t margin) const noexcept {
    std::int64_t sy = 0, sx = 0;
    by_width_.split(static_cast<std::int64_t>(source.agent), sy, sx);
    const std::int64_t lx = sx - block_.x0, ly = sy - block_.y0;
    const bool inside =
        lx >= margin && lx < block_.width - margin && ly >= margin && ly < block_.height - margin;
    return inside ? ly * block_.width + lx : -1;
}

// (The flashes since the last report are order_t_.size().)
void event_loop::emit_flash(std::uint64_t id, tick_t t, tick_t previous) {
    append(flashes_, {t, id});
    append(order_previous_, previous);
}

// The interval's flashes (flashes_ from `first`, emit_flash) into the reports and the totals.
void event_loop::record_flashes(std::size_t first) {
    const auto flashes = std::span<const flash_event>(flashes_).subspan(first);
    const tick_t* previous = order_previous_.data() + (order_previous_.size() - flashes.size());
    if (config_.telemetry == telemetry_mode::events) {
        unreported_.insert(unreported_.end(), flashes.begin(), flashes.end());
    } else if (region_events_) {
        for (std::size_t i = 0; i < flashes.size(); ++i) {
            std::int64_t y = 0, x = 0;
            by_width_.split(static_cast<std::int64_t>(flashes[i].agent), y, x);
            if (config_.record_region.contains(x, y)) {
                unreported_.push_back(flashes[i]);
                region_previous_.push_back(previous[i]);
            }
        }
    }
    const std::size_t sent = order_t_.size();
    order_t_.resize(sent + flashes.size());
    for (std::size_t i = 0; i < flashes.size(); ++i)
        order_t_[sent + i] = flashes[i].t;
    const auto n = static_cast<std::int64_t>(flashes.size());
    totals_.flashes_total += n;
    if (pulses_per_flash_ != 0)
        totals_.pulses_sent += n * pulses_per_flash_;
    else
        for (const flash_event& ev : flashes)
            totals_.pulses_sent += pulses_from(ev.agent);
}

void event_loop::send_flashes(worker_link& link, report_header h,
                              std::span<const epoch_work> epochs) {
    const auto r0 = clock::now();
    h.worker = worker_;
    // The flashes since the last report into the seed's order parameter, in one vectorised batch.
    flash_order_.flashes(order_t_.data(), order_previous_.data(), order_t_.size());
    h.flash_sum = flash_order_.sum();
    h.flashed = flash_order_.flashed();
    h.flashes = static_cast<std::int64_t>(order_t_.size());
    h.events = static_cast<std::int64_t>(unreported_.size());
    h.pixels = static_cast<std::int64_t>(pixels_.size());
    // Each firefly's flashes are in time order (visits are); the hub needs no more.
    // In events telemetry the flashes since the last report are unreported_, and their previous
    // flash times order_previous_; in summary telemetry unreported_ holds the --record-region's.
    const std::span<const tick_t> previous = region_events_
                                                 ? std::span<const tick_t>(region_previous_)
                                                 : std::span<const tick_t>(order_previous_);
    h.epoch_records = static_cast<std::int64_t>(epochs.size());
    link.send_report(h, {unreported_, previous.first(unreported_.size()), pixels_, epochs});
    unreported_.clear();
    region_previous_.clear();
    order_t_.clear();
    order_previous_.clear();
    pixels_.clear();
    reported_through_ = h.through;
    totals_.timers.report += seconds_since(r0);
}

// The pixels of the snapshot grid whose sample cell is in this block.
void event_loop::take_snapshot(tick_t t) {
    const tick_t period = rules_.params().period;
    const std::int64_t s = snapshot_grid_.stride;
    for (std::int64_t py = (block_.y0 + s - 1) / s; py * s < block_.y0 + block_.height; ++py)
        for (std::int64_t px = (block_.x0 + s - 1) / s; px * s < block_.x0 + block_.width; ++px) {
            const auto local = static_cast<std::size_t>((py * s - block_.y0) * block_.width +
                                                        (px * s - block_.x0));
            pixels_.push_back(
                {py * snapshot_grid_.nx + px,
                 periods_.empty()
                     ? static_cast<double>(rules_.phase(at(local), t)) / static_cast<double>(period)
                     : static_cast<double>(periods_[local].period - (flash_at_[local] - t)) /
                           static_cast<double>(periods_[local].period)});
        }
}

void event_loop::emit_sample(worker_link& link) {
    const tick_t t = next_sample_ * sample_;
    report_header h;
    h.kind = report_kind::sample;
    h.sample = next_sample_;
    h.through = t;
    // Every phase at t, rules_.phase = (T + t) - flash_at, is in [0, T): their phasors in one
    // vectorised sweep over the flash times.
    if (periods_.empty()) {
        h.state = flash_order_.circle().sum_of_differences(rules_.params().period + t,
                                                           flash_at_.data(), flash_at_.size());
    } else {
        // With a period spread, each phase on its own period's circle (docs/model.md).
        for (std::size_t i = 0; i < flash_at_.size(); ++i)
            h.state += phasor_sum::of(periods_[i].period - (flash_at_[i] - t), periods_[i].period);
    }
    if (!sync_.empty() && stop_after_ < 0) {
        // The previous sample's R_state over the whole grid, now that every worker has added its
        // share; then this sample's share into the next reduction. Every worker makes the same
        // calls and reaches the same decision at the same sample.
        if (state_sum_open_) {
            const auto w0 = clock::now();
            const phasor_sum total = link.finish_state_sum();
            // a consensus among the workers, as the stop's
            totals_.timers.wait += seconds_since(w0);
            state_sum_open_ = false;
            sync_.front().add(next_sample_ - 1, total.order(width_ * height_));
            stop_after_ = sync_.front().stop_after();
        }
        if (stop_after_ < 0) {
            link.start_state_sum(h.state);
            state_sum_open_ = true;
        }
    }
    if (snapshot_samples_ > 0 && next_sample_ % snapshot_samples_ == 0) take_snapshot(t);
    send_flashes(link, h);
    ++next_sample_;
    stop_check_due_ = true;
}

// Epoch [k d, end): split at each sample time, so that a sample sees every event up to its
// time and none after.
void event_loop::run_epoch(tick_t end, worker_link& link) {
    next_arrival_ = 0;
    epoch_visits_ = 0;
    centres_.resize(arriving_.size());
    if (wide_)
        for (std::size_t i = 0; i < arriving_.size(); ++i)
            centres_[i] = interior(arriving_[i], reach_.radius());
    else
        for (std::size_t i = 0; i < arriving_.size(); ++i)
            centres_[i] = interior(arriving_[i]);
    for (;;) {
        const tick_t t_sample = next_sample_ * sample_;
        const bool sample_here = t_sample < end && t_sample <= duration_;
        const tick_t until = sample_here ? t_sample + 1 : end;
        const std::size_t first = flashes_.size();
        drawn_ = first;
        draw_at_ = defer_draws_ ? first + draw_batch : std::numeric_limits<std::size_t>::max();
        if (wide_)
            process_interval_wide(until); // (event_loop_wide.cpp)
        else if (family_)
            process_interval_family(until); // (event_loop_families.cpp)
        else if (lanes_)
            process_interval_lanes(until); // (event_loop_lanes.cpp)
        else
            with_fixed_rules([&](const auto& rules) { process_interval(rules, until); });
        draw_pending(true);
        record_flashes(first);
        epoch_visits_ += static_cast<std::int64_t>(due_.size());
        if (!sample_here) break;
        emit_sample(link);
    }
    epoch_arrivals_ = static_cast<std::int64_t>(next_arrival_);
    // Pulses that would arrive after the end of the run stay in flight.
    for (std::size_t i = next_arrival_; i < arriving_.size(); ++i)
        totals_.pulses_in_flight += pulses_into_block(arriving_[i].agent);
    arriving_.clear();
    due_.clear();
    // Flashes leave the epoch in time order.
    sort_by_time(flashes_);
}

// Flashes of one epoch into time order (time_sort.hpp: most come out of the loop in time order
// already, those pulses cause, in the order of the arrivals; the rest, own turns, spread over the
// epoch). What delivery needs is each firefly's pulses in time order; flashes at one instant may
// stay in any order (their pulses are identical, and everything that leaves the worker in a
// canonical order is sorted again where it is written).
void event_loop::sort_by_time(std::vector<flash_event>& v) {
    fireflies::sort_by_time(
        v, [](const flash_event& ev) { return ev.t; }, sort_scratch_, sort_counts_);
}

void event_loop::exchange_halo(worker_link& link) {
    if (all_to_all_) return gather_all(link); // (event_loop_families.cpp)
    // Border fireflies' flashes go to every neighbour rank that owns one of their neighbours.
    for (auto& out : outgoing_)
        out.clear();
    if (!neighbours_.empty()) {
        // (Those more than the radius from every edge of the block reach no other block.)
        const std::int64_t m = reach_.radius();
        for (const flash_event& ev : flashes_) {
            std::int64_t y = 0, x = 0;
            by_width_.split(static_cast<std::int64_t>(ev.agent), y, x);
            if (x >= block_.x0 + m && x < block_.x0 + block_.width - m && y >= block_.y0 + m &&
                y < block_.y0 + block_.height - m)
                continue;
            // Each flash once to each rank, however many of its neighbours the rank owns.
            const std::uint64_t stamp = ++halo_flashes_;
            for_each_neighbour(ev.agent, [&](std::int64_t nx, std::int64_t ny) {
                const int owner = decomposition_.owner(nx, ny);
                if (owner == worker_) return;
                const auto slot = static_cast<std::size_t>(
                    std::lower_bound(neighbours_.begin(), neighbours_.end(), owner) -
                    neighbours_.begin());
                // (a broken halo, not a bad input)
                if (slot == neighbours_.size() || neighbours_[slot] != owner)
                    throw error("worker " + std::to_string(worker_) + ": a neighbour of firefly " +
                                std::to_string(ev.agent) + " belongs to worker " +
                                std::to_string(owner) + ", which is not among its halo's ranks");
                if (sent_stamp_[slot] == stamp) return;
                sent_stamp_[slot] = stamp;
                outgoing_[slot].push_back(ev);
            });
        }
    }
    arriving_.swap(flashes_); // own flashes arrive next epoch, in time order already
    flashes_.clear();
    if (!neighbours_.empty()) {
        // The neighbours' border flashes (few, each neighbour's in time order) after them: into
        // order by themselves, then merged.
        const auto own = static_cast<std::ptrdiff_t>(arriving_.size());
        link.exchange(neighbours_, outgoing_, arriving_);
        const auto earlier = [](const flash_event& a, const flash_event& b) { return a.t < b.t; };
        std::sort(arriving_.begin() + own, arriving_.end(), earlier);
        std::inplace_merge(arriving_.begin(), arriving_.begin() + own, arriving_.end(), earlier);
    }
}

void event_loop::checkpoint(worker_link& link, std::int64_t next_epoch) {
    report_header h = totals_;
    h.kind = report_kind::checkpoint;
    h.through = next_epoch * epoch_ - 1;
    h.epochs = next_epoch;
    h.sample = next_sample_;
    send_flashes(link, h);
    link.save_checkpoint(save());
}

void event_loop::finish(worker_link& link, bool interrupted, bool checkpointed, tick_t through) {
    for (const flash_event& ev : arriving_)
        totals_.pulses_in_flight += pulses_into_block(ev.agent);
    report_header h = totals_;
    h.kind = report_kind::final;
    h.through = through;
    h.interrupted = interrupted ? 1 : 0;
    h.checkpointed = checkpointed ? 1 : 0;
    h.epochs = epoch_index_ + 1;
    h.peak_rss_mib = peak_resident_mib();
    send_flashes(link, h, epoch_log_);
}

// --record-epochs: what the epoch just simulated did, from the totals before it.
void event_loop::record_epoch(std::int64_t flashes_before, std::int64_t pulses_before) {
    epoch_log_.push_back({totals_.flashes_total - flashes_before,
                          totals_.pulses_delivered - pulses_before, epoch_arrivals_,
                          epoch_visits_});
}

// --speed: epoch k starts no earlier than k d / speed of wall time after `start`.
void event_loop::wait_for_pace(std::int64_t k, double speed, clock::time_point start,
                               worker_link& link) {
    const auto due =
        start + std::chrono::duration_cast<clock::duration>(
                    std::chrono::duration<double>(to_seconds((k - first_epoch_) * epoch_) / speed));
    const auto p0 = clock::now();
    if (due > p0) link.idle_until(due);
    totals_.timers.pace += seconds_since(p0);
}

// Epoch k's events (with its samples' reports), then the halo exchange.
void event_loop::simulate_epoch(std::int64_t k, worker_link& link) {
    auto& timers = totals_.timers;
    const double reported_before = timers.report, waited_before = timers.wait;
    const std::int64_t flashes_before = totals_.flashes_total,
                       pulses_before = totals_.pulses_delivered;
    const auto t0 = clock::now();
    begin_epoch(k);
    epoch_end_ = std::min((k + 1) * epoch_, duration_ + 1);
    run_epoch(epoch_end_, link);
    const auto t1 = clock::now();
    if (config_.record_epochs) record_epoch(flashes_before, pulses_before);
    // The samples' reports, sent from inside the epoch, count as report time, not simulate.
    timers.simulate += std::chrono::duration<double>(t1 - t0).count() -
                       (timers.report - reported_before) - (timers.wait - waited_before);
    exchange_halo(link);
    timers.exchange += seconds_since(t1);
}

// A flash-only report, when report_flash_cap flashes wait or the cadence asks for one.
void event_loop::report_if_due(worker_link& link, tick_t report_every) {
    if (unreported_.size() < report_flash_cap &&
        (report_every == 0 || epoch_end_ - 1 - reported_through_ < report_every))
        return;
    report_header h;
    h.kind = report_kind::flashes;
    h.through = epoch_end_ - 1;
    send_flashes(link, h);
}

// At every epoch boundary, every worker together: stop (a signal)? A signal stops the run within
// a few epochs (2 + log2 of the workers: the consensus is pipelined, see the worker link),
// milliseconds of wall time, so that even a launcher that kills its ranks a second after passing
// a signal on gets a clean stop.
bool event_loop::stop_requested(worker_link& link) {
    const auto w0 = clock::now();
    const bool stop = link.stop_requested();
    totals_.timers.wait += seconds_since(w0);
    return stop;
}

void event_loop::run(worker_link& link, const worker_cadence& cadence) {
    // The first periodic checkpoint's time after the epoch this run starts at.
    const tick_t every = cadence.checkpoint_every;
    tick_t next_checkpoint = every > 0 ? (first_epoch_ * epoch_ / every + 1) * every : 0;
    const auto start = clock::now();
    for (std::int64_t k = first_epoch_;; ++k) {
        if (cadence.speed > 0) wait_for_pace(k, cadence.speed, start, link);
        simulate_epoch(k, link);
        if (epoch_end_ > duration_) return finish(link, false, false, duration_);
        report_if_due(link, cadence.report_every);
        const bool stop = stop_requested(link);
        // --stop-when-synced: at the first boundary after the sample that follows the decision,
        // the same simulated time for every decomposition; a complete run, no checkpoint.
        if (stop_after_ >= 0 && next_sample_ > stop_after_)
            return finish(link, false, false, epoch_end_ - 1);
        // After each sample: a periodic checkpoint due?
        const bool periodic =
            stop_check_due_ && next_checkpoint > 0 && epoch_end_ >= next_checkpoint;
        stop_check_due_ = false;
        const bool save = cadence.checkpoints && (stop || periodic);
        if (save) checkpoint(link, k + 1);
        if (periodic)
            while (epoch_end_ >= next_checkpoint)
                next_checkpoint += every;
        if (stop) return finish(link, true, save, epoch_end_ - 1);
    }
}

} // namespace fireflies
