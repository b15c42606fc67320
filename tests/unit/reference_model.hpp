#pragma once
// A deliberately naive reference simulator of docs/model.md, for the unit tests only.
//
// One global priority queue of individual events (pulse or timer, per firefly) over plain
// arrays, ordered by (time, kind, firefly) with pulses before timers at equal times. The model's
// rules come from `firefly_rules` (tested on their own in test_model.cpp); everything else (the
// neighbourhood on the torus, the delays, when an event happens, what is counted) is written
// here again from scratch, without the epochs, rings, radix sorts or coroutines of
// block_simulation, so that the two can be compared event for event.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "app/program.hpp"
#include "fireflies/block_simulation.hpp"
#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/firefly.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"
#include "fireflies/time.hpp"
#include "fireflies/worker_link.hpp"

namespace fireflies::reference {

/// The distinct Moore neighbours of cell `id` on a W x H torus, without the cell itself,
/// ascending. With `part` (partitioned mode), only those owned by the same worker.
inline std::vector<std::uint64_t> moore_neighbours(std::int64_t W, std::int64_t H, std::uint64_t id,
                                                   const decomposition* part = nullptr,
                                                   bool open = false) {
    const auto x = static_cast<std::int64_t>(id % static_cast<std::uint64_t>(W));
    const auto y = static_cast<std::int64_t>(id / static_cast<std::uint64_t>(W));
    std::set<std::uint64_t> out;
    for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
            // no wrap
            if (open && (x + dx < 0 || x + dx >= W || y + dy < 0 || y + dy >= H)) continue;
            const std::int64_t nx = ((x + dx) % W + W) % W, ny = ((y + dy) % H + H) % H;
            const auto n = static_cast<std::uint64_t>(ny * W + nx);
            if (n == id) continue;
            if (part && part->owner(nx, ny) != part->owner(x, y)) continue;
            out.insert(n);
        }
    return {out.begin(), out.end()};
}

/// The neighbours of cell `id` for --neighbourhood `kind` and --radius `radius`, ascending, found
/// by testing every cell of the grid: another cell is one when its distance along each axis (on
/// the torus the shorter way round, with `open` the plain difference) is within the radius by
/// Chebyshev (moore) or Manhattan (von-neumann) distance. With `part`, only those owned by the
/// same worker.
inline std::vector<std::uint64_t>
neighbours_within(std::int64_t W, std::int64_t H, std::uint64_t id, neighbourhood_kind kind,
                  std::int64_t radius, const decomposition* part = nullptr, bool open = false) {
    const auto x = static_cast<std::int64_t>(id % static_cast<std::uint64_t>(W));
    const auto y = static_cast<std::int64_t>(id / static_cast<std::uint64_t>(W));
    auto apart = [open](std::int64_t a, std::int64_t b, std::int64_t n) {
        const std::int64_t d = a > b ? a - b : b - a;
        return open ? d : std::min(d, n - d);
    };
    std::vector<std::uint64_t> out;
    for (std::int64_t ny = 0; ny < H; ++ny)
        for (std::int64_t nx = 0; nx < W; ++nx) {
            const auto n = static_cast<std::uint64_t>(ny * W + nx);
            const std::int64_t dx = apart(nx, x, W), dy = apart(ny, y, H);
            const std::int64_t d = kind == neighbourhood_kind::moore ? std::max(dx, dy) : dx + dy;
            if (n == id || d > radius) continue;
            if (part && part->owner(nx, ny) != part->owner(x, y)) continue;
            out.push_back(n);
        }
    return out;
}

/// The state of the whole grid at one sample time.
struct snapshot {
    tick_t t = 0;
    std::vector<tick_t> phase;      ///< per firefly, its phase at t after every event <= t
    std::vector<tick_t> last_flash; ///< per firefly, its last flash <= t, or -1
    std::vector<tick_t> period;     ///< per firefly, its own period (the run's without a spread)
    std::int64_t flashes = 0;       ///< flashes with time <= t
};

