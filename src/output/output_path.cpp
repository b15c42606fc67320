#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "fireflies/error.hpp"
#include "fireflies/output.hpp"

namespace fireflies::output {

namespace {

[[noreturn]] void refuse(const std::filesystem::path& p, const std::string& reason,
                         std::string_view option) {
    std::string line = std::string(option) + " " + p.string() + ": " + reason;
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    throw usage_error(line);
}

} // namespace

void check_output_path(const std::filesystem::path& p, bool force, std::string_view option) {
    auto refuse = [&](const std::filesystem::path& q, const std::string& reason) {
        output::refuse(q, reason, option);
    };
    namespace fs = std::filesystem;
    if (p.empty()) refuse(p, "empty path");
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (fs::is_directory(st)) refuse(p, "is a directory");
    if (!p.has_filename()) refuse(p, "names a directory, not a file");

    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    const fs::file_status dir_st = fs::status(dir, ec);
    if (!fs::exists(dir_st)) refuse(p, "directory " + dir.string() + " does not exist");
    if (!fs::is_directory(dir_st)) refuse(p, dir.string() + " is not a directory");
    // W_OK|X_OK: create and rename entries. access(2) answers for the real user and reports a
    // read-only filesystem (EROFS) even to root.
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        refuse(p, "directory " + dir.string() + " is not writable (" + std::strerror(errno) + ")");

    if (fs::exists(st)) {
        if (!force) refuse(p, "file exists (use --force to overwrite it)");
        if (!fs::is_regular_file(st)) refuse(p, "exists and is not a regular file");
    }
}

} // namespace fireflies::output
