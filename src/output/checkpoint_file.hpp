#pragma once
// The checkpoint file: HDF5, written by the hub one block at a time, and read back one block at
// a time for any decomposition. Atomic: written under a temporary name and renamed into place,
// so a crash mid-write leaves the previous checkpoint as it was.
#include <filesystem>
#include <memory>
#include <vector>

#include "fireflies/checkpoint.hpp"

namespace fireflies::output {

class checkpoint_writer {
  public:
    checkpoint_writer(const std::filesystem::path& path, std::int64_t width, std::int64_t height);
    ~checkpoint_writer(); ///< without commit(): removes the temporary file
    checkpoint_writer(const checkpoint_writer&) = delete;
    checkpoint_writer& operator=(const checkpoint_writer&) = delete;

    /// One block's fireflies (and its in-flight flashes, kept for commit()).
    void write_block(const block_state& b);
    /// Writes the run's position and counts, closes, fsyncs and renames over the path.
    void commit(const checkpoint_meta& meta);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Whether `path` is a fireflies checkpoint: an HDF5 file carrying this format's mark, of any
/// format or program version. False for anything else (a run's output, another file, a file
/// another process holds open for writing); never throws.
bool is_checkpoint(const std::filesystem::path& path) noexcept;

class checkpoint_reader {
  public:
    /// Opens and checks a checkpoint: readable, of this format and of this program version.
    /// Throws fireflies::usage_error naming --restart, the file and what is wrong.
    explicit checkpoint_reader(const std::filesystem::path& path);
    ~checkpoint_reader();

    const checkpoint_meta& meta() const noexcept;
    std::int64_t width() const noexcept;
    std::int64_t height() const noexcept;
    /// Reads every firefly dataset through once (a band of rows at a time), so that a corrupt or
    /// truncated checkpoint is refused before anything else is touched.
    void verify() const;
    /// The fireflies of rectangle `b` and all in-flight flashes.
    block_state read_block(const block& b) const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace fireflies::output
