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
#include "fireflies/report_codec.hpp"
#include "runtime/huge_pages.hpp"
#include "runtime/signals.hpp"

namespace fireflies::comm {

namespace {

constexpr int tag_halo = 11;
constexpr int tag_report = 12;
constexpr int tag_control = 13;
constexpr int tag_checkpoint_order = 14;  // hub -> worker 0: write a checkpoint
constexpr int tag_checkpoint_result = 15; // worker 0 -> hub: it is in place; any worker: it failed
constexpr int tag_restart_result = 16;    // a worker -> hub: how the workers' reading went
constexpr int tag_initial = 17;           // hub -> a worker: its block at t = 0 (--initial-phases)

void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw mpi_error(std::string(call) +
                    " failed: " + std::string(text, static_cast<std::size_t>(n)));
}

// Receives one message of any length from `source` (or MPI_ANY_SOURCE) with `tag`, polling
// gently; `from` gets the sender's rank.
std::vector<std::byte> receive_bytes(int source, int tag, const char* what, int* from = nullptr) {
    MPI_Message msg;
    MPI_Status st;
    int flag = 0;
    for (std::chrono::microseconds nap(10); !flag;
         nap = std::min(nap * 2, std::chrono::microseconds(1000))) {
        check(MPI_Improbe(source, tag, MPI_COMM_WORLD, &flag, &msg, &st), what);
        if (!flag) std::this_thread::sleep_for(nap);
    }
    MPI_Count bytes = 0;
    check(MPI_Get_elements_x(&st, MPI_BYTE, &bytes), what);
    if (bytes > std::numeric_limits<int>::max())
        throw mpi_error(std::string(what) + ": a message of more than 2 GiB");
    std::vector<std::byte> out(static_cast<std::size_t>(bytes));
    check(MPI_Mrecv(out.data(), static_cast<int>(bytes), MPI_BYTE, &msg, MPI_STATUS_IGNORE), what);
    if (from) *from = st.MPI_SOURCE;
    return out;
}

void send_bytes(const std::vector<std::byte>& bytes, int dest, int tag, const char* what) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw mpi_error(std::string(what) + ": a message of more than 2 GiB");
    MPI_Request r;
    check(MPI_Issend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag,
                     MPI_COMM_WORLD, &r),
          what);
    int done = 0;
    for (std::chrono::microseconds nap(10); !done;
         nap = std::min(nap * 2, std::chrono::microseconds(1000))) {
        check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
        if (!done) std::this_thread::sleep_for(nap);
    }
}

