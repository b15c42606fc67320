#pragma once
#include <stdexcept>
#include <string>

namespace fireflies {

/// Root of every error the program raises on purpose. `main` catches it, prints `what()` once
/// (from the rank that saw it) and exits with `exit_code()`.
class error : public std::runtime_error {
  public:
    explicit error(const std::string& what, int exit_code = 1)
        : std::runtime_error(what), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

  private:
    int exit_code_;
};

/// Bad command line, config file or option value. Exit code 2, like most Unix tools.
class usage_error : public error {
  public:
    explicit usage_error(const std::string& what) : error(what, 2) {}
};

/// A failed HDF5 call; the message names the call and the object.
class hdf5_error : public error {
  public:
    explicit hdf5_error(const std::string& what) : error(what, 3) {}
};

/// A failed MPI call; the message names the call.
class mpi_error : public error {
  public:
    explicit mpi_error(const std::string& what) : error(what, 4) {}
};

/// Filesystem trouble around outputs and checkpoints (exists, unwritable, disk full).
class io_error : public error {
  public:
    explicit io_error(const std::string& what) : error(what, 5) {}
};

} // namespace fireflies