struct result {
    std::vector<flash_event> flashes; ///< every flash, sorted by (t, agent)
    std::vector<firefly> final_states;
    std::vector<snapshot> samples; ///< at k * sample_every for every k with that time <= through
    std::int64_t pulses_sent = 0;  ///< one per (flash, coupled neighbour)
    std::int64_t pulses_delivered = 0; ///< pulses with arrival time <= through
    std::int64_t pulses_in_flight = 0; ///< pulses with arrival time > through
    std::vector<std::int64_t> sent_by, delivered_to, in_flight_to; ///< the same, per firefly
};

/// Runs the model of `c` over the whole grid through simulated time `through` (inclusive).
/// `part` is used only when c.partitioned (the coupling is cut at its block boundaries).
inline result run(const run_config& c, tick_t through, const decomposition* part = nullptr) {
    const model_params p = model_params::from(c);
    const firefly_rules rules(p);
    const std::int64_t W = c.width, H = c.height;
    const auto n = static_cast<std::size_t>(W * H);
    const decomposition* cut = c.partitioned ? part : nullptr;

    std::vector<std::vector<std::uint64_t>> nbr(n);
    const bool open = c.boundary == boundary_kind::open;
    for (std::size_t i = 0; i < n; ++i) {
        if (c.coupling == coupling_kind::all_to_all) { // every other firefly
            for (std::uint64_t m = 0; m < n; ++m)
                if (m != i) nbr[i].push_back(m);
        } else {
            nbr[i] = c.neighbourhood == neighbourhood_kind::moore && c.radius == 1
                         ? moore_neighbours(W, H, i, cut, open)
                         : neighbours_within(W, H, i, c.neighbourhood, c.radius, cut, open);
        }
    }

    // (time, kind, firefly): kind 0 = pulse, 1 = timer, so pulses come first at equal times.
    using ev = std::tuple<tick_t, int, std::uint64_t>;
    std::priority_queue<ev, std::vector<ev>, std::greater<>> q;

    result r;
    r.sent_by.assign(n, 0);
    r.delivered_to.assign(n, 0);
    r.in_flight_to.assign(n, 0);
    // Each firefly with its own period (the run's T and Rf without a period spread or pacemakers).
    std::vector<firefly_spread> st(n);
    std::vector<tick_t> last(n, -1), periods(n);
    // Pacemakers: a fixed period, phase U(0, period) at the start, pulses ignored.
    const std::vector<pacemaker_period> pacemakers = pacemaker_periods(c);
    std::vector<bool> paces(n, false);
    for (const auto& m : pacemakers)
        paces[m.id] = true;
    for (std::size_t i = 0; i < n; ++i) {
        const own_period own =
            paces[i]
                ? own_period{pacemakers[static_cast<std::size_t>(
                                            std::find_if(pacemakers.begin(), pacemakers.end(),
                                                         [&](const auto& m) { return m.id == i; }) -
                                            pacemakers.begin())]
                                 .period,
                             0}
                : natural_period(p, i);
        st[i] = {paces[i] ? rules.start(i, own.period) : rules.start(i), own.period,
                 own.refractory};
        periods[i] = own.period;
        q.emplace(rules.next_turn(st[i]), 1, i);
    }

    auto advance = [&](tick_t until) {
        while (!q.empty() && std::get<0>(q.top()) <= until) {
            const auto [t, kind, id] = q.top();
            q.pop();
            firefly_spread& f = st[id];
            if (kind == 1 && rules.next_turn(f) != t) continue; // stale timer
            const tick_t before = rules.next_turn(f);
            reaction re;
            if (paces[id]) {
                if (kind == 0) { // ignored
                    ++r.pulses_delivered;
                    ++r.delivered_to[id];
                    continue;
                }
                f.last_flash = t; // its turn: it flashes, and again one period later
                f.flash_at = t + f.period;
                re = reaction::flashed;
            } else if (kind == 0) {
                ++r.pulses_delivered;
                ++r.delivered_to[id];
                re = rules.pulse(f, id, t);
            } else {
                re = rules.act(f, id, t);
            }
            if (re == reaction::flashed) {
                r.flashes.push_back({t, id});
                last[id] = t;
                for (auto m : nbr[id]) {
                    q.emplace(t + p.delay, 0, m);
                    ++r.pulses_sent;
                    ++r.sent_by[id];
                }
            }
            if (rules.next_turn(f) != before) q.emplace(rules.next_turn(f), 1, id);
        }
    };

    const tick_t sample = to_ticks(c.sample_every);
    const tick_t duration = to_ticks(c.duration);
    for (std::int64_t k = 0; k * sample <= through && k * sample <= duration; ++k) {
        const tick_t t = k * sample;
        advance(t);
        snapshot s;
        s.t = t;
        s.phase.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            s.phase[i] = rules.phase(st[i], t);
        s.last_flash = last;
        s.period = periods;
        s.flashes = static_cast<std::int64_t>(r.flashes.size());
        r.samples.push_back(std::move(s));
    }
    advance(through);
    while (!q.empty()) {
        if (std::get<1>(q.top()) == 0) {
            ++r.pulses_in_flight;
            ++r.in_flight_to[std::get<2>(q.top())];
        }
        q.pop();
    }
    std::sort(r.flashes.begin(), r.flashes.end());
    r.final_states.assign(st.begin(), st.end());
    return r;
}

