#include "config/cli.hpp"

#include "config/settings.hpp"
#include "config/toml.hpp"
#include "fireflies/error.hpp"
#include "fireflies/version.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

namespace fireflies::config {
namespace {

constexpr std::string_view summary = "pulse-coupled fireflies on a torus, in parallel with MPI";

constexpr std::string_view description =
    "Each firefly's phase grows at rate 1; when it reaches the period the firefly flashes, its "
    "phase resets into a short refractory period, and after the propagation delay each of its "
    "neighbours (by default the 8 around it on the torus; see the neighbourhood, radius and "
    "boundary options) receives a pulse that advances its phase by the nudge. Time is "
    "simulated, in 1 ns ticks, so a run is the same for every number of ranks. Rank 0 is the "
    "hub: it gathers the flashes, samples the order parameter R and writes the time series to "
    "one HDF5 file; ranks 1..P-1 each simulate one block of the grid (a single process does "
    "both). Every option below except --config, --print-config, --version and --help can also "
    "be set in a TOML file read with --config, as `name = value`; options on the command line "
    "override the file.";

constexpr std::string_view example = "mpirun -np 8 fireflies --width 100 --height 100 -o run.h5";

/// Options that act instead of setting something; they are not config-file keys.
struct action {
    std::string_view name; ///< without dashes
    std::string_view cli_names;
    std::string_view value_name;
    std::string_view help;
};

constexpr std::array actions{
    action{"config", "--config", "FILE",
           "read settings from a TOML config file (keys as the long options, e.g. "
           "sample-every = 0.5); options on the command line override it"},
    action{"print-config", "--print-config", "",
           "print the effective settings as a config file (re-readable with --config) and exit"},
    action{"version", "--version", "", "print the version and exit"},
    action{"help", "-h,--help", "", "print this help and exit"},
};

// ---- messages -----------------------------------------------------------------------------

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = up;
        }
    }
    return row[b.size()];
}

/// " (did you mean '--period'?)" for a near miss, else "". `dashes` is "--" or "".
std::string suggestion(std::string_view word, std::string_view dashes, bool with_actions) {
    std::string_view best;
    std::size_t best_distance = 3; // at most two edits away
    auto consider = [&](std::string_view name) {
        if (const auto d = edit_distance(word, name); d < best_distance) {
            best = name;
            best_distance = d;
        }
    };
    for (const auto& s : settings())
        consider(s.name);
    if (with_actions)
        for (const auto& a : actions)
            consider(a.name);
    if (best.empty()) return {};
    return " (did you mean '" + std::string(dashes) + std::string(best) + "'?)";
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    return text;
}

/// Who set each setting, to start its error messages: "--width" (the command line, or the
/// default) or "config file run.toml line 3: width".
class origins {
  public:
    void set(std::string_view name, std::string label) { label_[name] = std::move(label); }
    std::string label(std::string_view name) const {
        const auto it = label_.find(name);
        return it != label_.end() ? it->second : "--" + std::string(name);
    }

  private:
    std::map<std::string_view, std::string, std::less<>> label_;
};

[[noreturn]] void fail(const std::string& message) {
    throw usage_error(one_line(message));
}

void check(const run_config& c, const origins& from) {
    if (const auto p = find_problem(c)) fail(from.label(p->name) + ": " + p->reason);
}

// ---- the config file ----------------------------------------------------------------------

std::string read_file(const std::string& path) {
    errno = 0;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    auto cannot = [&](int error) {
        fail("--config: cannot read '" + path + "': " + std::strerror(error ? error : EIO));
    };
    if (!file) cannot(errno);
    std::string text;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0)
        text.append(buffer, n);
    if (std::ferror(file.get())) cannot(errno); // e.g. EISDIR for a directory
    return text;
}

/// Applies the file's entries to `c` in file order, checking names, types and syntax (ranges
/// are checked once everything is in, by `check`).
void apply(run_config& c, std::string_view text, std::string_view where, origins& from) {
    for (const auto& e : toml::read(text, where)) {
        const std::string at = std::string(where) + " line " + std::to_string(e.line) + ": ";
        const setting* s = find_setting(e.key);
        if (!s) {
            const bool is_action = std::any_of(actions.begin(), actions.end(),
                                               [&](const action& a) { return a.name == e.key; });
            if (is_action) fail(at + "'" + e.key + "' is a command-line action, not a config key");
            fail(at + "unknown key '" + e.key + "'" + suggestion(e.key, "", false));
        }
        const std::string label = at + e.key;
        if (const auto why = read_entry(*s, c, e); !why.empty()) fail(label + ": " + why);
        from.set(s->name, label);
    }
}

