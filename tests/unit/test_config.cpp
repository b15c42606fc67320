// The command line and the config file: defaults, every option, the file, the round trip through
// to_toml, --help, and the one-line messages for bad input.
#include "config/cli.hpp"
#include "config/settings.hpp"

#include "fireflies/config.hpp"
#include "fireflies/error.hpp"
#include "fireflies/version.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace fireflies::config {
namespace {

parsed parse_args(const std::vector<std::string>& args) {
    std::vector<const char*> argv{"fireflies"};
    for (const auto& a : args)
        argv.push_back(a.c_str());
    return parse(static_cast<int>(argv.size()), argv.data());
}

/// The usage_error message, or "<no error>".
std::string error_of(const std::vector<std::string>& args) {
    try {
        parse_args(args);
    } catch (const usage_error& e) {
        return e.what();
    }
    return "<no error>";
}

/// A config file that lives as long as the test.
class temp_file {
  public:
    explicit temp_file(const std::string& text) {
        static int count = 0;
        path_ = (std::filesystem::temp_directory_path() /
                 ("fireflies-test-config-" + std::to_string(::getpid()) + "-" +
                  std::to_string(count++) + ".toml"))
                    .string();
        std::ofstream(path_, std::ios::binary) << text;
    }
    ~temp_file() { std::filesystem::remove(path_); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

TEST(ConfigDefaults, AreTheSeeds) {
    const auto p = parse_args({});
    EXPECT_FALSE(p.exit_now);
    EXPECT_TRUE(p.message.empty());
    const run_config& c = p.config;
    EXPECT_EQ(c, run_config{});
    EXPECT_EQ(c.width, 30);
    EXPECT_EQ(c.height, 30);
    EXPECT_EQ(c.duration, 300.0);
    EXPECT_EQ(c.period, 5.0);
    EXPECT_EQ(c.nudge, 0.2);
    EXPECT_EQ(c.refractory, 0.2);
    EXPECT_EQ(c.mode, refractory_mode::drop);
    EXPECT_EQ(c.delay, 0.01);
    EXPECT_EQ(c.jitter, 0.1);
    EXPECT_EQ(c.sample_every, 0.5);
    EXPECT_EQ(c.seed, 1u);
    EXPECT_FALSE(c.partitioned);
    EXPECT_EQ(c.output, "");
    EXPECT_FALSE(c.force);
    EXPECT_FALSE(c.progress);
    EXPECT_EQ(c.telemetry, telemetry_mode::events);
    EXPECT_NO_THROW(validate(c, 1));
}

TEST(ConfigParse, EveryOption) {
    const auto c = parse_args({"--width",
                               "100",
                               "--height=7",
                               "--duration",
                               "0",
                               "--period",
                               "2.5",
                               "--nudge",
                               "1e-3",
                               "--refractory",
                               "0",
                               "--refractory-mode",
                               "queue",
                               "--delay",
                               "+0.25",
                               "--jitter",
                               "0",
                               "--sample-every",
                               "0.125",
                               "--seed",
                               "18446744073709551615",
                               "--partitioned",
                               "--telemetry",
                               "summary",
                               "-o",
                               "out dir/run.h5",
                               "--force",
                               "--progress"})
                       .config;
    EXPECT_EQ(c.width, 100);
    EXPECT_EQ(c.height, 7);
    EXPECT_EQ(c.duration, 0.0);
    EXPECT_EQ(c.period, 2.5);
    EXPECT_EQ(c.nudge, 1e-3);
    EXPECT_EQ(c.refractory, 0.0);
    EXPECT_EQ(c.mode, refractory_mode::queue);
    EXPECT_EQ(c.delay, 0.25);
    EXPECT_EQ(c.jitter, 0.0);
    EXPECT_EQ(c.sample_every, 0.125);
    EXPECT_EQ(c.seed, std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(c.partitioned);
    EXPECT_EQ(c.telemetry, telemetry_mode::summary);
    EXPECT_EQ(c.output, "out dir/run.h5");
    EXPECT_TRUE(c.force);
    EXPECT_TRUE(c.progress);
    EXPECT_EQ(parse_args({"--output=x.h5"}).config.output, "x.h5");
    EXPECT_EQ(parse_args({"--refractory-mode", "drop"}).config.mode, refractory_mode::drop);
    EXPECT_EQ(parse_args({"--telemetry", "events"}).config.telemetry, telemetry_mode::events);
    EXPECT_EQ(parse_args({"--nudge", "-0"}).config.nudge, 0.0);
}

TEST(ConfigParse, SmallestValidValues) {
    const auto c = parse_args({"--width", "1", "--height", "1", "--period", "1e-9", "--delay",
                               "1e-9", "--sample-every", "1e-9", "--nudge", "0", "--jitter", "0"})
                       .config;
    EXPECT_EQ(c.width * c.height, 1);
    EXPECT_EQ(c.period, 1e-9);
    EXPECT_NO_THROW(validate(c, 1));
    EXPECT_NO_THROW(validate(c, 2));
}

TEST(ConfigFile, CommandLineOverridesFile) {
    const temp_file file("width = 12\nperiod = 4.0\nforce = true\noutput = \"from-file.h5\"\n");
    const auto c = parse_args({"--period", "3", "--config", file.path(), "--force=false"}).config;
    EXPECT_EQ(c.width, 12);   // file
    EXPECT_EQ(c.period, 3.0); // command line, although it came first
    EXPECT_FALSE(c.force);    // a flag can be turned off again
    EXPECT_EQ(c.output, "from-file.h5");
    EXPECT_EQ(c.height, 30); // default
}

TEST(ConfigFile, ReadsTheWholeSubset) {
    const temp_file file("\xEF\xBB\xBF# a comment\r\n"
                         "\r\n"
                         "  [ fireflies ]   # the optional table\r\n"
                         "width=8\r\n"
                         "\theight = +9 # cells\r\n"
                         "period = 5 # an integer is a number too\n"
                         "nudge = 1e-3\n"
                         "delay = 2.5E-2\n"
                         "refractory-mode = \"queue\"\n"
                         "sample-every = 0.25\n"
                         "seed = 18446744073709551615\n"
                         "partitioned = true\n"
                         "output = \"a \\\"b\\\" \\\\c #d \\u00e9\\U0001F525\\t\"\n");
    const auto c = parse_args({"--config", file.path()}).config;
    EXPECT_EQ(c.width, 8);
    EXPECT_EQ(c.height, 9);
    EXPECT_EQ(c.period, 5.0);
    EXPECT_EQ(c.nudge, 1e-3);
    EXPECT_EQ(c.delay, 0.025);
    EXPECT_EQ(c.mode, refractory_mode::queue);
    EXPECT_EQ(c.sample_every, 0.25);
    EXPECT_EQ(c.seed, std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(c.partitioned);
    EXPECT_EQ(c.output, "a \"b\" \\c #d \xC3\xA9\xF0\x9F\x94\xA5\t");
}

TEST(ConfigFile, EmptyFileGivesDefaults) {
    const temp_file file("");
    EXPECT_EQ(parse_args({"--config", file.path()}).config, run_config{});
    EXPECT_EQ(from_toml(""), run_config{});
    EXPECT_EQ(from_toml("[fireflies]\n# nothing\n"), run_config{});
}

run_config awkward_config() {
    run_config c;
    c.width = 2147483647;
    c.height = 3;
    c.duration = 1e9;
    c.period = 0.1 + 0.2;
    c.nudge = 1.0 / 3.0;
    c.nudge = c.period * (1.0 / 3.0);
    c.refractory = 0.7;
    c.mode = refractory_mode::queue;
    c.delay = 1e-9;
    c.jitter = std::nextafter(c.period * 0.5, 1.0);
    c.sample_every = 5e-3;
    c.seed = std::numeric_limits<std::uint64_t>::max();
    c.partitioned = true;
    c.dissipation = 1.0 / 7.0;
    c.period_spread = 0.01;
    c.period_dist = period_distribution::uniform;
    c.initial_phases = "phases \"a\".h5";
    c.boundary = boundary_kind::open;
    c.neighbourhood = neighbourhood_kind::von_neumann;
    c.radius = 2;
    c.pacemakers = {{0, 0, 0}, {2, 1, 0.1 + 0.2}, {1, 1, 1e-9}};
    c.output = "dir with space/\"quoted\"\\back\nnew line\x01\x7f\xC3\xA9.h5";
    c.force = true;
    c.progress = true;
    c.telemetry = telemetry_mode::summary;
    c.telemetry_auto = false; // an explicit mode, not auto's choice
    return c;
}

TEST(ConfigToml, RoundTripsDefaultsAndAwkwardValues) {
    EXPECT_EQ(from_toml(to_toml(run_config{})), run_config{});
    const run_config c = awkward_config();
    const std::string text = to_toml(c);
    const run_config back = from_toml(text);
    EXPECT_EQ(back, c) << text;
    EXPECT_EQ(back.output, c.output);
    EXPECT_EQ(to_toml(back), text);
}

TEST(ConfigToml, RoundTripsRandomValidConfigsBitForBit) {
    std::mt19937_64 random(12345);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int i = 0; i < 500; ++i) {
        run_config c;
        c.width = 1 + static_cast<std::int64_t>(random() % 5000);
        c.height = 1 + static_cast<std::int64_t>(random() % 5000);
        c.period = std::exp(std::log(1e-6) + unit(random) * std::log(1e13)); // 1e-6 .. 1e7 s
        // nudge + jitter < period (a firefly cannot flash twice at one instant)
        c.nudge = c.period * unit(random) * 0.49;
        c.jitter = c.period * unit(random) * 0.49;
        c.refractory = unit(random) * 0.99;
        c.delay = 1e-9 + unit(random);
        c.duration = unit(random) * 1e6;
        c.sample_every = 1e-9 + unit(random) * 10;
        c.seed = random();
        c.partitioned = random() % 2;
        c.mode = random() % 2 ? refractory_mode::drop : refractory_mode::queue;
        c.dissipation = random() % 2 ? 0.0 : unit(random) * 100;
        if (random() % 4 == 0) c.nudge = -c.nudge; // inhibitory
        if (!c.partitioned && random() % 2) c.coupling = coupling_kind::all_to_all;
        ASSERT_NO_THROW(validate(c, 1)) << to_toml(c);
        const run_config back = from_toml(to_toml(c));
        ASSERT_EQ(back, c) << to_toml(c);
        ASSERT_EQ(std::memcmp(&back.period, &c.period, sizeof c.period), 0);
    }
}

TEST(ConfigToml, EveryKeyWithAUnitsComment) {
    const std::string text = to_toml(run_config{});
    for (const auto& s : settings()) {
        // (g++ 12 -Wrestrict on "\n" + std::string)
        const std::string key = std::string("\n").append(s.name).append(" = ");
        const auto at = text.find(key);
        ASSERT_NE(at, std::string::npos) << s.name << "\n" << text;
        const auto line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
        EXPECT_NE(line.find("# "), std::string::npos) << line;
        EXPECT_NE(line.find(s.units), std::string::npos) << line;
    }
    EXPECT_NE(text.find("period = 5.0 "), std::string::npos) << text;
    EXPECT_NE(text.find("[fireflies]\n"), std::string::npos);
}

TEST(ConfigToml, ErrorsNameTheirSource) {
    try {
        from_toml("width = 3\nperod = 5\n", "checkpoint run.h5");
        FAIL() << "no error";
    } catch (const usage_error& e) {
        EXPECT_STREQ(e.what(),
                     "checkpoint run.h5 line 2: unknown key 'perod' (did you mean 'period'?)");
    }
    EXPECT_THROW(from_toml("period = 0\n"), usage_error);
}

TEST(ConfigParse, PrintConfigVersionAndHelpExitNow) {
    const auto printed = parse_args({"--width", "7", "--print-config"});
    EXPECT_TRUE(printed.exit_now);
    EXPECT_EQ(printed.config.width, 7);
    EXPECT_EQ(printed.message, to_toml(printed.config));

    const auto v = parse_args({"--version"});
    EXPECT_TRUE(v.exit_now);
    EXPECT_EQ(v.message, "fireflies " + std::string(version()) + " (git " +
                             std::string(git_revision()) + ")\n");

    for (const char* flag : {"--help", "-h"}) {
        const auto h = parse_args({"--width", "abc", flag}); // help wins over a bad value
        EXPECT_TRUE(h.exit_now);
        EXPECT_EQ(h.message, help_text());
    }
}

/// The help with every wrapped description joined back onto one line.
std::string unwrapped(const std::string& help) {
    const std::string continuation = std::string("\n").append(32, ' ');
    std::string out; // (built, not replaced in place: g++ 12 -O3 warns -Wrestrict on that)
    std::size_t from = 0;
    for (auto at = help.find(continuation); at != std::string::npos;
         at = help.find(continuation, from)) {
        out.append(help, from, at - from) += ' ';
        from = at + continuation.size();
    }
    return out.append(help, from);
}

TEST(ConfigHelp, MentionsEveryOptionWithUnitsAndDefault) {
    const std::string raw = help_text();
    const std::string help = unwrapped(raw);
    const run_config defaults;
    for (const auto& s : settings()) {
        const auto at =
            help.find(std::string("--").append(s.name).append(s.value_name.empty() ? "" : " "));
        ASSERT_NE(at, std::string::npos) << s.name;
        const auto entry = help.substr(at, help.find('\n', at) - at);
        EXPECT_NE(entry.find(s.help), std::string::npos) << entry;
        EXPECT_NE(entry.find("default: "), std::string::npos) << entry;
        if (s.kind == value_kind::count || s.kind == value_kind::seconds ||
            s.kind == value_kind::number || s.kind == value_kind::seed) {
            EXPECT_NE(
                entry.find("(" + std::string(s.units) + "; default: " + s.write(defaults) + ")"),
                std::string::npos)
                << entry;
        }
    }
    for (const char* text :
         {"--config FILE", "--print-config", "--version", "-h,--help", "-o,--output PATH",
          "Model:\n", "Run:\n", "Output:\n", "(seconds; default: 5.0)", "(cells; default: 30)",
          "(default: drop)", "(default: auto)", "(default: off)",
          "mpirun -np 8 fireflies --width 100 --height 100 -o run.h5",
          "(fraction of the period, in [0, 1); default: 0.2)"})
        EXPECT_NE(help.find(text), std::string::npos) << text << "\n" << help;
    // Model options come before Run options, which come before Output options.
    EXPECT_LT(help.find("--nudge"), help.find("--duration"));
    EXPECT_LT(help.find("--duration"), help.find("--force"));
    std::size_t start = 0;
    for (std::size_t end; (end = raw.find('\n', start)) != std::string::npos; start = end + 1)
        EXPECT_LE(end - start, 80u) << raw.substr(start, end - start);
    EXPECT_EQ(raw.find('\x01'), std::string::npos);
}

struct bad_input {
    std::vector<std::string> args;
    std::string file;     ///< if not empty: written to a file and given with --config
    std::string expected; ///< the whole message; {file} stands for the file's path
};

TEST(ConfigErrors, OneLineNamingOptionValueAndReason) {
    const std::vector<bad_input> cases{
        // command line: types
        {{"--width", "abc"}, "", "--width: 'abc' is not an integer"},
        {{"--width", "2.5"}, "", "--width: '2.5' is not an integer"},
        {{"--width", "99999999999999999999"},
         "",
         "--width: '99999999999999999999' is out of range"},
        {{"--period", "five"}, "", "--period: 'five' is not a number"},
        {{"--period", "5s"}, "", "--period: '5s' is not a number"},
        {{"--period", "nan"}, "", "--period: 'nan' is not a finite number"},
        {{"--duration", "inf"}, "", "--duration: 'inf' is not a finite number"},
        {{"--delay", "1e400"}, "", "--delay: '1e400' is out of range"},
        {{"--seed", "-1"}, "", "--seed: '-1' is not an integer in [0, 18446744073709551615]"},
        {{"--seed", "18446744073709551616"}, "", "--seed: '18446744073709551616' is out of range"},
        {{"--refractory-mode", "fast"},
         "",
         "--refractory-mode: 'fast' must be one of: drop, queue"},
        {{"--telemetry", "all"}, "", "--telemetry: 'all' must be one of: auto, events, summary"},
        {{"--force=maybe"}, "", "--force: 'maybe' is not true or false"},
        // command line: ranges
        {{"--width", "0"}, "", "--width: 0 must be at least 1 cell"},
        {{"--height", "-3"}, "", "--height: -3 must be at least 1 cell"},
        {{"--width", "3000000000"}, "", "--width: 3000000000 is more than 2147483647 cells"},
        {{"--width", "100000000", "--height", "100000000"},
         "",
         "--width: 100000000 x 100000000 = 10000000000000000 cells is more than 2^53 "
         "(9007199254740992)"},
        {{"--period", "0"}, "", "--period: 0 is not a positive number of seconds"},
        {{"--period", "-5"}, "", "--period: -5 is not a positive number of seconds"},
        {{"--period", "1e-12"}, "", "--period: 1e-12 s is below the time resolution of 1 ns"},
        {{"--period", "2e9"},
         "",
         "--period: 2e+09 s is more than 1e9 s (simulated time is kept in int64 nanoseconds)"},
        {{"--duration", "-1"}, "", "--duration: -1 is not a non-negative number of seconds"},
        {{"--duration", "1e10"},
         "",
         "--duration: 1e+10 s is more than 1e9 s (simulated time is kept in int64 nanoseconds)"},
        {{"--nudge", "5"}, "", "--nudge: 5 must be less than the period (5 s)"},
        {{"--nudge", "0.3", "--period", "0.25"},
         "",
         "--nudge: 0.3 must be less than the period (0.25 s)"},
        {{"--nudge", "-5"}, "", "--nudge: -5 must be more than minus the period (-5 s)"},
        {{"--nudge", "-7", "--period", "6"},
         "",
         "--nudge: -7 must be more than minus the period (-6 s)"},
        {{"--nudge", "-4.9999999999", "--jitter", "0"},
         "",
         "--nudge: -4.9999999999 rounds to minus the period (-5 s) at the 1 ns resolution"},
        {{"--nudge", "-inf"}, "", "--nudge: '-inf' is not a finite number"},
        {{"--prc-dissipation", "-1"}, "", "--prc-dissipation: -1 must be in [0, 100]"},
        {{"--prc-dissipation", "101"}, "", "--prc-dissipation: 101 must be in [0, 100]"},
        {{"--prc-dissipation", "nan"}, "", "--prc-dissipation: 'nan' is not a finite number"},
        {{"--period-spread", "-1"},
         "",
         "--period-spread: -1 is not a non-negative number of seconds"},
        {{"--boundary", "reflecting"},
         "",
         "--boundary: 'reflecting' must be one of: periodic, open"},
        {{"--neighbourhood", "hex"},
         "",
         "--neighbourhood: 'hex' must be one of: moore, von-neumann"},
        {{"--radius", "0"}, "", "--radius: 0 must be at least 1 cell"},
        {{"--radius", "-3"}, "", "--radius: -3 must be at least 1 cell"},
        {{"--radius", "2.5"}, "", "--radius: '2.5' is not an integer"},
        {{"--radius", "16", "--width", "31", "--height", "20"},
         "",
         "--radius: 16 reaches beyond the 31 x 20 grid: with --boundary periodic no two cells are "
         "more than 15 apart "
         "(Chebyshev distance)"},
        {{"--radius", "35", "--width", "31", "--height", "5", "--boundary", "open",
          "--neighbourhood", "von-neumann"},
         "",
         "--radius: 35 reaches beyond the 31 x 5 grid: with --boundary open no two cells are more "
         "than 34 apart "
         "(Manhattan distance)"},
        {{"--coupling", "mean-field"},
         "",
         "--coupling: 'mean-field' must be one of: lattice, all-to-all"},
        {{"--pacemaker", "3"}, "", "--pacemaker: '3' is not X,Y or X,Y,PERIOD"},
        {{"--pacemaker", "1,2,3,4"}, "", "--pacemaker: '1,2,3,4' is not X,Y or X,Y,PERIOD"},
        {{"--pacemaker", "a,2"}, "", "--pacemaker: 'a,2': 'a' is not an integer"},
        {{"--pacemaker", "1,2,x"}, "", "--pacemaker: '1,2,x': 'x' is not a number"},
        {{"--pacemaker", "1,2,0"}, "", "--pacemaker: '1,2,0': the period '0' is not positive"},
        {{"--pacemaker", "1,2,-5"}, "", "--pacemaker: '1,2,-5': the period '-5' is not positive"},
        {{"--pacemaker", "1,2,1e-12"},
         "",
         "--pacemaker: '1,2,1e-12': the period 1e-12 s is below the time resolution of 1 ns"},
        {{"--pacemaker", "30,2"},
         "",
         "--pacemaker: '30,2' is outside the 30 x 30 grid (x in [0, 30), y in [0, 30))"},
        {{"--pacemaker", "1,-1"},
         "",
         "--pacemaker: '1,-1' is outside the 30 x 30 grid (x in [0, 30), y in [0, 30))"},
        {{"--pacemaker", "1,2", "--pacemaker", "3,3", "--pacemaker", "1,2,4"},
         "",
         "--pacemaker: cell 1,2 is given twice"},
        {{"--coupling", "all-to-all", "--partitioned"},
         "",
         "--coupling: all-to-all couples every firefly to every other one: it cannot be "
         "--partitioned"},
        {{"--coupling", "all-to-all", "--boundary", "open"},
         "",
         "--coupling: all-to-all has no neighbourhood on the grid, so --boundary open means "
         "nothing with it"},
        {{"--coupling", "all-to-all", "--radius", "2"},
         "",
         "--coupling: all-to-all reaches every firefly, so --neighbourhood moore --radius 2 means "
         "nothing with it "
         "(they must be the default, moore and 1)"},
        {{"--neighbourhood", "von-neumann", "--coupling", "all-to-all"},
         "",
         "--coupling: all-to-all reaches every firefly, so --neighbourhood von-neumann --radius 1 "
         "means nothing "
         "with it (they must be the default, moore and 1)"},
        {{"--period-spread", "4.7"},
         "",
         "--period-spread: 4.7 s must be less than the period minus the nudge and the jitter (4.7 "
         "s): every own "
         "period stays above 0.3 s"},
        {{"--period-spread", "1", "--period-distribution", "cauchy"},
         "",
         "--period-distribution: 'cauchy' must be one of: normal, uniform"},
        {{"--period-spread", "2e8"},
         "",
         "--period-spread: 2e+08 s must be less than the period minus the nudge and the jitter "
         "(4.7 s): every own period stays above 0.3 s"},
        {{"--refractory", "1.5"}, "", "--refractory: 1.5 must be in [0, 1)"},
        {{"--refractory", "1"}, "", "--refractory: 1 must be in [0, 1)"},
        {{"--refractory", "-0.1"}, "", "--refractory: -0.1 must be in [0, 1)"},
        {{"--refractory", "0.9999999", "--period", "1e-9", "--nudge", "0", "--jitter", "0"},
         "",
         "--refractory: 0.9999999 makes the refractory period (9.999999e-10 s) round to the "
         "whole period at the 1 ns resolution"},
        {{"--delay", "0"}, "", "--delay: 0 is not a positive number of seconds"},
        {{"--delay", "1e-10"}, "", "--delay: 1e-10 s is below the time resolution of 1 ns"},
        {{"--jitter", "-1"}, "", "--jitter: -1 is not a non-negative number of seconds"},
        {{"--jitter", "6"}, "", "--jitter: 6 must be less than the period (5 s)"},
        {{"--sample-every", "0"}, "", "--sample-every: 0 is not a positive number of seconds"},
        {{"--sample-every", "1e-10"},
         "",
         "--sample-every: 1e-10 s is below the time resolution of 1 ns"},
        // command line: shape
        {{"--perod", "5"}, "", "unknown option '--perod' (did you mean '--period'?)"},
        {{"--frobnicate=3"}, "", "unknown option '--frobnicate'"},
        {{"-x"}, "", "unknown option '-x'"},
        {{"run.h5"}, "", "unexpected argument 'run.h5' (options are --name VALUE; see --help)"},
        {{"--width", "3", "4"},
         "",
         "unexpected argument '4' (options are --name VALUE; see --help)"},
        {{"--width"}, "", "--width: missing value"},
        {{"--width", "--height", "4"}, "", "--width: missing value (found option '--height')"},
        {{"-o", "--force"}, "", "--output: missing value (found option '--force')"},
        {{"--width", "3", "--width", "4"}, "", "--width: given more than once"},
        {{"--config", "/nonexistent/run.toml"},
         "",
         "--config: cannot read '/nonexistent/run.toml': No such file or directory"},
        {{"--config", "/"}, "", "--config: cannot read '/': Is a directory"},
        // config file
        {{},
         "width = 3\nheight = 4\nperod = 5\n",
         "config file {file} line 3: unknown key 'perod' (did you mean 'period'?)"},
        {{}, "colour = 5\n", "config file {file} line 1: unknown key 'colour'"},
        {{},
         "help = true\n",
         "config file {file} line 1: 'help' is a command-line action, not a config key"},
        {{},
         "width = 3\n\nwidth = 4\n",
         "config file {file} line 3: duplicate key 'width' (first given on line 1)"},
        {{},
         "width = abc\n",
         "config file {file} line 1: 'abc' is not a valid value for key 'width' (strings need "
         "double quotes)"},
        {{},
         "width = \"30\"\n",
         "config file {file} line 1: width: \"30\" is a string, expected an integer"},
        {{},
         "width = 30.0\n",
         "config file {file} line 1: width: 30.0 is a float, expected an integer"},
        {{},
         "force = 1\n",
         "config file {file} line 1: force: 1 is an integer, expected true or false"},
        {{},
         "refractory-mode = drop\n",
         "config file {file} line 1: 'drop' is not a valid value for key 'refractory-mode' "
         "(strings need double quotes)"},
        {{},
         "period = 0\n",
         "config file {file} line 1: period: 0 is not a positive number of seconds"},
        {{},
         "period = 1_000\n",
         "config file {file} line 1: '1_000' is not a valid value for key 'period' (write numbers "
         "without underscores)"},
        {{},
         "width = 0x10\n",
         "config file {file} line 1: '0x10' is not a valid value for key 'width' (write integers "
         "in decimal)"},
        {{},
         "period = .5\n",
         "config file {file} line 1: '.5' is not a valid value for key 'period' (expected decimal "
         "digit, saw '.')"},
        {{},
         "period = 05\n",
         "config file {file} line 1: '05' is not a valid value for key 'period' (leading zeroes "
         "are prohibited)"},
        {{},
         "period = 5s\n",
         "config file {file} line 1: '5s' is not a valid value for key 'period' (expected digit, "
         "saw 's')"},
        {{},
         "width = 99999999999999999999\n",
         "config file {file} line 1: width: '99999999999999999999' is out of range"},
        {{},
         "seed = 18446744073709551616\n",
         "config file {file} line 1: seed: '18446744073709551616' is out of range"},
        {{},
         "seed = -1\n",
         "config file {file} line 1: seed: '-1' is not an integer in [0, 18446744073709551615]"},
        {{}, "duration = 1e309\n", "config file {file} line 1: duration: '1e309' is out of range"},
        {{}, "period = -inf\n", "config file {file} line 1: period: '-inf' is not a finite number"},
        {{},
         "period = 5 6\n",
         "config file {file} line 1: unexpected '6' after the value of 'period'"},
        {{}, "period =\n", "config file {file} line 1: missing value for key 'period'"},
        {{}, "period 5\n", "config file {file} line 1: expected '=' after key 'period'"},
        {{}, "= 5\n", "config file {file} line 1: expected a key, found '='"},
        {{},
         "[model]\nwidth = 3\n",
         "config file {file} line 1: unknown table [model] (the only table is [fireflies])"},
        {{}, "[[fireflies]]\n", "config file {file} line 1: arrays of tables are not supported"},
        {{},
         "[fireflies]\nwidth = 3\n[[fireflies.runs]]\n",
         "config file {file} line 3: arrays of tables are not supported"},
        {{},
         "[a.b]\n",
         "config file {file} line 1: unknown table [a.b] (the only table is [fireflies])"},
        {{},
         "[fireflies]\nwidth = 3\n[fireflies.model]\nheight = 4\n",
         "config file {file} line 3: unknown table [fireflies.model] (the only table is "
         "[fireflies])"},
        {{}, "[fireflies\nwidth = 3\n", "config file {file} line 1: unterminated table header"},
        {{},
         "width = 3\n[fireflies]\n",
         "config file {file} line 2: table [fireflies] after keys: put it before every key or "
         "leave it out"},
        {{},
         "[fireflies]\n[fireflies]\n",
         "config file {file} line 2: table [fireflies] defined twice"},
        {{},
         "fireflies.width = 3\n",
         "config file {file} line 1: dotted keys are not supported: 'fireflies.'"},
        {{},
         "[fireflies]\n\nmodel.width = 3\n",
         "config file {file} line 3: dotted keys are not supported: 'model.'"},
        {{},
         "\"width\" = 3\n",
         "config file {file} line 1: quoted keys are not supported: write the key bare, e.g. "
         "period = 5.0"},
        {{},
         "output = 'x.h5'\n",
         "config file {file} line 1: literal strings ('...') are not supported: use double quotes"},
        {{},
         "output = \"x.h5\n",
         "config file {file} line 1: unterminated string (a string must close on its own line)"},
        {{},
         "output = \"\"\"x.h5\"\"\"\n",
         "config file {file} line 1: multi-line strings are not supported"},
        {{}, "output = \"a\\qb\"\n", "config file {file} line 1: unknown escape '\\q' in a string"},
        {{},
         "output = \"a\\uD800\"\n",
         "config file {file} line 1: escape \\uD800 is not a Unicode scalar value"},
        {{}, "output = \"a\\u12\"\n", "config file {file} line 1: escape \\u needs 4 hex digits"},
        {{},
         "output = \"a\\U0011FFFF\"\n",
         "config file {file} line 1: escape \\U0011FFFF is not a Unicode scalar value"},
        // TOML that the dialect reads but a scalar setting refuses, by its type
        {{},
         "width = [1, 2]\n",
         "config file {file} line 1: width: [1, 2] is an array, expected an integer"},
        {{},
         "width = [\n  1,  # one\n  2,\n]\n",
         "config file {file} line 1: width: [ 1, # one 2, ] is an array, expected an integer"},
        {{},
         "output = [\"a.h5\"]\n",
         "config file {file} line 1: output: [\"a.h5\"] is an array, expected a string in double "
         "quotes"},
        {{},
         "width = {a = 1}\n",
         "config file {file} line 1: width: {a = 1} is an inline table, expected an integer"},
        {{},
         "duration = 1979-05-27\n",
         "config file {file} line 1: duration: 1979-05-27 is a date, expected a number"},
        {{},
         "duration = 07:32:00\n",
         "config file {file} line 1: duration: 07:32:00 is a time, expected a number"},
        {{},
         "output = 1979-05-27T07:32:00Z\n",
         "config file {file} line 1: output: 1979-05-27T07:32:00Z is a date-time, expected a "
         "string in double quotes"},
        {{}, "date = 1979-05-27\n", "config file {file} line 1: unknown key 'date'"},
        // syntax comes before keys and types, as it did: the whole file is read first
        {{},
         "perod = 5\nwidth = abc\n",
         "config file {file} line 2: 'abc' is not a valid value for key 'width' (strings need "
         "double quotes)"},
        {{},
         "perod = 5\n[fireflies]\n",
         "config file {file} line 2: table [fireflies] after keys: put it before every key or "
         "leave it out"},
        {{"--config", "{file}", "--config", "{file}"},
         "width = 3\n",
         "--config: given more than once"},
        // the file's value is blamed where it came from; the command line's where it came from
        {{},
         "nudge = 2.0\nperiod = 1.0\n",
         "config file {file} line 1: nudge: 2 must be less than the period (1 s)"},
        {{"--nudge", "2"}, "period = 1.0\n", "--nudge: 2 must be less than the period (1 s)"},
    };
    ASSERT_GE(cases.size(), 25u);
    for (const auto& bad : cases) {
        std::vector<std::string> args = bad.args;
        std::string expected = bad.expected;
        std::optional<temp_file> file;
        if (!bad.file.empty()) {
            file.emplace(bad.file);
            auto substitute = [&](std::string& s) {
                for (auto at = s.find("{file}"); at != std::string::npos; at = s.find("{file}"))
                    s.replace(at, 6, file->path());
            };
            for (auto& a : args)
                substitute(a);
            substitute(expected);
            if (bad.args.empty() || bad.args.front() != "--config")
                args.insert(args.begin(), {"--config", file->path()});
        }
        const std::string message = error_of(args);
        std::string shown;
        for (const auto& a : args)
            shown += a + " ";
        EXPECT_EQ(message, expected) << "args: " << shown << "\nfile: " << bad.file;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(ConfigErrors, UsageErrorExitsWithTwo) {
    try {
        parse_args({"--period", "0"});
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_EQ(e.exit_code(), 2);
    }
}

TEST(ConfigValidate, AtMostOneWorkerPerCell) {
    run_config c;
    c.width = 2;
    c.height = 2;
    EXPECT_NO_THROW(validate(c, 1)); // one process: hub and one worker
    EXPECT_NO_THROW(validate(c, 2));
    EXPECT_NO_THROW(validate(c, 5)); // 4 workers, 4 cells
    try {
        validate(c, 6);
        FAIL() << "no error";
    } catch (const usage_error& e) {
        EXPECT_STREQ(e.what(), "more workers (5) than cells (2 x 2 = 4): use at most 5 ranks or a "
                               "larger grid");
    }
}

TEST(ConfigValidate, ChecksValuesAsParseDoes) {
    run_config c;
    c.period = 0;
    try {
        validate(c, 1);
        FAIL() << "no error";
    } catch (const usage_error& e) {
        EXPECT_STREQ(e.what(), "--period: 0 is not a positive number of seconds");
    }
    c = run_config{};
    c.jitter = std::nan("");
    EXPECT_THROW(validate(c, 1), usage_error);
    c = run_config{};
    c.refractory = std::numeric_limits<double>::infinity();
    EXPECT_THROW(validate(c, 1), usage_error);
}

} // namespace
} // namespace fireflies::config
