#pragma once
// The command line and the config file. `main` calls `parse`, prints `message` and stops when
// `exit_now` is set, and otherwise calls `validate` once it knows the number of ranks.
//
// Every long option `--name` is also a key `name = value` of the TOML config file given by
// `--config FILE`; options on the command line override the file. Errors are one line each and
// name the option (or the file and line), the value and the reason, e.g.
//   --period: 0 is not a positive number of seconds
//   config file run.toml line 3: unknown key 'perod' (did you mean 'period'?)
#include "fireflies/config.hpp"

#include <string>
#include <string_view>

namespace fireflies::config {

/// What `parse` found.
struct parsed {
    run_config config;     ///< the effective settings: defaults, then --config FILE, then options
    bool exit_now = false; ///< --help, --version or --print-config was given: print and stop
    std::string message;   ///< what to print on stdout when `exit_now` (ends with a newline)
};

/// Reads the command line (argv[0] is the program and is skipped) and the `--config` file, and
/// checks every value and the rules between values (all of `validate` except the rank count).
/// Throws fireflies::usage_error with a one-line message.
parsed parse(int argc, const char* const* argv);

/// Checks `c` as `parse` does, and that the run has at least one cell per worker
/// (workers = mpi_size - 1, or 1 when mpi_size == 1). Throws fireflies::usage_error.
void validate(const run_config& c, int mpi_size);

/// `c` as a config file: every key, each with a `# units` comment, grouped as in --help.
/// `from_toml(to_toml(c)) == c` exactly, doubles included.
std::string to_toml(const run_config& c);

/// Reads a config file's text with the rules of `--config` (strict TOML dialect, known keys, each
/// once, every value checked); keys it does not give keep their defaults. `where` starts every
/// error message, e.g. "checkpoint run.h5" gives "checkpoint run.h5 line 3: ...".
/// Throws fireflies::usage_error.
run_config from_toml(const std::string& text, std::string_view where = "config");

/// Checks that a `--restart` run `now` keeps every setting that the checkpoint's run `saved`
/// must keep (the settings table says which). Throws fireflies::usage_error naming the first
/// that differs and both values: "--restart run.ckpt: the checkpoint has seed = 7, this run
/// asks for 8". `file` is the checkpoint's path.
void check_restart(const run_config& saved, const run_config& now, std::string_view file);

/// The --help text.
std::string help_text();

} // namespace fireflies::config