// ---- the command line ---------------------------------------------------------------------

std::string option_names(const setting& s) {
    std::string names;
    if (s.short_name != '\0') names = std::string("-") + s.short_name + ",";
    return names + "--" + std::string(s.name);
}

/// CLI11's own errors, made one line and in our words where we know them.
std::string describe(const CLI::ParseError& e) {
    const std::string what = one_line(e.what());
    if (e.get_name() == "ArgumentMismatch") {
        // "--width: 1 required TEXT missing": an option at the end without its value.
        const auto colon = what.find(':');
        if (colon != std::string::npos && what.find("missing") != std::string::npos)
            return what.substr(0, colon) + ": missing value";
    }
    return "command line: " + what;
}

} // namespace

namespace {

using given_options = std::vector<std::pair<const setting*, CLI::Option*>>;

// CLI11 takes the next argument as the value even when it is one of our options, as in
// `--width --height 4`: the value is missing, say so before anything else.
void check_values_present(const CLI::App& app, const given_options& given,
                          CLI::Option* config_file) {
    auto check_value = [&](CLI::Option* option, std::string_view label) {
        for (const auto& value : option->results())
            if (value.starts_with('-') && app.get_option_no_throw(value) != nullptr)
                fail(std::string(label) + ": missing value (found option '" + value + "')");
    };
    for (const auto& [s, option] : given)
        if (s->kind != value_kind::flag) check_value(option, "--" + std::string(s->name));
    check_value(config_file, "--config");
}

// An unknown option (with a suggestion) or a stray argument.
void refuse_extras(CLI::App& app) {
    const auto extra = app.remaining();
    if (extra.empty()) return;
    const std::string& arg = extra.front();
    if (arg.starts_with('-') && arg != "-" && arg != "--") {
        const std::string name = arg.substr(0, arg.find('='));
        const auto first = name.find_first_not_of('-');
        const auto bare =
            first == std::string::npos ? std::string_view{} : std::string_view(name).substr(first);
        fail("unknown option '" + name + "'" + suggestion(bare, "--", true));
    }
    fail("unexpected argument '" + arg + "' (options are --name VALUE; see --help)");
}

// The config file's settings, then the command line's over them, then the checks of the whole.
void apply_given(run_config& config, const given_options& given, CLI::Option* config_file) {
    // Every option at most once: a repeated setting is a mistake in a job script, not a choice.
    auto single = [&](CLI::Option* option, std::string_view label) -> std::string {
        const auto& values = option->results();
        if (values.size() > 1) fail(std::string(label) + ": given more than once");
        return values.empty() ? std::string{} : values.front();
    };
    origins from;
    if (config_file->count() > 0) {
        const std::string path = single(config_file, "--config");
        apply(config, read_file(path), "config file " + path, from);
    }
    for (const auto& [s, option] : given) {
        if (option->count() == 0) continue;
        const std::string label = "--" + std::string(s->name);
        // A list takes every occurrence (and replaces the file's list); a value is given once.
        const auto why = s->read_list ? s->read_list(config, option->results())
                                      : s->read(config, single(option, label));
        if (!why.empty()) fail(label + ": " + why);
        from.set(s->name, label);
    }
    check(config, from);
}

} // namespace

parsed parse(int argc, const char* const* argv) {
    CLI::App app{std::string(summary), "fireflies"};
    app.set_help_flag(); // ours is an ordinary flag, so that we format the help ourselves
    app.allow_extras();  // unknown arguments come back in remaining(), for our own message

    given_options given;
    for (const auto& s : settings()) {
        CLI::Option* option = s.kind == value_kind::flag ? app.add_flag(option_names(s))
                                                         : app.add_option(option_names(s));
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        given.emplace_back(&s, option);
    }
    CLI::Option* config_file =
        app.add_option("--config")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    CLI::Option* print_config = app.add_flag("--print-config");
    CLI::Option* version_flag = app.add_flag("--version");
    CLI::Option* help_flag = app.add_flag("-h,--help");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        fail(describe(e));
    }

    parsed out;
    if (help_flag->count() > 0) {
        out.exit_now = true;
        out.message = help_text();
        return out;
    }
    check_values_present(app, given, config_file);
    refuse_extras(app);
    if (version_flag->count() > 0) {
        out.exit_now = true;
        out.message =
            "fireflies " + std::string(version()) + " (git " + std::string(git_revision()) + ")\n";
        return out;
    }
    apply_given(out.config, given, config_file);
    if (print_config->count() > 0) {
        out.exit_now = true;
        out.message = to_toml(out.config);
    }
    return out;
}

