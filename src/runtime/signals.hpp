#pragma once

namespace fireflies {

/// Installs handlers for SIGINT, SIGTERM and SIGUSR1 that only record the signal: the ranks
/// agree on an epoch boundary at most 2 + log2(workers) epochs later and stop there together
/// (the pipelined stop consensus of worker_link).
void install_stop_handlers();

/// The signal that asked this process to stop, or 0.
int stop_signal() noexcept;

/// Records a stop request from inside the program (e.g. the hub's control message).
void request_stop(int signal) noexcept;

} // namespace fireflies