/// Sum of the phasors of the true phases of the cells of `b` in snapshot `s`.
inline phasor_sum state_sum(const snapshot& s, const block& b, std::int64_t W, tick_t period) {
    phasor_sum sum;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x)
            sum += phasor_sum::of(s.phase[static_cast<std::size_t>(y * W + x)],
                                  s.period.empty() ? period
                                                   : s.period[static_cast<std::size_t>(y * W + x)]);
    return sum;
}

/// The seed's R sum, from scratch: sum of exp(-i 2 pi t_last / T) over the cells of `b` that
/// have flashed; and how many have.
inline std::pair<phasor_sum, std::int64_t> flash_sum(const snapshot& s, const block& b,
                                                     std::int64_t W, tick_t period) {
    phasor_sum sum;
    std::int64_t flashed = 0;
    for (std::int64_t y = b.y0; y < b.y0 + b.height; ++y)
        for (std::int64_t x = b.x0; x < b.x0 + b.width; ++x) {
            const tick_t last = s.last_flash[static_cast<std::size_t>(y * W + x)];
            if (last < 0) continue;
            sum += phasor_sum::of(-last, period);
            ++flashed;
        }
    return {sum, flashed};
}

} // namespace fireflies::reference

namespace fireflies::testkit {

/// One report as a worker sent it.
struct report {
    report_header header;
    std::vector<flash_event> events;
    std::vector<tick_t> previous; ///< of each event: its firefly's flash before, -1 for none
    std::vector<snapshot_pixel> pixels;
    report_body body() const { return {events, previous, pixels, {}}; }
};

/// A worker's link to nobody: records the reports, never exchanges (a single worker, or
/// --partitioned, has no neighbour ranks), and answers stop_requested() with true from its
/// (stop_after + 1)-th question on when stop_after >= 0.
class recording_link : public worker_link {
  public:
    std::vector<report> reports;
    int stop_after = -1;
    int stop_questions = 0;
    int exchanges = 0;

    void exchange(const std::vector<int>& neighbours, const std::vector<std::vector<flash_event>>&,
                  std::vector<flash_event>&) override {
        ++exchanges;
        if (!neighbours.empty())
            throw std::logic_error("recording_link cannot exchange with neighbours");
    }
    std::vector<std::vector<std::byte>> blocks; ///< checkpoint blocks handed over

