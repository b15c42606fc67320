// How the hub's work per sample grows with the number of workers P, in summary telemetry (each
// worker sends one sample report per sample interval: its partial sums). No MPI: the reports are
// fabricated and fed to fireflies::hub::absorb() in a fresh random order each sample (workers
// finish their epochs in any order), or with --order ascending in rank order (a hub that looked
// at every worker after each report did O(P^2) work per sample then). Prints one table: P, the
// hub's wall time per sample, that per worker, and that over P log2 P. Work linear in P keeps "per
// worker" flat.
//
//   hub_rounds_bench [--samples 200] [--workers 64,128,...,8192] [--order random|ascending] [--seed
//   1]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fireflies/config.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/report.hpp"

namespace {

using namespace fireflies;

struct counting : hub::observer {
    std::int64_t samples = 0;
    void on_sample(const sample&) override { ++samples; }
};

std::vector<int> worker_counts(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--workers") == 0) {
            std::vector<int> out;
            for (char* p = argv[i + 1]; *p;) {
                out.push_back(static_cast<int>(std::strtol(p, &p, 10)));
                if (*p == ',') ++p;
            }
            return out;
        }
    return {64, 128, 256, 512, 1024, 2048, 4096, 8192};
}

long long arg(int argc, char** argv, const char* name, long long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
    return fallback;
}

// Seconds of hub work per sample with `workers` workers, over `samples` samples.
double seconds_per_sample(int workers, int samples, bool shuffled, std::mt19937_64& rng) {
    run_config config;
    config.telemetry = telemetry_mode::summary;
    config.width = 64;
    config.height = (workers + 63) / 64 * 64;
    const decomposition d(config.width, config.height, workers);
    counting out;
    hub h(config, d, out);
    const tick_t interval = to_ticks(config.sample_every);
    std::vector<int> order(static_cast<std::size_t>(workers));
    for (int w = 0; w < workers; ++w)
        order[static_cast<std::size_t>(w)] = w;
    std::vector<report_header> headers(order.size());
    double busy = 0;
    for (int k = 0; k < samples; ++k) {
        if (shuffled) std::shuffle(order.begin(), order.end(), rng);
        for (int w = 0; w < workers; ++w) {
            report_header& r = headers[static_cast<std::size_t>(w)];
            r = report_header{};
            r.worker = w;
            r.kind = report_kind::sample;
            r.sample = k;
            r.through = k * interval;
            r.flashed = d.block_of(w).cells();
        }
        const auto t0 = std::chrono::steady_clock::now();
        for (const int w : order)
            h.absorb(headers[static_cast<std::size_t>(w)], report_body{});
        busy += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    if (out.samples != samples) {
        std::fprintf(stderr, "hub_rounds_bench: %lld of %d samples emitted\n",
                     static_cast<long long>(out.samples), samples);
        std::exit(1);
    }
    return busy / samples;
}

} // namespace

int main(int argc, char** argv) {
    const int samples = static_cast<int>(arg(argc, argv, "--samples", 200));
    std::mt19937_64 rng(static_cast<std::uint64_t>(arg(argc, argv, "--seed", 1)));
    bool shuffled = true;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--order") == 0)
            shuffled = std::strcmp(argv[i + 1], "ascending") != 0;
    std::printf("# hub work per sample, summary reports absorbed in %s order\n",
                shuffled ? "random" : "ascending");
    std::printf("%8s  %14s  %16s  %18s\n", "workers", "us/sample", "ns/sample/worker",
                "ns/(P log2 P)");
    for (const int p : worker_counts(argc, argv)) {
        const double s = seconds_per_sample(p, samples, shuffled, rng);
        std::printf("%8d  %14.1f  %16.1f  %18.2f\n", p, s * 1e6, s * 1e9 / p,
                    s * 1e9 / (p * std::log2(p)));
    }
    return 0;
}
