#pragma once

namespace fireflies {

/// The whole program: MPI lifetime, one try/catch, errors printed once, exit codes (README).
int run_program(int argc, char** argv);

/// Exit codes besides 0 (finished) and the usage/IO/HDF5/MPI errors of error.hpp.
inline constexpr int exit_invariant_broken = 6; ///< flashes or pulses did not balance
inline constexpr int exit_interrupted_base = 128; ///< stopped by signal S: 128 + S, output valid

} // namespace fireflies
