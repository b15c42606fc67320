#pragma once

namespace fireflies {

/// The whole program: MPI lifetime, one try/catch, errors printed once, the exit codes of
/// fireflies::exit_codes.
int run_program(int argc, char** argv);

} // namespace fireflies
