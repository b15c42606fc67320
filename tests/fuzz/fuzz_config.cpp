// libFuzzer target: the config reader, three ways, on one input.
//   1. fireflies::config::parse(argv), argv being the input split at '\n' (argv[0] = fireflies),
//      for inputs that start with '-' (CLI11 builds its whole parser on every call: slow);
//   2. fireflies::config::from_toml(text): toml++ under the strict dialect, every key's checks;
//   3. when (2) accepts: parse({"fireflies", "--config", FILE}) with the input written to FILE
//      (read_file + apply) must accept it too and give the same settings.
// Whatever is accepted must also pass these properties (a failure is a finding, reported by
// __builtin_trap so that libFuzzer keeps the input):
//   - validate() throws only fireflies::error, for 1, 2, 3 and 8 ranks;
//   - from_toml(to_toml(c)) == c (cli.hpp promises it exactly, doubles included).
// Only fireflies::error (usage_error and its siblings) may come out of the reader; anything else
// (another exception, a crash, a sanitizer report, a hang, an out-of-memory) is a finding.
#include "config/cli.hpp"
#include "fireflies/error.hpp"
#include "fuzz_temp_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
    std::fprintf(stderr, "\nFUZZ FINDING: %s\n%s\n", what, detail.c_str());
    __builtin_trap();
}

/// Properties of a config that the reader accepted.
void check_accepted(const fireflies::run_config& c, const char* how) {
    for (int ranks : {1, 2, 3, 8}) {
        try {
            fireflies::config::validate(c, ranks);
        } catch (const fireflies::error&) {
        }
    }
    const std::string text = fireflies::config::to_toml(c);
    fireflies::run_config back;
    try {
        back = fireflies::config::from_toml(text, "to_toml output");
    } catch (const fireflies::error& e) {
        finding("from_toml rejects what to_toml wrote",
                std::string(how) + ": " + e.what() + "\n" + text);
    }
    if (!(back == c))
        finding("from_toml(to_toml(c)) != c", std::string(how) + "\n" + text +
                                                  "\n---- read back as ----\n" +
                                                  fireflies::config::to_toml(back));
}

void parse_argv(const std::vector<std::string>& args, const char* how) {
    std::vector<const char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    try {
        const auto p = fireflies::config::parse(static_cast<int>(args.size()), argv.data());
        if (!p.exit_now) check_accepted(p.config, how);
    } catch (const fireflies::error&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    // A command line (CLI11 builds its parser for every call: slow, so only for inputs that
    // start like one): one argument per line; an argument holding '\0' is cut there, as a real
    // argv would be. `--config` with a fuzzed path is left out: it reads whatever file it names
    // (/dev/stdin would block), which is its job, not a bug.
    if (text.starts_with('-')) {
        std::vector<std::string> args{"fireflies"};
        bool names_config = false;
        for (std::size_t start = 0; start <= text.size();) {
            auto end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            std::string arg = text.substr(start, end - start);
            arg = arg.substr(0, arg.find('\0'));
            if (arg.starts_with("--config")) names_config = true;
            args.push_back(std::move(arg));
            start = end + 1;
        }
        if (text.back() == '\n') args.pop_back();
        if (!names_config) parse_argv(args, "parse(argv)");
    }

    // The config file's text.
    fireflies::run_config from_text;
    try {
        from_text = fireflies::config::from_toml(text, "config file fuzz.toml");
    } catch (const fireflies::error&) {
        return 0;
    }
    check_accepted(from_text, "from_toml");

    // Accepted: `--config FILE` with the same text must give the same settings.
    if (std::FILE* f = std::fopen(fuzz::temp_path("config").c_str(), "wb")) {
        const bool ok = std::fwrite(data, 1, size, f) == size;
        std::fclose(f);
        if (!ok) return 0;
        const char* argv[] = {"fireflies", "--config", fuzz::temp_path("config").c_str(), nullptr};
        try {
            const auto p = fireflies::config::parse(3, argv);
            if (!(p.config == from_text))
                finding("parse(--config FILE) != from_toml(text)",
                        fireflies::config::to_toml(p.config) + "\n---- from_toml ----\n" +
                            fireflies::config::to_toml(from_text));
        } catch (const fireflies::error& e) {
            finding("parse(--config FILE) rejects what from_toml accepts", e.what());
        }
    }
    return 0;
}