    void send_report(const report_header& h, const report_body& body) override {
        reports.push_back({h,
                           {body.events.begin(), body.events.end()},
                           {body.previous.begin(), body.previous.end()},
                           {body.pixels.begin(), body.pixels.end()}});
    }
    void save_checkpoint(const block_state& mine) override { blocks.push_back(mine.pack()); }
    bool stop_requested() override { return ++stop_questions > stop_after && stop_after >= 0; }
};

/// In-memory halo exchange between block_simulations running on threads of this process:
/// what worker a sends worker b at its n-th exchange is what b receives from a at its n-th.
class mesh {
  public:
    class link : public recording_link {
      public:
        link(mesh& m, int me) : mesh_(m), me_(me) {}
        void exchange(const std::vector<int>& neighbours,
                      const std::vector<std::vector<flash_event>>& outgoing,
                      std::vector<flash_event>& incoming) override {
            mesh_.exchange(me_, exchanges++, neighbours, outgoing, incoming);
        }
        void gather_flashes(const std::vector<flash_event>& mine,
                            std::vector<flash_event>& all) override {
            mesh_.gather(me_, gathers_++, mine, all);
        }
        void start_state_sum(const phasor_sum& mine) override { mesh_.add_state(sums_, mine); }
        phasor_sum finish_state_sum() override { return mesh_.state_total(me_, sums_++); }

      private:
        mesh& mesh_;
        int me_;
        long sums_ = 0;    // state reductions begun by this worker
        long gathers_ = 0; // all-to-all gathers made by this worker
    };

    /// --coupling all-to-all: round r gives every worker every worker's r-th flashes, the
    /// workers in descending order (the engine must not depend on the order).
    void gather(int me, long round, const std::vector<flash_event>& mine,
                std::vector<flash_event>& all) {
        std::unique_lock lock(mutex_);
        gathered_[round].first[me] = mine;
        changed_.notify_all();
        if (!changed_.wait_for(lock, std::chrono::seconds(60), [&] {
                return static_cast<int>(gathered_[round].first.size()) == workers_;
            }))
            throw std::runtime_error("mesh: worker " + std::to_string(me) +
                                     " waited 60 s for gather " + std::to_string(round));
        auto& [ready, count] = gathered_[round];
        for (auto it = ready.rbegin(); it != ready.rend(); ++it)
            all.insert(all.end(), it->second.begin(), it->second.end());
        if (++count == workers_) gathered_.erase(round);
    }

    explicit mesh(int workers = 0) : workers_(workers) {}

    /// The state reductions (--stop-when-synced): round r's total is every worker's r-th sum.
    void add_state(long round, const phasor_sum& mine) {
        std::lock_guard lock(mutex_);
        auto& [sum, count] = sums_[round];
        sum += mine;
        ++count;
        changed_.notify_all();
    }
    phasor_sum state_total(int me, long round) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, std::chrono::seconds(60),
                               [&] { return sums_[round].second == workers_; }))
            throw std::runtime_error("mesh: worker " + std::to_string(me) +
                                     " waited 60 s for state reduction " + std::to_string(round));
        return sums_[round].first;
    }

    void exchange(int me, long round, const std::vector<int>& neighbours,
                  const std::vector<std::vector<flash_event>>& outgoing,
                  std::vector<flash_event>& incoming) {
        if (outgoing.size() != neighbours.size())
            throw std::logic_error("outgoing does not match neighbours");
        std::unique_lock lock(mutex_);
        for (std::size_t n = 0; n < neighbours.size(); ++n)
            box_[{me, neighbours[n], round}] = outgoing[n];
        changed_.notify_all();
        for (int from : neighbours) {
            const key k{from, me, round};
            if (!changed_.wait_for(lock, std::chrono::seconds(60),
                                   [&] { return box_.count(k) != 0; }))
                throw std::runtime_error("mesh: worker " + std::to_string(me) +
                                         " waited 60 s for worker " + std::to_string(from) +
                                         " at exchange " + std::to_string(round));
            auto& v = box_[k];
            incoming.insert(incoming.end(), v.begin(), v.end());
            box_.erase(k);
        }
    }

  private:
    using key = std::tuple<int, int, long>;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<key, std::vector<flash_event>> box_;
    int workers_;
    std::map<long, std::pair<phasor_sum, int>> sums_;
    // round: parts, taken
    std::map<long, std::pair<std::map<int, std::vector<flash_event>>, int>> gathered_;
};

