// The report transport between workers and the hub (src/comm), tested directly on every rank of
// an MPI job: rank 0 receives with a hub_transport into a recording report_sink, the other ranks
// send with their worker_link. Its promises: every report arrives, each worker's in the order it
// sent them (also when large reports overtake small ones on the wire), with its bytes intact; and
// the transport takes no more of a worker's reports than the sink's limit while the sink holds
// them (flow control), the other workers going on meanwhile.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "fireflies/error.hpp"
#include "fireflies/report.hpp"
#include "mpi_test.hpp"

using namespace fireflies;

namespace {

using clock_type = std::chrono::steady_clock;

int rank() {
    return mpi_test::world().rank();
}
int size() {
    return mpi_test::world().size();
}

// These links never checkpoint: a checkpoint would be a bug of the test.
std::unique_ptr<worker_link> reporting_link() {
    return mpi_test::world().make_worker_link(
        [](const block_state&, std::int64_t, const collective&) {
            throw error("the transport tests write no checkpoint");
        });
}

// What a report of worker `w` numbered `seq` carries: its number in `through`, and events whose
// firefly ids encode (w, seq, i) so that the hub side can check every byte it got.
std::int64_t events_of(int w, int seq) {
    return (seq * 7919 + w * 13) % 3 == 0 ? 30000 + seq : seq % 17;
}
std::uint64_t agent_of(int w, int seq, std::int64_t i) {
    return (static_cast<std::uint64_t>(w) << 40) | (static_cast<std::uint64_t>(seq) << 24) |
           static_cast<std::uint64_t>(i);
}

void send_numbered(worker_link& link, int worker, int reports) {
    std::vector<flash_event> events;
    std::vector<tick_t> previous;
    for (int seq = 0; seq < reports; ++seq) {
        const std::int64_t n = events_of(worker, seq);
        events.resize(static_cast<std::size_t>(n));
        previous.assign(static_cast<std::size_t>(n), -1);
        for (std::int64_t i = 0; i < n; ++i)
            events[static_cast<std::size_t>(i)] = {seq, agent_of(worker, seq, i)};
        report_header h;
        h.worker = worker;
        h.kind = report_kind::flashes;
        h.through = seq;
        h.events = n;
        link.send_report(h, {events, previous, {}, {}});
    }
}

// Records what arrives; holds every report of the workers in `holding` until released.
struct recording_sink final : report_sink {
    std::map<int, std::vector<std::int64_t>> order; // per worker, the `through` of each report
    std::map<int, std::size_t> holding;             // worker -> reports held
    std::set<int> hold;
    std::uint64_t round = 0;
    int bad_bytes = 0;

    void absorb(const report_header& h, const report_body& b) override {
        order[h.worker].push_back(h.through);
        const auto seq = static_cast<int>(h.through);
        if (h.events != events_of(h.worker, seq) ||
            b.events.size() != static_cast<std::size_t>(h.events))
            ++bad_bytes;
        for (std::size_t i = 0; i < b.events.size(); ++i)
            if (b.events[i].agent != agent_of(h.worker, seq, static_cast<std::int64_t>(i)) ||
                b.events[i].t != seq || b.previous[i] != -1)
                ++bad_bytes;
        if (hold.count(h.worker)) ++holding[h.worker];
    }
    std::size_t held(int worker) const override {
        const auto it = holding.find(worker);
        return it == holding.end() ? 0 : it->second;
    }
    std::uint64_t rounds() const override { return round; }
    void release() {
        hold.clear();
        holding.clear();
        ++round; // held() changed for every worker: the transport looks again
    }
    std::size_t received(int worker) const {
        const auto it = order.find(worker);
        return it == order.end() ? 0 : it->second.size();
    }
};

// Polls until `done()` or 60 s of wall time (a hang fails the test instead of the job timing out).
template <class Done> bool poll_until(comm::hub_transport& t, report_sink& sink, Done&& done) {
    const auto give_up = clock_type::now() + std::chrono::seconds(60);
    while (!done()) {
        if (clock_type::now() > give_up) return false;
        if (t.poll(sink) == 0) t.idle(std::chrono::microseconds(200));
    }
    return true;
}

// Every worker's reports 0 .. reports - 1 arrived, in that order, with their bytes intact.
void expect_every_report_in_order(recording_sink& sink, int workers, int reports) {
    EXPECT_EQ(sink.bad_bytes, 0);
    std::vector<std::int64_t> want(static_cast<std::size_t>(reports));
    for (int k = 0; k < reports; ++k)
        want[static_cast<std::size_t>(k)] = k;
    for (int w = 0; w < workers; ++w)
        EXPECT_EQ(sink.order[w], want) << "worker " << w;
}

} // namespace

