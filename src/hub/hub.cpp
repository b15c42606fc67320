#include "fireflies/hub.hpp"

#include <algorithm>
#include <ranges>

#include "fireflies/error.hpp"

namespace fireflies {

hub::hub(const run_config& config, const decomposition& d, observer& out)
    : config_(config), cells_(config.width * config.height), period_(to_ticks(config.period)),
      sample_(to_ticks(config.sample_every)), out_(out),
      queues_(static_cast<std::size_t>(d.workers())), flash_order_(period_),
      sync_(config.sync_threshold, period_, sample_),
      volley_window_(to_ticks(config.volley_window)) {
    for (const block& b : d.blocks())
        block_cells_.push_back(b.cells());
    totals_.finals.resize(queues_.size());
    totals_.work_per_epoch.resize(queues_.size());
    through_.assign(queues_.size(), -1);
    snapshots_ = snapshot_grid::of(config.width, config.height, config.snapshot_max);
}

tick_t hub::through() const noexcept {
    return through_.empty() ? 0 : *std::min_element(through_.begin(), through_.end());
}

void hub::absorb(const report_header& header, const report_body& body) {
    const auto w = static_cast<std::size_t>(header.worker);
    if (w >= queues_.size() || static_cast<std::int64_t>(body.events.size()) != header.events ||
        body.previous.size() != body.events.size() ||
        static_cast<std::int64_t>(body.pixels.size()) != header.pixels ||
        static_cast<std::int64_t>(body.epochs.size()) != header.epoch_records ||
        (!body.epochs.empty() && header.kind != report_kind::final))
        throw error("hub: malformed report from worker " + std::to_string(header.worker));
    // (A worker's last report: nothing else of the worker follows it to keep in order.)
    if (!body.epochs.empty())
        totals_.work_per_epoch[w].assign(body.epochs.begin(), body.epochs.end());
    auto& q = queues_[w];
    q.push_back({header, {}, {}, {body.pixels.begin(), body.pixels.end()}, false});
    // A report at the front is applied at once (its events need not be copied); one behind a
    // sample that waits for the other workers is held with its events.
    if (q.size() == 1) {
        take(q.front().header, body.events, body.previous);
        q.front().applied = true;
        if (header.kind == report_kind::flashes)
            q.pop_front();
        else
            ++ready_;
    } else {
        q.back().events.assign(body.events.begin(), body.events.end());
        q.back().previous.assign(body.previous.begin(), body.previous.end());
    }
    emit_ready();
}

namespace {
// Whether a reported flash (after one at `previous`, -1 for none) cannot be one of a grid of
// `cells` fireflies. Without branches (`|`), so that take checks a report in one straight pass.
bool foreign_flash(const flash_event& ev, tick_t previous, std::int64_t cells) noexcept {
    return (ev.agent >= static_cast<std::uint64_t>(cells)) | (previous < -1) | (previous >= ev.t);
}
} // namespace

void hub::take(const report_header& header, std::span<const flash_event> events,
               std::span<const tick_t> previous) {
    if (config_.telemetry != telemetry_mode::events) {
        take_region(header, events);
        return;
    }
    // The report's flashes checked in one pass; their times to the interval's (for its largest
    // volley), copied without a first zeroing; then the seed's order parameter: + the phasor of
    // -t of each flash, - that of -previous when the firefly had flashed before.
    const std::size_t n = events.size(), start = interval_times_.size();
    bool bad = false;
    for (std::size_t i = 0; i < n; ++i)
        bad |= foreign_flash(events[i], previous[i], cells_);
    if (bad) reject_flashes(header, events, previous);
    const auto times = std::views::transform(events, &flash_event::t);
    interval_times_.insert(interval_times_.end(), times.begin(), times.end());
    flash_order_.flashes(interval_times_.data() + start, previous.data(), n);
    if (n > 0) out_.on_flashes(events);
    totals_.flashes_received += static_cast<std::int64_t>(events.size());
    interval_flashes_ += header.flashes;
    through_[static_cast<std::size_t>(header.worker)] = header.through;
}

// The first flash of a report that is not one of this grid's: an error.
void hub::reject_flashes(const report_header& header, std::span<const flash_event> events,
                         std::span<const tick_t> previous) const {
    for (std::size_t i = 0; i < events.size(); ++i) {
        const flash_event& ev = events[i];
        const tick_t before = previous[i];
        if (foreign_flash(ev, before, cells_))
            throw error("hub: worker " + std::to_string(header.worker) +
                        " reported a flash of firefly " + std::to_string(ev.agent) + " at " +
                        std::to_string(ev.t) + " ns after one at " + std::to_string(before) +
                        " ns: not a flash of this grid");
    }
    throw error("hub: malformed report from worker " + std::to_string(header.worker));
}

// Summary telemetry: the sums carry the series; events are only a --record-region's flashes, for
// the file.
void hub::take_region(const report_header& header, std::span<const flash_event> events) {
    const grid_region& region = config_.record_region;
    if (!events.empty() && (!config_.record_flashes || region.whole()))
        throw error("hub: flash events from worker " + std::to_string(header.worker) +
                    " in summary telemetry");
    for (const flash_event& ev : events)
        if (ev.agent >= static_cast<std::uint64_t>(cells_) ||
            !region.contains(static_cast<std::int64_t>(ev.agent) % config_.width,
                             static_cast<std::int64_t>(ev.agent) / config_.width))
            throw error("hub: worker " + std::to_string(header.worker) +
                        " reported a flash of firefly " + std::to_string(ev.agent) +
                        ", outside the --record-region");
    if (!events.empty()) out_.on_flashes(events);
    interval_flashes_ += header.flashes;
    through_[static_cast<std::size_t>(header.worker)] = header.through;
}

void hub::apply(held_report& r) {
    take(r.header, r.events, r.previous);
    r.events = {};
    r.previous = {};
    r.applied = true;
}

void hub::advance(std::size_t w) {
    auto& q = queues_[w];
    while (!q.empty() && !q.front().applied) {
        apply(q.front());
        if (q.front().header.kind != report_kind::flashes) {
            ++ready_;
            break;
        }
        q.pop_front();
    }
}

bool hub::fronts_all(report_kind kind) const {
    for (const auto& q : queues_)
        if (q.front().header.kind != kind) return false;
    return true;
}

void hub::emit_ready() {
    // A round (a sample, a checkpoint or the end) is complete when every worker's front report is
    // an applied marker: counted as they arrive, so a report costs O(1) here and a round O(P).
    for (;;) {
        if (ready_ < queues_.size()) return;
        if (fronts_all(report_kind::final)) break;
        if (fronts_all(report_kind::checkpoint)) {
            checkpoint_ready_ = true;
            return;
        }
        emit_sample();
        next_round();
    }
    // Every worker has sent its final report.
    done_ = true;
    add_up_finals();
    check_stop_when_synced();
}

// The snapshot frame from the workers' front reports' pixels; whether there is one.
bool hub::assemble_frame() {
    bool snapshot = false;
    for (const auto& q : queues_)
        snapshot = snapshot || q.front().header.pixels > 0;
    if (!snapshot) return false;
    frame_.assign(static_cast<std::size_t>(snapshots_.nx * snapshots_.ny), 0.0f);
    for (const auto& q : queues_)
        for (const snapshot_pixel& p : q.front().pixels) {
            if (p.index < 0 || static_cast<std::size_t>(p.index) >= frame_.size())
                throw error("hub: snapshot pixel " + std::to_string(p.index) +
                            " is outside the frame");
            frame_[static_cast<std::size_t>(p.index)] = static_cast<float>(p.value);
        }
    return true;
}

// Every worker's front report is sample next_sample_'s marker: the sample, to the output.
void hub::emit_sample() {
    const bool summary = config_.telemetry == telemetry_mode::summary;
    sample s;
    s.index = next_sample_;
    s.t = next_sample_ * sample_;
    phasor_sum state, flashes;
    std::int64_t flashed = 0;
    for (std::size_t w = 0; w < queues_.size(); ++w) {
        const report_header& h = queues_[w].front().header;
        if (h.kind != report_kind::sample || h.sample != next_sample_)
            throw error("hub: worker " + std::to_string(w) + " skipped sample " +
                        std::to_string(next_sample_));
        state += h.state;
        flashes += h.flash_sum;
        flashed += h.flashed;
        s.block_R.push_back(h.flash_sum.order(block_cells_[w]));
        s.block_R_state.push_back(h.state.order(block_cells_[w]));
    }
    const bool snapshot = assemble_frame();
    if (!summary && (flashes != flash_order_.sum() || flashed != flash_order_.flashed()))
        ++totals_.order_mismatches;
    flashes_so_far_ += interval_flashes_;
    s.R = summary ? flashes.order(cells_) : flash_order_.sum().order(cells_);
    s.R_state = state.order(cells_);
    s.flashes = interval_flashes_;
    s.pulse = static_cast<double>(flashes_so_far_) / static_cast<double>(cells_);
    // The interval's flash times are exactly those taken since the last sample: a worker's
    // reports after its sample marker are held behind it until this round completes.
    s.largest_volley = summary || !interval_complete_
                           ? -1
                           : largest_volley(interval_times_, volley_window_, volley_scratch_);
    interval_times_.clear();
    interval_complete_ = true;
    sync_.add(s.index, s.R_state);
    interval_flashes_ = 0;
    ++next_sample_;
    ++totals_.samples;
    out_.on_sample(s);
    if (snapshot) out_.on_snapshot(s.t, frame_);
}

// The run's totals from every worker's final report.
void hub::add_up_finals() {
    totals_.reached = queues_.empty() ? 0 : queues_[0].front().header.through;
    totals_.flashes_emitted = base_.flashes_emitted;
    totals_.pulses_sent = base_.pulses_sent;
    totals_.pulses_delivered = base_.pulses_delivered;
    for (std::size_t w = 0; w < queues_.size(); ++w) {
        const report_header& h = queues_[w].front().header;
        totals_.flashes_emitted += h.flashes_total;
        totals_.pulses_sent += h.pulses_sent;
        totals_.pulses_delivered += h.pulses_delivered;
        totals_.pulses_in_flight += h.pulses_in_flight;
        totals_.interrupted = totals_.interrupted || h.interrupted;
        totals_.checkpointed = totals_.checkpointed || h.checkpointed;
        totals_.reached = std::min(totals_.reached, h.through);
        totals_.finals[w] = h;
    }
    if (config_.telemetry == telemetry_mode::summary)
        totals_.flashes_received = flashes_so_far_ + interval_flashes_;
    totals_.time_to_sync = sync_.time_to_sync();
}

// A complete run that ended before its duration: the workers stopped when synchronised, one
// sample after the rule decided, which the hub's own rule must agree with.
void hub::check_stop_when_synced() {
    totals_.stopped_when_synced =
        !totals_.interrupted && totals_.reached < to_ticks(config_.duration);
    // They stop at the first epoch boundary after sample stop_after, so the series ends with the
    // last sample of that sample's epoch: stop_after itself when the delay (the epoch) is at most
    // the sample interval, a later one in the same epoch when it is longer. (A restart after the
    // decision stops at its first boundary, possibly before a new sample.)
    const auto last_of_epoch = [&](std::int64_t sample) {
        const tick_t epoch = to_ticks(config_.delay);
        const tick_t end = (sample * sample_ / epoch + 1) * epoch;
        return (end - 1) / sample_;
    };
    const bool agreed = config_.stop_when_synced && sync_.synced() &&
                        (last_of_epoch(sync_.stop_after()) == next_sample_ - 1 ||
                         sync_.stop_after() < base_.next_sample);
    if (totals_.stopped_when_synced && !agreed)
        throw error("hub: the workers stopped after sample " + std::to_string(next_sample_ - 1) +
                    " as synchronised, the hub's time-to-sync rule says after sample " +
                    std::to_string(sync_.synced() ? last_of_epoch(sync_.stop_after()) : -1));
}

checkpoint_meta hub::checkpoint_state() const {
    if (!checkpoint_ready_) throw error("hub: no checkpoint is pending");
    checkpoint_meta m = base_;
    const report_header& first = queues_.front().front().header;
    m.epoch = first.epochs;
    m.next_sample = next_sample_;
    m.interval_flashes = interval_flashes_;
    m.flashes_so_far = flashes_so_far_;
    if (config_.telemetry == telemetry_mode::events && interval_complete_)
        m.interval_flash_times = interval_times_;
    m.flashes_received = config_.telemetry == telemetry_mode::summary
                             ? flashes_so_far_ + interval_flashes_
                             : totals_.flashes_received;
    for (const auto& q : queues_) {
        const report_header& h = q.front().header;
        if (h.epochs != m.epoch || h.sample != next_sample_)
            throw error("hub: workers reached different checkpoints");
        m.flashes_emitted += h.flashes_total;
        m.pulses_sent += h.pulses_sent;
        m.pulses_delivered += h.pulses_delivered;
    }
    return m;
}

void hub::next_round() {
    ready_ = 0;
    ++rounds_;
    for (std::size_t w = 0; w < queues_.size(); ++w) {
        queues_[w].pop_front();
        advance(w);
    }
}

void hub::checkpoint_done() {
    checkpoint_ready_ = false;
    next_round();
    emit_ready();
}

void hub::restore(const checkpoint_meta& meta, const sync_tracker::state& sync) {
    if (sync.next != meta.next_sample)
        throw error("hub: the time-to-sync rule has seen " + std::to_string(sync.next) +
                    " samples, the checkpoint " + std::to_string(meta.next_sample));
    sync_.set(sync);
    base_ = meta;
    next_sample_ = meta.next_sample;
    interval_flashes_ = meta.interval_flashes;
    flashes_so_far_ = meta.flashes_so_far;
    totals_.flashes_received = meta.flashes_received;
    // The flashes of the sample in progress, for its largest volley; a checkpoint written in
    // summary telemetry has none to give, and that sample's volley is unknown (-1).
    interval_times_ = meta.interval_flash_times;
    interval_complete_ = static_cast<std::int64_t>(interval_times_.size()) == meta.interval_flashes;
}

void hub::restore_flashes(const phasor_sum& last_flashes, std::int64_t flashed) {
    if (config_.telemetry != telemetry_mode::events) return; // the workers' partial sums carry it
    phasor_sum sum = flash_order_.sum();
    sum += last_flashes;
    flash_order_.restore(sum, flash_order_.flashed() + flashed);
}

void hub::restore_block(const block_state& b) {
    if (config_.telemetry != telemetry_mode::events) return; // the workers' partial sums carry it
    for (const firefly& f : b.fireflies)
        if (f.last_flash >= 0) flash_order_.flash(f.last_flash, -1);
}

} // namespace fireflies
