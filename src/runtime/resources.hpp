#pragma once

namespace fireflies {

/// Peak resident set of this process (VmHWM), MiB; 0 where /proc is unavailable.
double peak_resident_mib() noexcept;

/// Current resident set of this process (VmRSS), MiB.
double resident_mib() noexcept;

/// Asks the kernel to end this process's short sleeps on time (timer slack 1 us instead of the
/// default 50 us): ranks that wait for each other by polling and napping a few microseconds,
/// once per epoch, would otherwise oversleep by up to 50 us each time. Advice only.
void tight_timers() noexcept;

} // namespace fireflies