// Waits for `ready()` without burning the core: a few quick polls, then `yields` polls each after
// giving the core to any other runnable process, then sleeps that grow to `longest`. Open MPI's
// blocking calls spin; on a shared or oversubscribed node that steals the core from the ranks
// doing the work.
template <class Ready>
void wait_gently(Ready&& ready, int yields = 32,
                 std::chrono::microseconds longest = std::chrono::microseconds(200)) {
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

// Waits for a non-blocking request gently (see wait_gently): the other members may be busy
// for a while (a checkpoint's members reach it one by one), and spinning would take their cores.
void wait_request(MPI_Request& r, const char* what) {
    wait_gently(
        [&] {
            int done = 0;
            check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
            return done != 0;
        },
        32, std::chrono::microseconds(1000));
}

// The checkpoint writers and readers: the collective interface over a communicator of their own
// (a duplicate, so that their collectives never meet another part's). Non-blocking collectives
// waited for gently.
class mpi_collective final : public collective {
  public:
    explicit mpi_collective(MPI_Comm of) {
        check(MPI_Comm_dup(of, &comm_), "MPI_Comm_dup(checkpoint)");
        check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank(checkpoint)");
        check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size(checkpoint)");
    }
    ~mpi_collective() override { MPI_Comm_free(&comm_); }
    mpi_collective(const mpi_collective&) = delete;
    mpi_collective& operator=(const mpi_collective&) = delete;

    int rank() const noexcept override { return rank_; }
    int size() const noexcept override { return size_; }

    const void* communicator() const noexcept override { return &comm_; }

    void sum(std::span<std::uint64_t> values) const override {
        MPI_Request r;
        check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                             MPI_UINT64_T, MPI_SUM, comm_, &r),
              "MPI_Iallreduce(checkpoint)");
        wait_request(r, "MPI_Iallreduce(checkpoint)");
    }
    void sum_to(std::span<std::uint64_t> values, int root) const override {
        std::vector<std::uint64_t> in(values.begin(), values.end());
        MPI_Request r;
        check(MPI_Ireduce(in.data(), values.data(), static_cast<int>(values.size()), MPI_UINT64_T,
                          MPI_SUM, root, comm_, &r),
              "MPI_Ireduce(checkpoint)");
        wait_request(r, "MPI_Ireduce(checkpoint)");
    }
    std::uint64_t sum_before(std::uint64_t value) const override {
        std::uint64_t out = 0;
        MPI_Request r;
        check(MPI_Iexscan(&value, &out, 1, MPI_UINT64_T, MPI_SUM, comm_, &r),
              "MPI_Iexscan(checkpoint)");
        wait_request(r, "MPI_Iexscan(checkpoint)");
        return rank_ == 0 ? 0 : out; // (undefined on member 0)
    }
    std::int64_t min(std::int64_t value) const override {
        std::int64_t out = value;
        MPI_Request r;
        check(MPI_Iallreduce(&value, &out, 1, MPI_INT64_T, MPI_MIN, comm_, &r),
              "MPI_Iallreduce(checkpoint)");
        wait_request(r, "MPI_Iallreduce(checkpoint)");
        return out;
    }
    void broadcast(std::span<std::uint64_t> values, int root) const override {
        MPI_Request r;
        check(MPI_Ibcast(values.data(), static_cast<int>(values.size()), MPI_UINT64_T, root, comm_,
                         &r),
              "MPI_Ibcast(checkpoint)");
        wait_request(r, "MPI_Ibcast(checkpoint)");
    }
    std::vector<std::uint64_t> gather(std::uint64_t value, int root) const override {
        std::vector<std::uint64_t> out(rank_ == root ? static_cast<std::size_t>(size_) : 0);
        MPI_Request r;
        check(MPI_Igather(&value, 1, MPI_UINT64_T, out.data(), 1, MPI_UINT64_T, root, comm_, &r),
              "MPI_Igather(checkpoint)");
        wait_request(r, "MPI_Igather(checkpoint)");
        return out;
    }

  private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0, size_ = 1;
};

// The hub's order to write a checkpoint, on the wire: the temporary file's id (rank 0 has begun
// that file with the run's state; the workers add their blocks).
struct order_message {
    std::int64_t temporary_id;
};
static_assert(sizeof(order_message) == hub_transport::checkpoint_order_bytes);

// A worker's report to the hub of how a checkpoint or a restart went: the code (0: fine), then
// for a restart three numbers, then the line to print (failures only).
std::vector<std::byte> result_message(std::int64_t code, const std::vector<std::uint64_t>& numbers,
                                      const std::string& line) {
    std::vector<std::byte> out(sizeof code + numbers.size() * sizeof(std::uint64_t) + line.size());
    std::memcpy(out.data(), &code, sizeof code);
    if (!numbers.empty())
        std::memcpy(out.data() + sizeof code, numbers.data(),
                    numbers.size() * sizeof(std::uint64_t));
    if (!line.empty())
        std::memcpy(out.data() + sizeof code + numbers.size() * sizeof(std::uint64_t), line.data(),
                    line.size());
    return out;
}