TEST(Transport, EveryReportArrivesInItsWorkersOrder) {
    constexpr int reports = 40;
    const int workers = size() - 1;
    ASSERT_GE(workers, 1) << "run with at least 2 ranks";
    if (rank() == 0) {
        recording_sink sink;
        comm::hub_transport transport(mpi_test::world(), workers);
        ASSERT_TRUE(poll_until(transport, sink, [&] {
            for (int w = 0; w < workers; ++w)
                if (sink.received(w) < reports) return false;
            return true;
        })) << "not every report arrived within 60 s";
        expect_every_report_in_order(sink, workers, reports);
    } else {
        auto link = reporting_link();
        send_numbered(*link, rank() - 1, reports);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Transport, TakesNoMoreOfAWorkersReportsThanTheSinkHolds) {
    constexpr int reports = 12;
    constexpr std::size_t max_held = 3;
    const int workers = size() - 1;
    ASSERT_GE(workers, 2) << "run with at least 3 ranks";
    if (rank() == 0) {
        recording_sink sink;
        sink.hold = {0}; // worker 0's reports stay held until released
        comm::hub_transport transport(mpi_test::world(), workers, max_held);
        // The other workers' reports all arrive while worker 0 is held at the limit.
        ASSERT_TRUE(poll_until(transport, sink, [&] {
            for (int w = 1; w < workers; ++w)
                if (sink.received(w) < reports) return false;
            return sink.received(0) >= max_held;
        })) << "the other workers' reports did not all arrive within 60 s";
        // Give worker 0's remaining reports every chance to be (wrongly) taken.
        const auto until = clock_type::now() + std::chrono::milliseconds(300);
        while (clock_type::now() < until)
            if (transport.poll(sink) == 0) transport.idle(std::chrono::microseconds(200));
        EXPECT_EQ(sink.received(0), max_held)
            << "the transport took more of worker 0's reports than the sink holds";
        sink.release();
        ASSERT_TRUE(poll_until(transport, sink, [&] { return sink.received(0) == reports; }))
            << "worker 0's reports did not arrive after the release";
        expect_every_report_in_order(sink, workers, reports);
    } else {
        auto link = reporting_link();
        send_numbered(*link, rank() - 1, reports);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Transport, GatherFlashesGivesEveryWorkerEveryWorkersFlashes) {
    // --coupling all-to-all: rounds of all-gathers among the workers (the hub takes no part),
    // worker w contributing (w + r) % 3 * 1000 flashes in round r (none, some, many; uneven),
    // appended after what `all` held; each round's every flash, of every worker, exactly once.
    const int workers = size() - 1;
    ASSERT_GE(workers, 1) << "run with at least 2 ranks";
    if (rank() == 0) {
        // (its half of the workers' split)
        comm::hub_transport transport(mpi_test::world(), workers);
    } else {
        const int w = rank() - 1;
        auto link = reporting_link();
        for (int round = 0; round < 6; ++round) {
            auto count = [&](int v) { return static_cast<std::int64_t>((v + round) % 3) * 1000; };
            std::vector<flash_event> mine(static_cast<std::size_t>(count(w)));
            for (std::size_t i = 0; i < mine.size(); ++i)
                mine[i] = {round, agent_of(w, round, static_cast<std::int64_t>(i))};
            std::vector<flash_event> all{{-1, 42}}; // kept in front
            link->gather_flashes(mine, all);
            std::vector<flash_event> expected{{-1, 42}};
            for (int v = 0; v < workers; ++v)
                for (std::int64_t i = 0; i < count(v); ++i)
                    expected.push_back({round, agent_of(v, round, i)});
            EXPECT_EQ(all.front(), expected.front()) << "what `all` held comes first";
            std::sort(all.begin(), all.end());
            std::sort(expected.begin(), expected.end());
            // (not ASSERT: every worker goes on to every round)
            EXPECT_EQ(all, expected) << "worker " << w << " round " << round;
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
}
