#include "comm/mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <bit>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <cstring>
#include <deque>
#include <limits>
#include <thread>

#include "fireflies/error.hpp"
#include "fireflies/huge_pages.hpp"
#include "fireflies/report_codec.hpp"
#include "runtime/signals.hpp"

namespace fireflies::comm {

namespace {

constexpr int tag_halo = 11;
constexpr int tag_report = 12;
constexpr int tag_control = 13;
constexpr int tag_block_request = 14;
constexpr int tag_block = 15;
constexpr int tag_restore = 16;

void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw mpi_error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(n)));
}

// Receives one message of any length from `source` with `tag`, polling gently.
std::vector<std::byte> receive_bytes(int source, int tag, const char* what) {
    MPI_Message msg;
    MPI_Status st;
    int flag = 0;
    for (std::chrono::microseconds nap(10); !flag; nap = std::min(nap * 2, std::chrono::microseconds(1000))) {
        check(MPI_Improbe(source, tag, MPI_COMM_WORLD, &flag, &msg, &st), what);
        if (!flag) std::this_thread::sleep_for(nap);
    }
    MPI_Count bytes = 0;
    check(MPI_Get_elements_x(&st, MPI_BYTE, &bytes), what);
    if (bytes > std::numeric_limits<int>::max())
        throw mpi_error(std::string(what) + ": a block of more than 2 GiB; use more ranks");
    std::vector<std::byte> out(static_cast<std::size_t>(bytes));
    check(MPI_Mrecv(out.data(), static_cast<int>(bytes), MPI_BYTE, &msg, MPI_STATUS_IGNORE), what);
    return out;
}

void send_bytes(const std::vector<std::byte>& bytes, int dest, int tag, const char* what) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw mpi_error(std::string(what) + ": a block of more than 2 GiB; use more ranks");
    MPI_Request r;
    check(MPI_Issend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD, &r), what);
    int done = 0;
    for (std::chrono::microseconds nap(10); !done; nap = std::min(nap * 2, std::chrono::microseconds(1000))) {
        check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
        if (!done) std::this_thread::sleep_for(nap);
    }
}


// Waits for `ready()` without burning the core: a few quick polls, then `yields` polls each after
// giving the core to any other runnable process, then sleeps that grow to `longest`. Open MPI's
// blocking calls spin; on a shared or oversubscribed node that steals the core from the ranks
// doing the work.
template <class Ready>
void wait_gently(Ready&& ready, int yields = 32, std::chrono::microseconds longest = std::chrono::microseconds(200)) {
    std::chrono::microseconds nap(2);
    for (int polls = 0; !ready(); ++polls) {
        if (polls < 32) continue;
        if (polls < 32 + yields) {
            std::this_thread::yield();
            continue;
        }
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, longest);
    }
}

// Neighbours meet at every epoch boundary, a fraction of a millisecond apart when the load is
// even: a worker waiting for its neighbours' halo yields for a while (about a millisecond at
// most) before it naps, so that it neither oversleeps the common short wait nor keeps a core from
// a rank that needs it (a yield hands the core to any other runnable process).
constexpr int halo_yields = 1024;

// Report buffers, in huge pages when big: the hub's MPI copies them page by page between the
// processes.
using buffer_t = std::vector<flash_event, huge_page_allocator<flash_event>>;

// Reports the hub receives at once (each buffer up to a report's size, ~6 MiB).
constexpr std::size_t max_receiving = 8;
// The hub's longest nap while a report is on its way.
constexpr std::chrono::microseconds receiving_nap(200);

class mpi_worker_link final : public worker_link {
  public:
    mpi_worker_link(MPI_Comm world, MPI_Comm workers, int reports_in_flight)
        : world_(world), workers_(workers), slots_(static_cast<std::size_t>(reports_in_flight)),
          stops_(stop_depth(workers)) {}

    ~mpi_worker_link() override {
        // The stop all-reduces still open (every worker started the same ones) and every report
        // (the hub receives them all) complete before MPI ends.
        for (auto& s : stops_)
            if (s.request != MPI_REQUEST_NULL) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
        for (auto& s : slots_)
            if (s.request != MPI_REQUEST_NULL) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
        if (state_request_ != MPI_REQUEST_NULL) MPI_Wait(&state_request_, MPI_STATUS_IGNORE);
        if (workers_ != MPI_COMM_NULL) MPI_Comm_free(&workers_);
    }

