#pragma once
// Data on disk before a file is said to be there: the run file and the checkpoint both end with
// these steps (write aside, fsync, rename, fsync the directory).
#include <filesystem>

namespace fireflies::output {

/// fsync(2) of a file or, with `directory`, of a directory (after a rename into it). A directory
/// whose file system refuses fsync (EINVAL, EROFS) is not a failure to keep data. The descriptor
/// is opened O_CLOEXEC and its close is checked. Throws fireflies::io_error naming the call, the
/// path and errno's text.
void fsync_path(const std::filesystem::path& p, bool directory);

} // namespace fireflies::output