// The fixed size of a successful checkpoint's result (worker 0's "in place").
static_assert(sizeof(std::int64_t) == hub_transport::checkpoint_answer_bytes);

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
    mpi_worker_link(MPI_Comm world, MPI_Comm workers, int reports_in_flight, checkpoint_sink sink)
        : world_(world), workers_(workers), slots_(static_cast<std::size_t>(reports_in_flight)),
          stops_(stop_depth(workers)), sink_(std::move(sink)), checkpointers_(workers) {}

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

    void exchange(const std::vector<int>& neighbours,
                  const std::vector<std::vector<flash_event>>& outgoing,
                  std::vector<flash_event>& incoming) override {
        const std::size_t n = neighbours.size();
        sends_.assign(n, MPI_REQUEST_NULL);
        for (std::size_t i = 0; i < n; ++i)
            check(MPI_Isend(outgoing[i].data(),
                            static_cast<int>(outgoing[i].size() * sizeof(flash_event)), MPI_BYTE,
                            neighbours[i] + 1, tag_halo, world_, &sends_[i]),
                  "MPI_Isend(halo)");
        std::vector<char> received(n, 0);
        std::size_t left = n;
        wait_gently(
            [&] {
                for (std::size_t i = 0; i < n; ++i) {
                    if (received[i]) continue;
                    int flag = 0;
                    MPI_Message msg;
                    MPI_Status st;
                    check(MPI_Improbe(neighbours[i] + 1, tag_halo, world_, &flag, &msg, &st),
                          "MPI_Improbe(halo)");
                    if (!flag) continue;
                    int bytes = 0;
                    check(MPI_Get_count(&st, MPI_BYTE, &bytes), "MPI_Get_count(halo)");
                    const std::size_t at = incoming.size();
                    incoming.resize(at + static_cast<std::size_t>(bytes) / sizeof(flash_event));
                    check(MPI_Mrecv(incoming.data() + at, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE),
                          "MPI_Mrecv(halo)");
                    received[i] = 1;
                    --left;
                }
                return left == 0;
            },
            halo_yields);
        wait_gently([&] {
            int done = 0;
            check(MPI_Testall(static_cast<int>(n), sends_.data(), &done, MPI_STATUSES_IGNORE),
                  "MPI_Testall(halo)");
            return done != 0;
        });
    }

    // --coupling all-to-all: how many bytes each worker has (an all-gather of one int), then
    // the flashes themselves (an all-gather of those sizes), both non-blocking and waited for
    // gently like the halo, so that a worker that arrives early does not spin on a shared core.
    void gather_flashes(const std::vector<flash_event>& mine,
                        std::vector<flash_event>& all) override {
        int workers = 1;
        check(MPI_Comm_size(workers_, &workers), "MPI_Comm_size(workers)");
        if (mine.size() >
            static_cast<std::size_t>(std::numeric_limits<int>::max()) / sizeof(flash_event))
            throw error("gather_flashes: " + std::to_string(mine.size()) +
                        " flashes in one epoch are more than one "
                        "MPI message can carry");
        const int bytes = static_cast<int>(mine.size() * sizeof(flash_event));
        gather_counts_.assign(static_cast<std::size_t>(workers), 0);
        wait_for(MPI_Iallgather(&bytes, 1, MPI_INT, gather_counts_.data(), 1, MPI_INT, workers_,
                                &gather_request_),
                 "MPI_Iallgather(flash counts)");
        gather_offsets_.assign(static_cast<std::size_t>(workers), 0);
        std::size_t total = 0;
        for (int w = 0; w < workers; ++w) {
            if (total > static_cast<std::size_t>(std::numeric_limits<int>::max() -
                                                 gather_counts_[static_cast<std::size_t>(w)]))
                throw error("gather_flashes: the workers' flashes of one epoch are more than one "
                            "MPI message can carry");
            gather_offsets_[static_cast<std::size_t>(w)] = static_cast<int>(total);
            total += static_cast<std::size_t>(gather_counts_[static_cast<std::size_t>(w)]);
        }
        const std::size_t at = all.size();
        all.resize(at + total / sizeof(flash_event));
        wait_for(MPI_Iallgatherv(mine.data(), bytes, MPI_BYTE, all.data() + at,
                                 gather_counts_.data(), gather_offsets_.data(), MPI_BYTE, workers_,
                                 &gather_request_),
                 "MPI_Iallgatherv(flashes)");
    }

    void send_report(const report_header& header, const report_body& body) override {
        slot& s = free_slot();
        s.buffer.resize(
            report_codec::slots(body.events.size(), body.pixels.size(), body.epochs.size()));
        report_codec::encode(header, body, s.buffer);
        // Synchronous mode: a send completes only once the hub has taken it, so at most
        // `slots_` reports of this worker are ever outstanding.
        check(MPI_Issend(s.buffer.data(), static_cast<int>(s.buffer.size() * sizeof(flash_event)),
                         MPI_BYTE, 0, tag_report, world_, &s.request),
              "MPI_Issend(report)");
    }

    bool stop_requested() override {
        int flag = 0;
        check(MPI_Iprobe(0, tag_control, world_, &flag, MPI_STATUS_IGNORE), "MPI_Iprobe(control)");
        if (flag) {
            int sig = 0;
            check(MPI_Recv(&sig, 1, MPI_INT, 0, tag_control, world_, MPI_STATUS_IGNORE),
                  "MPI_Recv(control)");
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
            check(MPI_Iallreduce(&due.local, &due.global, 1, MPI_INT, MPI_MAX, workers_,
                                 &due.request),
                  "MPI_Iallreduce(stop)");
            next_stop_ = (next_stop_ + 1) % stops_.size();
        }
        return stop;
    }

    void start_state_sum(const phasor_sum& mine) override {
        if (state_request_ != MPI_REQUEST_NULL)
            throw error("start_state_sum: the previous reduction is still open");
        state_local_ = {mine.re, mine.im};
        // Integer sums: exact, and the same whatever the reduction's order.
        check(MPI_Iallreduce(state_local_.data(), state_global_.data(), 2, MPI_INT64_T, MPI_SUM,
                             workers_, &state_request_),
              "MPI_Iallreduce(state)");
    }

    phasor_sum finish_state_sum() override {
        if (state_request_ == MPI_REQUEST_NULL)
            throw error("finish_state_sum: no reduction is open");
        wait_gently([&] {
            int done = 0;
            check(MPI_Test(&state_request_, &done, MPI_STATUS_IGNORE), "MPI_Test(state)");
            return done != 0;
        });
        return {state_global_[0], state_global_[1]};
    }

    void save_checkpoint(const block_state& mine) override {
        // The hub's order reaches worker 0, which passes it on; then every worker writes its
        // block, worker 0 last of all sealing and renaming the file, and tells the hub.
        order_message m{};
        if (checkpointers_.rank() == 0) {
            const std::vector<std::byte> bytes =
                receive_bytes(0, tag_checkpoint_order, "MPI_Mrecv(checkpoint order)");
            if (bytes.size() != sizeof m)
                throw mpi_error("checkpoint order from the hub has the wrong length");
            std::memcpy(&m, bytes.data(), sizeof m);
        }
        std::array<std::uint64_t, 1> id{static_cast<std::uint64_t>(m.temporary_id)};
        checkpointers_.broadcast(id, 0);
        m.temporary_id = static_cast<std::int64_t>(id[0]);
        try {
            sink_(mine, m.temporary_id, checkpointers_);
        } catch (const error& e) {
            failed(e.exit_code(), e.what());
        } catch (const std::bad_alloc&) {
            failed(exit_codes::failed, "out of memory writing the checkpoint");
        } catch (const std::exception& e) {
            failed(exit_codes::failed, e.what());
        }
        if (checkpointers_.rank() == 0)
            send_bytes(result_message(0, {}, {}), 0, tag_checkpoint_result,
                       "MPI_Issend(checkpoint result)");
    }

  private:
    // This worker's part of a checkpoint failed: the hub hears why (and prints it, removes the
    // temporary file and ends every rank: the other workers may wait for this one inside a
    // collective write), and this rank waits for that end.
    [[noreturn]] void failed(int code, const std::string& what) {
        send_bytes(result_message(code, {}, what), 0, tag_checkpoint_result,
                   "MPI_Issend(checkpoint result)");
        for (;;)
            std::this_thread::sleep_for(std::chrono::seconds(1));
    }

    // A non-blocking collective just started (its return code `rc`), waited for gently.
    void wait_for(int rc, const char* call) {
        check(rc, call);
        wait_gently([&] {
            int done = 0;
            check(MPI_Test(&gather_request_, &done, MPI_STATUS_IGNORE), call);
            return done != 0;
        });
    }

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
        return static_cast<std::size_t>(std::bit_width(static_cast<unsigned>(std::max(n - 1, 0)))) +
               2;
    }
    std::vector<stop_slot> stops_;
    std::size_t next_stop_ = 0;
    // --stop-when-synced: the one open reduction of a sample's R_state sums, its buffers alive
    // until it completes.
    std::array<std::int64_t, 2> state_local_{}, state_global_{};
    MPI_Request state_request_ = MPI_REQUEST_NULL;
    checkpoint_sink sink_;
    mpi_collective checkpointers_; // the workers, for checkpoints
    // --coupling all-to-all: the all-gather of each epoch's flashes (one at a time)
    std::vector<int> gather_counts_, gather_offsets_;
    MPI_Request gather_request_ = MPI_REQUEST_NULL;
};

} // namespace

