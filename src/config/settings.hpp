#pragma once
// The table of settings: every field of `run_config` that a user can set, once, with its option
// name (which is also its config-file key), its help line, its units, how to read it from text
// and how to write it as TOML, and whether a restart must keep it. The command line, the config
// file, `--help`, `to_toml` and the restart check all walk this one table, so they cannot
// disagree about names, units or defaults, nor forget a setting.
#include "config/toml.hpp"
#include "fireflies/config.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fireflies::config {

/// What a setting's value is; decides which TOML types the file may use for it.
enum class value_kind {
    count,   ///< int64 >= 1 (cells); TOML integer
    seed,    ///< uint64; TOML integer (all 64 bits, beyond TOML's int64)
    seconds, ///< finite double; TOML integer or float
    number,  ///< finite double without units (a fraction); TOML integer or float
    choice,  ///< one of a few words; TOML string
    path,    ///< any text; TOML string
    flag,    ///< on/off; TOML boolean, a bare `--name` on the command line
};

/// What a `--restart` must keep: a restart continues the run saved in the checkpoint, so every
/// setting that shapes that run must be the checkpoint's; the rest (how long, how fast, what to
/// show, where to checkpoint next) may change. Each setting says which, explicitly: there is no
/// default (0 is neither), so that a new setting cannot be left out of the check.
enum class on_restart {
    must_match = 1, ///< refused unless it equals the checkpoint's value
    may_differ = 2, ///< free
};

/// One user-settable field of `run_config`.
struct setting {
    std::string_view name; ///< `--name` on the command line and `name = ...` in the file
    /// section of --help and of to_toml: Model, Run, Synchrony, Output, Checkpoint
    std::string_view group;
    std::string_view value_name;   ///< placeholder in --help: CELLS, SECONDS, drop|queue, ...
    std::string_view units;        ///< `# units` comment in to_toml, and in --help
    std::string_view help;         ///< what it does, for --help
    std::string_view default_note; ///< --help's default when the value alone says too little
    value_kind kind;               ///< for a list: the kind of each element
    on_restart restart;            ///< whether `--restart` must give the checkpoint's value
    /// Parses `text` (command-line spelling; the file's value as written) into `c`. Returns ""
    /// or why `text` is not even a value of the right type ("'abc' is not an integer").
    /// nullptr for a list.
    std::string (*read)(run_config& c, std::string_view text);
    /// The value in `c` as a TOML literal that `read` turns back into exactly that value (an
    /// array literal for a list).
    std::string (*write)(const run_config& c);
    /// Whether `a` and `b` hold the same value (as `==` does: -0.0 and 0.0 are the same).
    bool (*same)(const run_config& a, const run_config& b);
    char short_name = '\0'; ///< `-o` for --output; '\0' when there is none
    /// A list (an array in the file, a repeatable option on the command line): replaces the
    /// whole list in `c` by `items`, each spelled as `read` takes it. Returns "" or why not.
    /// nullptr for a single value.
    std::string (*read_list)(run_config& c, std::span<const std::string> items) = nullptr;
};

/// Every setting, in --help and to_toml order (Model, then Run, then Output).
std::span<const setting> settings();

/// The setting called `name` (no dashes), or nullptr.
const setting* find_setting(std::string_view name);

/// Whether a value the file wrote as `type` may be given to a setting of kind `kind` (for a
/// list: to one of its elements).
bool accepts(value_kind kind, toml::value_type type);

/// Gives the file's value `e` to `s` in `c`: checks its TOML type (an array of the right
/// elements for a list, a scalar of the right type otherwise), then reads it. Returns "" or
/// why not ("\"30\" is a string, expected an integer").
std::string read_entry(const setting& s, run_config& c, const toml::entry& e);

/// The first setting, in table order, that a restart must keep (any but `on_restart::may_differ`)
/// and that differs between the checkpoint's `saved` and this run's `now`; nullptr when none does.
const setting* restart_mismatch(const run_config& saved, const run_config& now);

/// What is wrong with a run_config: which setting to blame, and why.
struct problem {
    std::string_view name; ///< a setting name
    std::string reason;    ///< "0 is not a positive number of seconds"
};

/// The first problem with `c`: each value on its own range first, in table order, then the
/// rules that tie values together (nudge and jitter below the period, cells that fit).
std::optional<problem> find_problem(const run_config& c);

/// Shortest text that reads back to `x` ("0.2", "1e-12"), for messages.
std::string show(double x);

} // namespace fireflies::config
