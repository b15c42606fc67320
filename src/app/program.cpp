#include "app/program.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <thread>

#include "app/recorder.hpp"
#include "comm/mpi.hpp"
#include "config/cli.hpp"
#include "fireflies/block_simulation.hpp"
#include "fireflies/error.hpp"
#include "fireflies/hub.hpp"
#include "fireflies/output.hpp"
#include "runtime/signals.hpp"

namespace fireflies {

namespace {

using clock = std::chrono::steady_clock;

// Without -o: a name that no earlier run has taken (and creation never overwrites anyway).
std::string default_output_name() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return "fireflies-" + std::string(stamp) + "-" + std::to_string(getpid()) + ".h5";
}

// The one-process run: the worker hands its reports straight to the hub.
class local_link final : public worker_link {
  public:
    local_link(hub& h, recorder& r) : hub_(h), recorder_(r) {}
    void exchange(const std::vector<int>&, const std::vector<std::vector<flash_event>>&,
                  std::vector<flash_event>&) override {
        throw error("a single worker has no neighbours to exchange with");
    }
    void send_report(const report_header& header, std::span<const flash_event> events,
                     std::span<const snapshot_pixel> pixels) override {
        const auto t0 = clock::now();
        hub_.absorb(header, events, pixels);
        recorder_.tick();
        busy_ += std::chrono::duration<double>(clock::now() - t0).count();
    }
    bool stop_requested() override { return stop_signal() != 0; }
    void idle_until(clock::time_point t) override {
        while (clock::now() < t) {
            recorder_.tick();
            std::this_thread::sleep_until(std::min(t, clock::now() + std::chrono::milliseconds(5)));
        }
    }
    double busy() const { return busy_; }

  private:
    hub& hub_;
    recorder& recorder_;
    double busy_ = 0;
};

int exit_code_for(const run_totals& totals, int code) {
    if (code != 0) return code;
    if (totals.interrupted) return exit_interrupted_base + (stop_signal() ? stop_signal() : 15);
    return 0;
}

int run_hub(const comm::session& mpi, const run_config& config, const decomposition& d, recorder& rec) {
    comm::hub_transport transport(mpi, d.workers());
    hub h(config, d, rec);
    rec.attach(h);
    double busy = 0;
    while (!h.done()) {
        const auto t0 = clock::now();
        const int taken = transport.poll(h);
        if (taken) busy += std::chrono::duration<double>(clock::now() - t0).count();
        if (stop_signal()) transport.request_stop();
        rec.tick();
        if (!taken) transport.idle(std::chrono::microseconds(1000));
    }
    return exit_code_for(h.totals(), rec.finish(h.totals(), busy));
}

int run_alone(const run_config& config, const decomposition& d, recorder& rec) {
    hub h(config, d, rec);
    rec.attach(h);
    local_link link(h, rec);
    block_simulation sim(config, d, 0);
    sim.run(link);
    if (!h.done()) throw error("the hub did not receive the worker's final report");
    return exit_code_for(h.totals(), rec.finish(h.totals(), link.busy()));
}

} // namespace

int run_program(int argc, char** argv) {
    comm::session mpi(argc, argv);
    const bool hub_rank = mpi.rank() == 0;
    try {
        // Rank 0 reads and checks everything, creates the output, then tells the others: one
        // message for a mistake, and no rank starts work that another has refused.
        long long status = 0; // 0: run, -1: stop quietly (--help etc.), > 0: error exit code
        std::string toml;
        std::optional<recorder> rec;
        std::optional<decomposition> d;
        run_config config;
        if (hub_rank) {
            try {
                config::parsed p = config::parse(argc, argv);
                if (p.exit_now) {
                    std::fputs(p.message.c_str(), stdout);
                    status = -1;
                } else {
                    config = p.config;
                    config::validate(config, mpi.size());
                    if (config.output.empty()) config.output = default_output_name();
                    output::check_output_path(config.output, config.force);
                    toml = config::to_toml(config);
                    d.emplace(config.width, config.height, mpi.size() == 1 ? 1 : mpi.size() - 1);
                    rec.emplace(config, *d, recorder::facts{mpi.size(), toml, config.output});
                }
            } catch (const fireflies::error& e) {
                std::fprintf(stderr, "fireflies: error: %s\n", e.what());
                status = e.exit_code();
            }
        }
        if (mpi.size() > 1) {
            mpi.broadcast(status);
            if (status == 0) mpi.broadcast(toml);
        }
        if (status != 0) return status < 0 ? 0 : static_cast<int>(status);

        install_stop_handlers();
        if (hub_rank) {
            rec->banner(stdout);
            return mpi.size() == 1 ? run_alone(config, *d, *rec) : run_hub(mpi, config, *d, *rec);
        }
        config = config::from_toml(toml, "configuration from rank 0");
        d.emplace(config.width, config.height, mpi.size() - 1);
        auto link = mpi.make_worker_link();
        block_simulation sim(config, *d, mpi.rank() - 1);
        sim.run(*link);
        return 0;
    } catch (const fireflies::error& e) {
        std::fprintf(stderr, "fireflies: error: rank %d: %s\n", mpi.rank(), e.what());
        if (mpi.size() > 1) mpi.abort(e.exit_code());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fireflies: error: rank %d: %s\n", mpi.rank(), e.what());
        if (mpi.size() > 1) mpi.abort(1);
        return 1;
    }
}

} // namespace fireflies