void validate(const run_config& c, int mpi_size) {
    check(c, origins{});
    if (mpi_size < 1)
        throw error("config::validate: mpi_size " + std::to_string(mpi_size) + " < 1");
    const std::int64_t workers = mpi_size == 1 ? 1 : mpi_size - 1;
    const std::int64_t cells = c.width * c.height;
    if (workers > cells)
        fail("more workers (" + std::to_string(workers) + ") than cells (" +
             std::to_string(c.width) + " x " + std::to_string(c.height) + " = " +
             std::to_string(cells) + "): use at most " + std::to_string(cells + 1) +
             " ranks or a larger grid");
}

std::string to_toml(const run_config& c) {
    constexpr std::size_t comment_column = 32;
    std::string out = "# fireflies " + std::string(version()) +
                      " run configuration. Read it back with: fireflies --config FILE\n"
                      "# Options given on the command line override the values here.\n"
                      "[fireflies]\n";
    std::string_view group;
    for (const auto& s : settings()) {
        if (s.group != group) {
            group = s.group;
            out += "\n# " + std::string(group) + "\n";
        }
        std::string line = std::string(s.name) + " = " + s.write(c);
        line.resize(std::max(line.size() + 2, comment_column), ' ');
        out += line + "# " + std::string(s.units) + "\n";
    }
    return out;
}

void check_restart(const run_config& saved, const run_config& now, std::string_view file) {
    if (const setting* s = restart_mismatch(saved, now))
        fail("--restart " + std::string(file) + ": the checkpoint has " + std::string(s->name) +
             " = " + s->write(saved) + ", this run asks for " + s->write(now));
}

run_config from_toml(const std::string& text, std::string_view where) {
    run_config c;
    origins from;
    apply(c, text, where, from);
    check(c, from);
    return c;
}

namespace {

constexpr std::size_t help_width = 80, help_column = 32;

// `text` in lines of help_width columns, the later lines indented by `indent`, the first one
// after `first_used` columns.
std::string wrap(std::string_view text, std::size_t indent, std::size_t first_used) {
    std::string out;
    std::size_t used = first_used;
    bool first_word = true;
    while (!text.empty()) {
        const auto end = std::min(text.find(' '), text.size());
        const auto word = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        if (!first_word && used + 1 + word.size() > help_width) {
            out += "\n" + std::string(indent, ' ');
            used = indent;
        } else if (!first_word) {
            out += ' ';
            ++used;
        }
        out += word;
        used += word.size();
        first_word = false;
    }
    return out;
}

// One option's entry: its names on the left, its text wrapped in the column.
std::string entry(const std::string& left, std::string_view text) {
    std::string line = "  " + left;
    if (line.size() + 2 > help_column) {
        line += "\n" + std::string(help_column, ' ');
    } else {
        line.resize(help_column, ' ');
    }
    line += wrap(text, help_column, help_column) + "\n";
    std::replace(line.begin(), line.end(), '\x01', ' ');
    return line;
}

// A setting's help with its units and default ("default: X)" is one word for the wrapping, so
// it never breaks).
std::string help_of(const setting& s, const run_config& defaults) {
    std::string text(s.help);
    switch (s.kind) {
    case value_kind::flag:
        return text + " (default:\x01off)";
    case value_kind::path:
        return text + " (default:\x01" + std::string(s.default_note) + ")";
    case value_kind::choice: {
        const std::string d = s.write(defaults);
        return text + " (default:\x01" + d.substr(1, d.size() - 2) + ")";
    }
    default:
        return text + " (" + std::string(s.units) + "; default:\x01" + s.write(defaults) + ")";
    }
}

} // namespace

std::string help_text() {
    const run_config defaults;
    std::string out = "fireflies " + std::string(version()) + ": " + std::string(summary) +
                      "\n\nUsage: mpirun -np P fireflies [OPTIONS]\n"
                      "       fireflies [OPTIONS]          (one process: hub and one worker)\n\n" +
                      wrap(description, 0, 0) + "\n";
    for (const std::string_view group : {"Model", "Run", "Synchrony", "Output", "Checkpoint"}) {
        out += "\n" + std::string(group) + ":\n";
        for (const auto& s : settings()) {
            if (s.group != group) continue;
            std::string left = option_names(s);
            if (!s.value_name.empty()) left += " " + std::string(s.value_name);
            out += entry(left, help_of(s, defaults));
        }
        if (group == "Run")
            for (const auto& a : actions) {
                std::string left(a.cli_names);
                if (!a.value_name.empty()) left += " " + std::string(a.value_name);
                out += entry(left, a.help);
            }
    }
    out += "\nExample:\n  " + std::string(example) + "\n";
    return out;
}

} // namespace fireflies::config