/// What one worker's block_simulation did.
struct worker_run {
    int worker = 0;
    block cells;
    std::vector<std::uint64_t> ids; ///< global id of each local firefly
    std::vector<firefly> states;    ///< after run()
    std::vector<report> reports;
    std::size_t frame_bytes = 0;
    int exchanges = 0;
    int stop_questions = 0;
    std::vector<std::vector<std::byte>> blocks; ///< checkpoint blocks it handed over, packed
};

/// Makes worker w's block_simulation.
using sim_factory = std::function<std::unique_ptr<block_simulation>(int worker)>;

/// Runs every worker of `d` on `c`: one after the other when they need no exchange (one worker,
/// or partitioned), else each on its own thread over a mesh. `make` builds the simulations
/// (default: fresh ones from the config).
inline std::vector<worker_run> run_workers(const run_config& c, const decomposition& d,
                                           int stop_after = -1, const sim_factory& make = {}) {
    const int P = d.workers();
    std::vector<std::unique_ptr<block_simulation>> sims;
    for (int w = 0; w < P; ++w)
        sims.push_back(make ? make(w) : std::make_unique<block_simulation>(c, d, w));
    mesh net(P);
    std::vector<std::unique_ptr<recording_link>> links;
    const bool threaded = P > 1 && !c.partitioned;
    for (int w = 0; w < P; ++w) {
        if (threaded)
            links.push_back(std::make_unique<mesh::link>(net, w));
        else
            links.push_back(std::make_unique<recording_link>());
        links.back()->stop_after = stop_after;
    }
    if (threaded) {
        std::vector<std::string> errors(static_cast<std::size_t>(P));
        std::vector<std::thread> threads;
        for (int w = 0; w < P; ++w)
            threads.emplace_back([&, w] {
                try {
                    sims[static_cast<std::size_t>(w)]->run(*links[static_cast<std::size_t>(w)],
                                                           cadence_of(c));
                } catch (const std::exception& e) {
                    errors[static_cast<std::size_t>(w)] = e.what();
                }
            });
        for (auto& t : threads)
            t.join();
        for (int w = 0; w < P; ++w)
            if (!errors[static_cast<std::size_t>(w)].empty())
                throw std::runtime_error("worker " + std::to_string(w) + ": " +
                                         errors[static_cast<std::size_t>(w)]);
    } else {
        for (int w = 0; w < P; ++w)
            sims[static_cast<std::size_t>(w)]->run(*links[static_cast<std::size_t>(w)],
                                                   cadence_of(c));
    }
    std::vector<worker_run> out;
    for (int w = 0; w < P; ++w) {
        const auto& sim = *sims[static_cast<std::size_t>(w)];
        worker_run r;
        r.worker = w;
        r.cells = sim.cells();
        r.states = sim.fireflies();
        for (std::uint32_t i = 0; i < r.states.size(); ++i)
            r.ids.push_back(sim.global_id(i));
        r.reports = std::move(links[static_cast<std::size_t>(w)]->reports);
        r.blocks = std::move(links[static_cast<std::size_t>(w)]->blocks);
        r.frame_bytes = sim.frame_bytes();
        r.exchanges = links[static_cast<std::size_t>(w)]->exchanges;
        r.stop_questions = links[static_cast<std::size_t>(w)]->stop_questions;
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace fireflies::testkit