struct session::impl {
    boost::mpi::environment env;
    boost::mpi::communicator world;
    MPI_Comm workers = MPI_COMM_NULL; // ranks 1..P-1, or rank 0 alone in a one-process run
    impl(int& argc, char**& argv) : env(argc, argv, boost::mpi::threading::single, false) {}
};

session::session(int& argc, char**& argv) : impl_(std::make_unique<impl>(argc, argv)) {
    rank_ = impl_->world.rank();
    size_ = impl_->world.size();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    // The workers' communicator, made here where every rank passes (MPI_Comm_split is collective
    // over the world): the hub of a run of several ranks is not in it.
    const bool hub_apart = rank_ == 0 && size_ > 1;
    check(MPI_Comm_split(MPI_COMM_WORLD, hub_apart ? MPI_UNDEFINED : 0, rank_, &impl_->workers),
          "MPI_Comm_split");
}

session::~session() {
    if (impl_->workers != MPI_COMM_NULL) MPI_Comm_free(&impl_->workers);
}

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
    check(MPI_Gather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, 0,
                     MPI_COMM_WORLD),
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

void session::broadcast(std::string& text) const {
    boost::mpi::broadcast(impl_->world, text, 0);
}
void session::broadcast(long long& value) const {
    boost::mpi::broadcast(impl_->world, value, 0);
}

