#pragma once
// The one scratch file a fuzz target writes each input to: created once (mkstemp under
// $TMPDIR, else /tmp) and removed when the fuzzer exits.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fuzz {

/// Path of this process's scratch file, named /tmp/fireflies-fuzz-<name>-XXXXXX. (The string
/// is never destroyed, so that the exit handler that removes the file can still read it.)
inline const std::string& temp_path(const char* name) {
    static const std::string& path = *new std::string([name] {
        const char* dir = std::getenv("TMPDIR");
        const std::string pattern =
            std::string(dir && *dir ? dir : "/tmp") + "/fireflies-fuzz-" + name + "-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        const int fd = ::mkstemp(buf.data());
        if (fd < 0) {
            std::perror("mkstemp");
            std::abort();
        }
        ::close(fd);
        return std::string(buf.data());
    }());
    static const bool removed_at_exit = std::atexit([] { ::unlink(path.c_str()); }) == 0;
    (void)removed_at_exit;
    return path;
}

} // namespace fuzz
