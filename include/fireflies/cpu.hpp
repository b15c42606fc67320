#pragma once
#include <cstdlib>

namespace fireflies {

/// Whether the CPU runs AVX2 (and FMA, which every AVX2 CPU this program meets also has) and
/// the vectorised builds are wanted: the environment variable FIREFLIES_GENERIC, set to
/// anything, keeps every vectorised loop (the jitter draws, the phasor sweep, the flash scan,
/// the eight pulses in lanes) on its generic build. Both builds give the same bits; the generic
/// ones are what a CPU without AVX2 runs, and the tests run them on this one too.
inline bool use_avx2() noexcept {
    static const bool on = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                           std::getenv("FIREFLIES_GENERIC") == nullptr;
    return on;
}

} // namespace fireflies