void session::abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

std::unique_ptr<worker_link> session::make_worker_link(checkpoint_sink sink,
                                                       int reports_in_flight) const {
    if (rank_ == 0) throw error("the hub (rank 0) has no worker link");
    MPI_Comm workers = MPI_COMM_NULL;
    check(MPI_Comm_dup(impl_->workers, &workers), "MPI_Comm_dup");
    return std::make_unique<mpi_worker_link>(MPI_COMM_WORLD, workers, reports_in_flight,
                                             std::move(sink));
}

std::unique_ptr<collective> session::checkpoint_group() const {
    if (impl_->workers == MPI_COMM_NULL)
        throw error("the hub (rank 0) writes and reads no checkpoint blocks");
    return std::make_unique<mpi_collective>(impl_->workers);
}

std::vector<std::byte> session::receive_block() const {
    return receive_bytes(0, tag_initial, "MPI_Mrecv(initial block)");
}

void session::send_restart_result(std::int64_t code, const std::string& line,
                                  const std::vector<std::uint64_t>& numbers) const {
    send_bytes(result_message(code, numbers, line), 0, tag_restart_result,
               "MPI_Issend(restart result)");
}

restart_result session::receive_restart_result() const {
    const std::vector<std::byte> bytes =
        receive_bytes(MPI_ANY_SOURCE, tag_restart_result, "MPI_Mrecv(restart result)");
    restart_result r;
    constexpr std::size_t numbers = 3;
    if (bytes.size() < sizeof r.code) throw mpi_error("restart result from a worker is too short");
    std::memcpy(&r.code, bytes.data(), sizeof r.code);
    std::size_t at = sizeof r.code;
    if (r.code == 0) {
        if (bytes.size() < at + numbers * sizeof(std::uint64_t))
            throw mpi_error("restart result from a worker is too short");
        r.numbers.resize(numbers);
        std::memcpy(r.numbers.data(), bytes.data() + at, numbers * sizeof(std::uint64_t));
        at += numbers * sizeof(std::uint64_t);
    }
    r.line.assign(reinterpret_cast<const char*>(bytes.data()) + at, bytes.size() - at);
    r.bytes = static_cast<std::int64_t>(bytes.size());
    return r;
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
        return static_cast<std::size_t>(
            std::count_if(receiving.begin(), receiving.end(),
                          [&](const report_receive& r) { return r.worker == worker; }));
    }
    bool may_take(const report_sink& h, int worker) const {
        return h.held(worker) + receiving_from(worker) < max_held;
    }

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
        for (int w = 0; w < workers; ++w)
            refresh(h, w);
    }
    // (poll's two halves)
    int absorb_arrived(report_sink& h);
    bool start_receiving(report_sink& h);
};

hub_transport::hub_transport(const session&, int workers, std::size_t max_held)
    : impl_(std::make_unique<impl>(impl{workers, max_held, {}, {}, {}, {}})) {}

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
    const report_codec::decoded d =
        report_codec::decode(r.buffer, static_cast<std::size_t>(r.bytes), r.worker);
    h.absorb(d.header, d.body);
}

} // namespace

