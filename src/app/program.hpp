#pragma once

namespace fireflies {

struct run_config;
struct worker_cadence;

/// What the workers' loops are told besides the model (block_simulation::run): the pace of
/// --speed (or the live view's 1), the live view's 60 frames of flashes per wall second, and
/// the checkpoints of --checkpoint and --checkpoint-every.
worker_cadence cadence_of(const run_config& config);

/// The whole program: MPI lifetime, one try/catch, errors printed once, the exit codes of
/// fireflies::exit_codes.
int run_program(int argc, char** argv);

} // namespace fireflies
