// block_simulation's public face: each call goes once to the event loop behind it
// (event_loop.hpp), whose state includers of the public header do not see.
#include "fireflies/block_simulation.hpp"

#include <utility>

#include "scheduler/event_loop.hpp"

namespace fireflies {

block_simulation::block_simulation(const run_config& config, const decomposition& d, int worker)
    : loop_(std::make_unique<event_loop>(config, d, worker)) {}

block_simulation::block_simulation(const run_config& config, const decomposition& d, int worker,
                                   block_state restored, std::int64_t epoch,
                                   std::int64_t next_sample)
    : loop_(std::make_unique<event_loop>(config, d, worker, std::move(restored), epoch,
                                         next_sample)) {}

block_simulation::~block_simulation() = default;

void block_simulation::run(worker_link& link, const worker_cadence& cadence) {
    loop_->run(link, cadence);
}

void block_simulation::resume_sync(const sync_tracker::state& s) {
    loop_->resume_sync(s);
}

block_state block_simulation::save() const {
    return loop_->save();
}

const block& block_simulation::cells() const noexcept {
    return loop_->cells();
}

std::vector<firefly> block_simulation::fireflies() const {
    return loop_->fireflies();
}

std::uint64_t block_simulation::global_id(std::uint32_t local) const noexcept {
    return loop_->global_id(local);
}

std::size_t block_simulation::frame_bytes() const noexcept {
    return loop_->frame_bytes();
}

} // namespace fireflies
