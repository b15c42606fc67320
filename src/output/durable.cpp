#include "output/durable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fireflies/error.hpp"

namespace fireflies::output {

namespace {
[[noreturn]] void io_fail(const std::string& what, int err) {
    throw io_error(what + ": " + std::strerror(err));
}
} // namespace

void fsync_path(const std::filesystem::path& p, bool directory) {
    const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) io_fail("open(" + p.string() + ") for fsync failed", errno);
    if (::fsync(fd) != 0 && !(directory && (errno == EINVAL || errno == EROFS))) {
        const int err = errno;
        ::close(fd);
        io_fail("fsync(" + p.string() + ") failed", err);
    }
    if (::close(fd) != 0) io_fail("close(" + p.string() + ") after fsync failed", errno);
}

} // namespace fireflies::output