    void exchange(const std::vector<int>& neighbours, const std::vector<std::vector<flash_event>>& outgoing,
                  std::vector<flash_event>& incoming) override {
        const std::size_t n = neighbours.size();
        sends_.assign(n, MPI_REQUEST_NULL);
        for (std::size_t i = 0; i < n; ++i)
            check(MPI_Isend(outgoing[i].data(), static_cast<int>(outgoing[i].size() * sizeof(flash_event)),
                            MPI_BYTE, neighbours[i] + 1, tag_halo, world_, &sends_[i]),
                  "MPI_Isend(halo)");
        std::vector<char> received(n, 0);
        std::size_t left = n;
        wait_gently([&] {
            for (std::size_t i = 0; i < n; ++i) {
                if (received[i]) continue;
                int flag = 0;
                MPI_Message msg;
                MPI_Status st;
                check(MPI_Improbe(neighbours[i] + 1, tag_halo, world_, &flag, &msg, &st), "MPI_Improbe(halo)");
                if (!flag) continue;
                int bytes = 0;
                check(MPI_Get_count(&st, MPI_BYTE, &bytes), "MPI_Get_count(halo)");
                const std::size_t at = incoming.size();
                incoming.resize(at + static_cast<std::size_t>(bytes) / sizeof(flash_event));
                check(MPI_Mrecv(incoming.data() + at, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv(halo)");
                received[i] = 1;
                --left;
            }
            return left == 0;
        }, halo_yields);
        wait_gently([&] {
            int done = 0;
            check(MPI_Testall(static_cast<int>(n), sends_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall(halo)");
            return done != 0;
        });
    }

    void send_report(const report_header& header, const report_body& body) override {
        slot& s = free_slot();
        s.buffer.resize(report_codec::slots(body.events.size(), body.pixels.size(), body.epochs.size()));
        report_codec::encode(header, body, s.buffer);
        // Synchronous mode: a send completes only once the hub has taken it, so at most
        // `slots_` reports of this worker are ever outstanding.
        check(MPI_Issend(s.buffer.data(), static_cast<int>(s.buffer.size() * sizeof(flash_event)), MPI_BYTE, 0,
                         tag_report, world_, &s.request),
              "MPI_Issend(report)");
    }

    bool stop_requested() override {
        int flag = 0;
        check(MPI_Iprobe(0, tag_control, world_, &flag, MPI_STATUS_IGNORE), "MPI_Iprobe(control)");
        if (flag) {
            int sig = 0;
            check(MPI_Recv(&sig, 1, MPI_INT, 0, tag_control, world_, MPI_STATUS_IGNORE), "MPI_Recv(control)");
            if (!stop_signal()) request_stop(sig);
        }
        // Pipelined: every boundary starts an all-reduce of the stop flags and finishes the one
        // started stops_.size() boundaries before. Open MPI advances a non-blocking collective
        // only inside MPI calls, which a worker makes at its epoch boundaries (the halo
        // exchange, this test), one round of the all-reduce's log2(workers) at a time; finishing
        // the previous boundary's made every boundary a barrier of all workers (measured: 23% of
        // the wall time at 15 workers). Every worker makes the same calls, so all see the same
        // answer at the same boundary.
        stop_slot& due = stops_[next_stop_];
        bool stop = false;
        if (due.request != MPI_REQUEST_NULL) {
            wait_gently([&] {
                int done = 0;
                check(MPI_Test(&due.request, &done, MPI_STATUS_IGNORE), "MPI_Test(stop)");
                return done != 0;
            });
            stop = due.global != 0;
        }
        if (!stop) {
            due.local = stop_signal() != 0 ? 1 : 0;
            check(MPI_Iallreduce(&due.local, &due.global, 1, MPI_INT, MPI_MAX, workers_, &due.request),
                  "MPI_Iallreduce(stop)");
            next_stop_ = (next_stop_ + 1) % stops_.size();
        }
        return stop;
    }

    void start_state_sum(const phasor_sum& mine) override {
        if (state_request_ != MPI_REQUEST_NULL) throw error("start_state_sum: the previous reduction is still open");
        state_local_ = {mine.re, mine.im};
        // Integer sums: exact, and the same whatever the reduction's order.
        check(MPI_Iallreduce(state_local_.data(), state_global_.data(), 2, MPI_INT64_T, MPI_SUM, workers_,
                             &state_request_),
              "MPI_Iallreduce(state)");
    }

    phasor_sum finish_state_sum() override {
        if (state_request_ == MPI_REQUEST_NULL) throw error("finish_state_sum: no reduction is open");
        wait_gently([&] {
            int done = 0;
            check(MPI_Test(&state_request_, &done, MPI_STATUS_IGNORE), "MPI_Test(state)");
            return done != 0;
        });
        return {state_global_[0], state_global_[1]};
    }

    void send_block(const std::vector<std::byte>& packed) override {
        // The hub takes blocks one at a time: wait for its request, then hand this one over.
        int request = 0;
        MPI_Message msg;
        MPI_Status st;
        int flag = 0;
        wait_gently([&] {
            check(MPI_Improbe(0, tag_block_request, world_, &flag, &msg, &st), "MPI_Improbe(block request)");
            return flag != 0;
        }, 32, std::chrono::microseconds(1000));
        check(MPI_Mrecv(&request, 1, MPI_INT, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv(block request)");
        send_bytes(packed, 0, tag_block, "MPI_Issend(block)");
    }

  private:
    // The first slot whose report the hub has taken, in a fixed order, so that while the hub
    // keeps up one buffer serves every report (a buffer's first use costs the kernel zeroing
    // its pages); when none is free, the first to be taken.
    struct slot;
    slot& free_slot() {
        slot* found = nullptr;
        wait_gently([&] {
            for (slot& s : slots_) {
                int done = 0; // (a slot never used has a null request: done)
                check(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE), "MPI_Test(report)");
                if (done) {
                    found = &s;
                    return true;
                }
            }
            return false;
        });
        return *found;
    }

    struct slot {
        buffer_t buffer;
        MPI_Request request = MPI_REQUEST_NULL;
    };
    MPI_Comm world_;
    MPI_Comm workers_;
    std::vector<slot> slots_;
    std::vector<MPI_Request> sends_;
    struct stop_slot {
        MPI_Request request = MPI_REQUEST_NULL;
        int local = 0, global = 0; // the all-reduce's buffers, alive until it completes
    };
    // How many boundaries an all-reduce gets to complete: its rounds (recursive doubling,
    // ceil(log2(workers))) plus two. A signal stops the run that many epochs later at most.
    static std::size_t stop_depth(MPI_Comm workers) {
        int n = 1;
        if (workers != MPI_COMM_NULL) check(MPI_Comm_size(workers, &n), "MPI_Comm_size(workers)");
        return static_cast<std::size_t>(std::bit_width(static_cast<unsigned>(std::max(n - 1, 0)))) + 2;
    }
    std::vector<stop_slot> stops_;
    std::size_t next_stop_ = 0;
    // --stop-when-synced: the one open reduction of a sample's R_state sums, its buffers alive
    // until it completes.
    std::array<std::int64_t, 2> state_local_{}, state_global_{};
    MPI_Request state_request_ = MPI_REQUEST_NULL;
};

} // namespace

struct session::impl {
    boost::mpi::environment env;
    boost::mpi::communicator world;
    impl(int& argc, char**& argv) : env(argc, argv, boost::mpi::threading::single, false) {}
};

session::session(int& argc, char**& argv) : impl_(std::make_unique<impl>(argc, argv)) {
    rank_ = impl_->world.rank();
    size_ = impl_->world.size();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

session::~session() = default;

node_map session::gather_nodes() const {
    // The node's leader (its lowest world rank) names it; the leader's reading of the node's
    // available memory and its processor name stand for the node.
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    int leader = rank_;
    check(MPI_Allreduce(MPI_IN_PLACE, &leader, 1, MPI_INT, MPI_MIN, node), "MPI_Allreduce");
    check(MPI_Comm_free(&node), "MPI_Comm_free");
    struct record {
        int leader;
        double available;
        char name[MPI_MAX_PROCESSOR_NAME];
    } mine{leader, 0, {}};
    if (leader == rank_) {
        mine.available = available_memory_bytes();
        int length = 0;
        check(MPI_Get_processor_name(mine.name, &length), "MPI_Get_processor_name");
    }
    std::vector<record> all(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, 0, MPI_COMM_WORLD),
          "MPI_Gather");
    node_map map;
    std::vector<int> node_of_leader(all.size(), -1);
    for (const record& r : all) {
        const auto l = static_cast<std::size_t>(r.leader);
        if (node_of_leader[l] < 0) {
            node_of_leader[l] = static_cast<int>(map.names.size());
            const record& lead = all[l];
            map.names.emplace_back(lead.name[0] ? lead.name : "rank " + std::to_string(r.leader));
            map.available.push_back(lead.available);
        }
        map.node_of_rank.push_back(node_of_leader[l]);
    }
    return map;
}

void session::broadcast(std::string& text) const { boost::mpi::broadcast(impl_->world, text, 0); }
void session::broadcast(long long& value) const { boost::mpi::broadcast(impl_->world, value, 0); }

void session::abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

std::unique_ptr<worker_link> session::make_worker_link(int reports_in_flight) const {
    if (rank_ == 0) throw error("the hub (rank 0) has no worker link");
    MPI_Comm workers = MPI_COMM_NULL;
    check(MPI_Comm_split(MPI_COMM_WORLD, 0, rank_, &workers), "MPI_Comm_split");
    return std::make_unique<mpi_worker_link>(MPI_COMM_WORLD, workers, reports_in_flight);
}

// A report being received: the hub posts the receive and goes on (MPI_Imrecv), so that a
// transport that needs the sender's progress to move a large message (no single copy: TCP
// between nodes, shared memory where the kernel refuses cross-process reads) neither keeps the
// hub spinning in a blocking receive nor holds up the other workers' reports behind it.
struct report_receive {
    int worker = 0;
    buffer_t buffer;
    MPI_Request request = MPI_REQUEST_NULL; // null once complete (MPI_Test frees it)
    int bytes = 0;
};

struct hub_transport::impl {
    int workers;
    std::size_t max_held;
    std::deque<report_receive> receiving; // in the order matched (each worker's reports in order)
    std::vector<buffer_t> spare;          // buffers of absorbed reports, for the next ones
    std::vector<MPI_Request> stops;
    std::vector<int> stop_value;
    std::chrono::microseconds nap{10};

    std::size_t receiving_from(int worker) const {
        return static_cast<std::size_t>(std::count_if(receiving.begin(), receiving.end(),
                                                       [&](const report_receive& r) { return r.worker == worker; }));
    }
    bool may_take(const report_sink& h, int worker) const { return h.held(worker) + receiving_from(worker) < max_held; }

    // Which workers the hub may not receive from now, kept up to date by the events that change
    // it (a report absorbed or started: that worker; a round completed: every worker), so that
    // deciding costs O(1) per report and O(P) per round, not O(P) per report.
    std::vector<char> blocked = std::vector<char>(static_cast<std::size_t>(workers), 0);
    int blocked_count = 0;
    std::uint64_t rounds_seen = ~std::uint64_t{0};
    void refresh(const report_sink& h, int worker) {
        const char now = may_take(h, worker) ? 0 : 1;
        char& was = blocked[static_cast<std::size_t>(worker)];
        blocked_count += now - was;
        was = now;
    }
    void refresh_after_rounds(const report_sink& h) {
        if (h.rounds() == rounds_seen) return;
        rounds_seen = h.rounds();
        for (int w = 0; w < workers; ++w) refresh(h, w);
    }
};

hub_transport::hub_transport(const session& s, int workers, std::size_t max_held)
    : impl_(std::make_unique<impl>(impl{workers, max_held, {}, {}, {}, {}})) {
    // The hub does not take part in the workers' communicator, but MPI_Comm_split is collective.
    MPI_Comm none = MPI_COMM_NULL;
    if (s.rank() == 0) check(MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &none), "MPI_Comm_split");
}

hub_transport::~hub_transport() {
    for (auto& r : impl_->stops)
        if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
    // A run that ends normally has absorbed every report. After an error (MPI is aborted next) a
    // receive may still be open: let it go without waiting for its sender, and leave it its
    // buffer.
    for (auto& r : impl_->receiving)
        if (r.request != MPI_REQUEST_NULL) {
            MPI_Request_free(&r.request);
            static_cast<void>(new buffer_t(std::move(r.buffer)));
        }
}

namespace {

void absorb_report(report_sink& h, const report_receive& r) {
    const report_codec::decoded d = report_codec::decode(r.buffer, static_cast<std::size_t>(r.bytes), r.worker);
    h.absorb(d.header, d.body);
}

} // namespace

int hub_transport::poll(report_sink& h) {
    impl& m = *impl_;
    int taken = 0;
    bool started = false;
    m.refresh_after_rounds(h);
    for (bool moved = true; moved;) {
        moved = false;
        // Absorb what has arrived, each worker's reports in the order it sent them.
        for (auto r = m.receiving.begin(); r != m.receiving.end();) {
            int done = 0;
            check(MPI_Test(&r->request, &done, MPI_STATUS_IGNORE), "MPI_Test(report)");
            const bool first_of_its_worker =
                std::none_of(m.receiving.begin(), r, [&](const report_receive& e) { return e.worker == r->worker; });
            if (!done || !first_of_its_worker) {
                ++r;
                continue;
            }
            absorb_report(h, *r);
            const int worker = r->worker;
            m.spare.push_back(std::move(r->buffer));
            r = m.receiving.erase(r);
            m.refresh(h, worker);
            m.refresh_after_rounds(h);
            ++taken;
            moved = true;
        }
        // Start receiving the reports that are waiting, from workers whose reports the hub is
        // not already holding too many of.
        while (m.receiving.size() < max_receiving) {
            const bool all_eligible = m.blocked_count == 0;
            int flag = 0;
            MPI_Message msg;
            MPI_Status st;
            if (all_eligible) {
                check(MPI_Improbe(MPI_ANY_SOURCE, tag_report, MPI_COMM_WORLD, &flag, &msg, &st), "MPI_Improbe(report)");
            } else {
                for (int w = 0; w < m.workers && !flag; ++w)
                    if (!m.blocked[static_cast<std::size_t>(w)])
                        check(MPI_Improbe(w + 1, tag_report, MPI_COMM_WORLD, &flag, &msg, &st), "MPI_Improbe(report)");
            }
            if (!flag) break;
            report_receive r;
            r.worker = st.MPI_SOURCE - 1;
            check(MPI_Get_count(&st, MPI_BYTE, &r.bytes), "MPI_Get_count(report)");
            if (!m.spare.empty()) {
                r.buffer = std::move(m.spare.back());
                m.spare.pop_back();
            }
            r.buffer.resize((static_cast<std::size_t>(r.bytes) + sizeof(flash_event) - 1) / sizeof(flash_event));
            check(MPI_Imrecv(r.buffer.data(), r.bytes, MPI_BYTE, &msg, &r.request), "MPI_Imrecv(report)");
            const int worker = r.worker;
            m.receiving.push_back(std::move(r));
            m.refresh(h, worker);
            moved = started = true;
        }
    }
    if (taken || started) m.nap = std::chrono::microseconds(10);
    return taken;
}

void hub_transport::idle(std::chrono::microseconds longest) {
    // A report on its way needs the hub's MPI progress to arrive: nap briefly then.
    if (!impl_->receiving.empty()) longest = std::min(longest, receiving_nap);
    std::this_thread::sleep_for(impl_->nap);
    impl_->nap = std::min(impl_->nap * 2, longest);
}

std::vector<std::byte> session::receive_block() const { return receive_bytes(0, tag_restore, "MPI_Mrecv(restore)"); }

std::vector<std::byte> hub_transport::fetch_block(int worker) {
    int request = 1;
    check(MPI_Send(&request, 1, MPI_INT, worker + 1, tag_block_request, MPI_COMM_WORLD), "MPI_Send(block request)");
    return receive_bytes(worker + 1, tag_block, "MPI_Mrecv(block)");
}

void hub_transport::send_block(int worker, const std::vector<std::byte>& packed) {
    send_bytes(packed, worker + 1, tag_restore, "MPI_Issend(restore)");
}

void hub_transport::request_stop() {
    if (!impl_->stops.empty()) return;
    impl_->stop_value.assign(static_cast<std::size_t>(impl_->workers), stop_signal() ? stop_signal() : 15);
    impl_->stops.assign(static_cast<std::size_t>(impl_->workers), MPI_REQUEST_NULL);
    for (int w = 0; w < impl_->workers; ++w)
        check(MPI_Isend(&impl_->stop_value[static_cast<std::size_t>(w)], 1, MPI_INT, w + 1, tag_control,
                        MPI_COMM_WORLD, &impl_->stops[static_cast<std::size_t>(w)]),
              "MPI_Isend(control)");
}

} // namespace fireflies::comm
