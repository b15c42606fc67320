#include "app/memory_check.hpp"

#include "app/telemetry_choice.hpp"

#include <cstdio>
#include <string>

#include "fireflies/error.hpp"

namespace fireflies {

double memory_estimate::recording_bytes(const run_config& config) {
    if (!config.record_flashes) return 0;
    // A firefly flashes about once a period; pulses make it a little more often (1.25 covers the
    // coupled runs measured). Only the fireflies of a --record-region are held.
    const grid_region& r = config.record_region;
    const double cells =
        r.whole() ? static_cast<double>(config.width) * static_cast<double>(config.height)
                  : static_cast<double>(r.width) * static_cast<double>(r.height);
    return cells * 1.25 * config.sample_every / config.period * recorded_flash;
}

double memory_estimate::recording_share(const run_config& config, int workers) {
    if (!config.record_flashes) return 0;
    run_config without = config;
    without.record_flashes = false;
    without.record_region = {};
    return recording_bytes(config) + volley_bytes(config, workers) - volley_bytes(without, workers);
}

double memory_estimate::volley_bytes(const run_config& config, int workers) {
    run_config chosen = config;
    choose_telemetry(chosen, workers); // --telemetry auto: what the run will use
    if (chosen.telemetry != telemetry_mode::events) return 0;
    const double cells = static_cast<double>(config.width) * static_cast<double>(config.height);
    return cells * 1.25 * config.sample_every / config.period * volley_flash;
}

double memory_estimate::rank_bytes(const run_config& config, const decomposition& d, int ranks,
                                   int rank) {
    const double hub = hub_fixed + recording_bytes(config) + volley_bytes(config, d.workers());
    auto worker = [&](int w) {
        const block& b = d.block_of(w);
        return worker_fixed +
               static_cast<double>(b.width) * static_cast<double>(b.height) * worker_per_firefly;
    };
    if (ranks == 1) return hub + worker(0);
    return rank == 0 ? hub : worker(rank - 1);
}

void check_memory(const run_config& config, const decomposition& d, int ranks,
                  const node_map& nodes) {
    std::vector<double> need(nodes.names.size(), 0.0);
    std::vector<int> on_node(nodes.names.size(), 0);
    for (int r = 0; r < ranks; ++r) {
        const auto n = static_cast<std::size_t>(nodes.node_of_rank.at(static_cast<std::size_t>(r)));
        need[n] += memory_estimate::rank_bytes(config, d, ranks, r);
        ++on_node[n];
    }
    const auto hub_node = static_cast<std::size_t>(nodes.node_of_rank.at(0));
    for (std::size_t n = 0; n < need.size(); ++n) {
        if (nodes.available[n] <= 0 || need[n] <= nodes.available[n]) continue;
        constexpr double gib = 1 << 30;
        const double cells = static_cast<double>(config.width) * static_cast<double>(config.height);
        const double recording =
            n == hub_node ? memory_estimate::recording_share(config, d.workers()) : 0;
        const grid_region& r = config.record_region;
        char text[640];
        if (recording > 0 && need[n] - recording <= nodes.available[n])
            std::snprintf(
                text, sizeof text,
                "%s: holding a sample interval's flashes of %.3g fireflies (--sample-every %g s) "
                "needs "
                "about %.1f GiB on rank 0's node %s (%.1f GiB with its other ranks), more than the "
                "%.1f "
                "GiB available there; %s",
                r.whole() ? "--record-flashes" : "--record-region",
                r.whole() ? cells : static_cast<double>(r.width) * static_cast<double>(r.height),
                config.sample_every, recording / gib, nodes.names[n].c_str(), need[n] / gib,
                nodes.available[n] / gib,
                r.whole() ? "record a region (--record-region X0,Y0,W,H) or sample more often"
                          : "record a smaller region or sample more often");
        else
            std::snprintf(text, sizeof text,
                          "--width/--height: %lld x %lld = %.3g fireflies need about %.1f GiB on "
                          "node %s (%d of "
                          "the %d ranks), more than the %.1f GiB available there; use more nodes "
                          "or a smaller grid",
                          static_cast<long long>(config.width),
                          static_cast<long long>(config.height), cells, need[n] / gib,
                          nodes.names[n].c_str(), on_node[n], ranks, nodes.available[n] / gib);
        throw usage_error(text);
    }
}

} // namespace fireflies