// Absorbs what has arrived, each worker's reports in the order it sent them; how many.
int hub_transport::impl::absorb_arrived(report_sink& h) {
    int taken = 0;
    for (auto r = receiving.begin(); r != receiving.end();) {
        int done = 0;
        check(MPI_Test(&r->request, &done, MPI_STATUS_IGNORE), "MPI_Test(report)");
        const bool first_of_its_worker = std::none_of(
            receiving.begin(), r, [&](const report_receive& e) { return e.worker == r->worker; });
        if (!done || !first_of_its_worker) {
            ++r;
            continue;
        }
        absorb_report(h, *r);
        const int worker = r->worker;
        spare.push_back(std::move(r->buffer));
        r = receiving.erase(r);
        refresh(h, worker);
        refresh_after_rounds(h);
        ++taken;
    }
    return taken;
}

// Starts receiving the reports that are waiting, from workers whose reports the hub is not
// already holding too many of; whether it started any.
bool hub_transport::impl::start_receiving(report_sink& h) {
    bool started = false;
    while (receiving.size() < max_receiving) {
        int flag = 0;
        MPI_Message msg;
        MPI_Status st;
        if (blocked_count == 0) {
            check(MPI_Improbe(MPI_ANY_SOURCE, tag_report, MPI_COMM_WORLD, &flag, &msg, &st),
                  "MPI_Improbe(report)");
        } else {
            for (int w = 0; w < workers && !flag; ++w)
                if (!blocked[static_cast<std::size_t>(w)])
                    check(MPI_Improbe(w + 1, tag_report, MPI_COMM_WORLD, &flag, &msg, &st),
                          "MPI_Improbe(report)");
        }
        if (!flag) break;
        report_receive r;
        r.worker = st.MPI_SOURCE - 1;
        check(MPI_Get_count(&st, MPI_BYTE, &r.bytes), "MPI_Get_count(report)");
        if (!spare.empty()) {
            r.buffer = std::move(spare.back());
            spare.pop_back();
        }
        r.buffer.resize((static_cast<std::size_t>(r.bytes) + sizeof(flash_event) - 1) /
                        sizeof(flash_event));
        check(MPI_Imrecv(r.buffer.data(), r.bytes, MPI_BYTE, &msg, &r.request),
              "MPI_Imrecv(report)");
        const int worker = r.worker;
        receiving.push_back(std::move(r));
        refresh(h, worker);
        started = true;
    }
    return started;
}

int hub_transport::poll(report_sink& h) {
    impl& m = *impl_;
    int taken = 0;
    bool started = false;
    m.refresh_after_rounds(h);
    for (bool moved = true; moved;) {
        const int absorbed = m.absorb_arrived(h);
        const bool receiving = m.start_receiving(h);
        taken += absorbed;
        started = started || receiving;
        moved = absorbed > 0 || receiving;
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

void hub_transport::send_block(int worker, const std::vector<std::byte>& packed) {
    send_bytes(packed, worker + 1, tag_initial, "MPI_Issend(initial block)");
}

checkpoint_outcome hub_transport::checkpoint(std::int64_t temporary_id) {
    const order_message m{temporary_id};
    std::vector<std::byte> bytes(sizeof m);
    std::memcpy(bytes.data(), &m, sizeof m);
    send_bytes(bytes, 1, tag_checkpoint_order, "MPI_Issend(checkpoint order)");
    // Worker 0's "in place", or the first failure of any worker.
    checkpoint_outcome out;
    const std::vector<std::byte> result = receive_bytes(MPI_ANY_SOURCE, tag_checkpoint_result,
                                                        "MPI_Mrecv(checkpoint result)", &out.rank);
    if (result.size() < sizeof out.code)
        throw mpi_error("checkpoint result from rank " + std::to_string(out.rank) +
                        " is too short");
    std::memcpy(&out.code, result.data(), sizeof out.code);
    out.message.assign(reinterpret_cast<const char*>(result.data()) + sizeof out.code,
                       result.size() - sizeof out.code);
    return out;
}

void hub_transport::request_stop() {
    if (!impl_->stops.empty()) return;
    impl_->stop_value.assign(static_cast<std::size_t>(impl_->workers),
                             stop_signal() ? stop_signal() : 15);
    impl_->stops.assign(static_cast<std::size_t>(impl_->workers), MPI_REQUEST_NULL);
    for (int w = 0; w < impl_->workers; ++w)
        check(MPI_Isend(&impl_->stop_value[static_cast<std::size_t>(w)], 1, MPI_INT, w + 1,
                        tag_control, MPI_COMM_WORLD, &impl_->stops[static_cast<std::size_t>(w)]),
              "MPI_Isend(control)");
}

} // namespace fireflies::comm
