// Hub-only microbenchmark: how many flash events per second fireflies::hub::absorb() takes,
// with no MPI and no workers, so that the hub's own cost is measured apart from the transport.
//
// It feeds the hub what `workers` workers would send for a W x H grid in events telemetry:
// every firefly flashes once per period at a random phase (agents in random order within each
// instant, as on a large grid), each flash with its firefly's previous flash time, each
// worker's flashes of one sample interval in time order, cut into reports of at most --batch
// events, the last of them the `sample` report; the workers' reports interleaved round-robin. The
// reports carry the exact order-parameter partial sums, so the hub checks them (no mismatch
// allowed). The reports are built before the clock starts; only absorb() calls are timed.
//
//   hub_bench [--width 1000] [--height 1000] [--workers 2] [--events 20000000] [--batch 65536]
// prints one JSON object on stdout.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/order_parameter.hpp"
#include "fireflies/report.hpp"

namespace {

using namespace fireflies;

struct quiet : hub::observer {
    std::int64_t samples = 0;
    void on_sample(const sample&) override { ++samples; }
};

struct worker_feed {
    block b;
    std::vector<std::uint64_t> agents; // sorted by phase offset
    std::vector<tick_t> offsets;       // ascending, in [0, period)
    std::vector<tick_t> last;          // per agent of the block (local index), -1: never
    flash_order order;
    std::int64_t emitted = 0;
    explicit worker_feed(tick_t period) : order(period) {}
};

struct report {
    report_header header;
    std::vector<flash_event> events;
    std::vector<tick_t> previous;
};

long long arg(int argc, char** argv, const char* name, long long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
    return fallback;
}

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
            std::puts("hub_bench [--width 1000] [--height 1000] [--workers 2] [--events 20000000] "
                      "[--batch 65536] [--seed 1]");
            return 0;
        }
    run_config config;
    config.width = arg(argc, argv, "--width", 1000);
    config.height = arg(argc, argv, "--height", 1000);
    const int workers = static_cast<int>(arg(argc, argv, "--workers", 2));
    const long long target_events = arg(argc, argv, "--events", 20000000);
    const auto batch = static_cast<std::size_t>(std::max(1LL, arg(argc, argv, "--batch", 65536)));
    const auto seed = static_cast<std::uint64_t>(arg(argc, argv, "--seed", 1));
    config.telemetry = telemetry_mode::events;
    config.mode = refractory_mode::drop;

    const decomposition d(config.width, config.height, workers);
    const tick_t period = to_ticks(config.period), interval = to_ticks(config.sample_every);
    const std::int64_t cells = config.width * config.height;
    // Whole intervals until the wanted number of events: each interval has cells * interval /
    // period.
    const double per_interval =
        static_cast<double>(cells) * static_cast<double>(interval) / static_cast<double>(period);
    const auto intervals = static_cast<std::int64_t>(
        std::max(1.0, static_cast<double>(target_events) / per_interval + 0.999));
    // The run these reports describe ends at its last interval, as a real run's duration does
    // (a final report before the duration would read as a run stopped when synchronised).
    config.duration = to_seconds(intervals * interval);

    std::mt19937_64 rng(seed);
    std::vector<worker_feed> feeds;
    for (int w = 0; w < d.workers(); ++w) {
        worker_feed f(period);
        f.b = d.block_of(w);
        const auto n = static_cast<std::size_t>(f.b.cells());
        std::vector<std::pair<tick_t, std::uint64_t>> order(n);
        std::uniform_int_distribution<tick_t> phase(0, period - 1);
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = f.b.x0 + static_cast<std::int64_t>(i) % f.b.width;
            const auto y = f.b.y0 + static_cast<std::int64_t>(i) / f.b.width;
            order[i] = {phase(rng), static_cast<std::uint64_t>(y * config.width + x)};
        }
        std::sort(order.begin(), order.end());
        for (const auto& [o, a] : order) {
            f.offsets.push_back(o);
            f.agents.push_back(a);
        }
        f.last.assign(n, -1);
        feeds.push_back(std::move(f));
    }
    auto local = [&](const worker_feed& f, std::uint64_t agent) {
        const auto x = static_cast<std::int64_t>(agent) % config.width - f.b.x0;
        const auto y = static_cast<std::int64_t>(agent) / config.width - f.b.y0;
        return static_cast<std::size_t>(y * f.b.width + x);
    };

    // One interval's reports of one worker: flashes with t in (t0, t1], then the sample at t1.
    auto build = [&](worker_feed& f, std::int32_t w, std::int64_t k) {
        std::vector<report> out;
        std::vector<flash_event> events;
        if (k > 0) {
            const tick_t t0 = (k - 1) * interval, t1 = k * interval;
            // Flash times t = offset + m * period in (t0, t1].
            for (tick_t base = (t0 / period) * period; base <= t1; base += period) {
                auto lo = std::upper_bound(f.offsets.begin(), f.offsets.end(), t0 - base);
                auto hi = std::upper_bound(f.offsets.begin(), f.offsets.end(), t1 - base);
                for (auto it = lo; it != hi; ++it) {
                    const auto i = static_cast<std::size_t>(it - f.offsets.begin());
                    events.push_back({base + *it, f.agents[i]});
                }
            }
        }
        std::vector<tick_t> previous;
        for (const flash_event& ev : events) {
            auto& last = f.last[local(f, ev.agent)];
            f.order.flash(ev.t, last);
            previous.push_back(last);
            last = ev.t;
        }
        f.emitted += static_cast<std::int64_t>(events.size());
        std::size_t at = 0;
        do {
            const std::size_t n = std::min(batch, events.size() - at);
            report r;
            r.header.worker = w;
            r.events.assign(events.begin() + static_cast<std::ptrdiff_t>(at),
                            events.begin() + static_cast<std::ptrdiff_t>(at + n));
            r.previous.assign(previous.begin() + static_cast<std::ptrdiff_t>(at),
                              previous.begin() + static_cast<std::ptrdiff_t>(at + n));
            at += n;
            r.header.events = static_cast<std::int64_t>(n);
            r.header.flashes = static_cast<std::int64_t>(n);
            const bool last = at == events.size();
            r.header.through = last ? k * interval : r.events.back().t;
            if (last) {
                r.header.kind = report_kind::sample;
                r.header.sample = k;
                r.header.flash_sum = f.order.sum();
                r.header.flashed = f.order.flashed();
            }
            out.push_back(std::move(r));
        } while (at < events.size());
        return out;
    };

    quiet observer;
    hub h(config, d, observer);
    double seconds = 0;
    std::int64_t fed = 0, calls = 0;
    using clock = std::chrono::steady_clock;
    auto feed = [&](const report& r) {
        const auto start = clock::now();
        h.absorb(r.header, {r.events, r.previous, {}, {}});
        seconds += std::chrono::duration<double>(clock::now() - start).count();
        fed += static_cast<std::int64_t>(r.events.size());
        ++calls;
    };
    for (std::int64_t k = 0; k <= intervals; ++k) {
        std::vector<std::vector<report>> per_worker;
        for (int w = 0; w < d.workers(); ++w)
            per_worker.push_back(build(feeds[static_cast<std::size_t>(w)], w, k));
        for (std::size_t i = 0;; ++i) {
            bool any = false;
            for (auto& reports : per_worker)
                if (i < reports.size()) {
                    feed(reports[i]);
                    any = true;
                }
            if (!any) break;
        }
    }
    for (int w = 0; w < d.workers(); ++w) {
        report r;
        r.header.worker = w;
        r.header.kind = report_kind::final;
        r.header.through = intervals * interval;
        r.header.flashes_total = feeds[static_cast<std::size_t>(w)].emitted;
        feed(r);
    }
    const run_totals& t = h.totals();
    const bool ok = h.done() && t.flashes_received == fed && t.flashes_emitted == fed &&
                    t.order_mismatches == 0 && observer.samples == intervals + 1;
    std::printf("{\"width\": %" PRId64 ", \"height\": %" PRId64
                ", \"workers\": %d, \"batch\": %zu, "
                "\"events\": %" PRId64 ", \"absorb_calls\": %" PRId64 ", \"samples\": %" PRId64
                ", \"seconds\": %.6f, \"events_per_second\": %.6g, \"ns_per_event\": %.4g, "
                "\"order_mismatches\": %" PRId64 ", \"ok\": %s}\n",
                config.width, config.height, d.workers(), batch, fed, calls, observer.samples,
                seconds, seconds > 0 ? static_cast<double>(fed) / seconds : 0.0,
                fed > 0 ? seconds * 1e9 / static_cast<double>(fed) : 0.0, t.order_mismatches,
                ok ? "true" : "false");
    if (!ok) {
        std::fprintf(
            stderr,
            "hub_bench: the hub did not take the synthetic run as expected (done %d, received "
            "%" PRId64 " of %" PRId64 ", mismatches %" PRId64 ", samples %" PRId64 ")\n",
            h.done() ? 1 : 0, t.flashes_received, fed, t.order_mismatches, observer.samples);
        return 1;
    }
    return 0;
}
