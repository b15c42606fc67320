#pragma once
#include <string>
#include <vector>

namespace fireflies {

/// Peak resident set of this process (VmHWM), MiB; 0 where /proc is unavailable.
double peak_resident_mib() noexcept;

/// Current resident set of this process (VmRSS), MiB.
double resident_mib() noexcept;

/// Memory available for new work on this machine (MemAvailable of /proc/meminfo), bytes; 0
/// where it cannot be read.
double available_memory_bytes() noexcept;

/// Where the ranks of a run are: ranks that share one node's memory, and what each node has.
/// Plain data, gathered once at start-up by the comm room (a few bytes per rank, nothing per
/// firefly) and read by the memory check.
struct node_map {
    std::vector<int> node_of_rank;  ///< per world rank, its node: an index into the two below
    std::vector<std::string> names; ///< each node's processor name
    /// each node's available memory at start-up, bytes (0: unknown)
    std::vector<double> available;

    /// One node holding `ranks` ranks, this machine as it is now.
    static node_map this_machine(int ranks);
};

/// The wall-clock time now as strftime(3) `format` spells it, in UTC or in local time (at most
/// 63 characters): the output's creation stamp, the default output name.
std::string time_now_text(const char* format, bool utc);

/// Asks the kernel to end this process's short sleeps on time (timer slack 1 us instead of the
/// default 50 us): ranks that wait for each other by polling and napping a few microseconds,
/// once per epoch, would otherwise oversleep by up to 50 us each time. Advice only.
void tight_timers() noexcept;

} // namespace fireflies
