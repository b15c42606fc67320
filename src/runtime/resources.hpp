#pragma once

namespace fireflies {

/// Peak resident set of this process (VmHWM), MiB; 0 where /proc is unavailable.
double peak_resident_mib() noexcept;

/// Current resident set of this process (VmRSS), MiB.
double resident_mib() noexcept;

} // namespace fireflies
