#pragma once
#include <stdexcept>
#include <string>

namespace fireflies {

/// Every exit code of the program, here and nowhere else (docs/running.md lists them; a test
/// checks the two agree).
namespace exit_codes {
inline constexpr int finished = 0; ///< the run reached its end, or --help / --version
inline constexpr int failed = 1;   ///< an unexpected error (out of memory, a bug)
/// bad option, value, config or restart file; nothing touched
inline constexpr int usage = 2;
inline constexpr int hdf5 = 3;             ///< an HDF5 call failed
inline constexpr int mpi = 4;              ///< an MPI call failed
inline constexpr int io = 5;               ///< file system trouble (disk full, unwritable)
inline constexpr int invariant_broken = 6; ///< flashes or pulses did not balance at the end
inline constexpr int checkpointed = 85;    ///< checkpointed and stopped before the end: restart it
inline constexpr int signal_base = 128;    ///< stopped by signal S without a checkpoint: 128 + S
} // namespace exit_codes

/// Root of every error the program raises on purpose. `main` catches it, prints `what()` once
/// (from the rank that saw it) and exits with `exit_code()`.
class error : public std::runtime_error {
  public:
    explicit error(const std::string& what, int exit_code = exit_codes::failed)
        : std::runtime_error(what), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

  private:
    int exit_code_;
};

/// Bad command line, config file or option value. Exit code 2, like most Unix tools.
class usage_error : public error {
  public:
    explicit usage_error(const std::string& what) : error(what, exit_codes::usage) {}
};

/// A failed HDF5 call; the message names the call and the object.
class hdf5_error : public error {
  public:
    explicit hdf5_error(const std::string& what) : error(what, exit_codes::hdf5) {}
};

/// A failed MPI call; the message names the call.
class mpi_error : public error {
  public:
    explicit mpi_error(const std::string& what) : error(what, exit_codes::mpi) {}
};

/// Filesystem trouble around outputs and checkpoints (exists, unwritable, disk full).
class io_error : public error {
  public:
    explicit io_error(const std::string& what) : error(what, exit_codes::io) {}
};

} // namespace fireflies
