#pragma once
// The checkpoint file, format version 4: HDF5, written and read by the workers in parallel
// through HDF5's MPI-IO driver; rank 0 begins the file with the run's state and its own (the
// hub's counts, the output position, its flashes of the sample in progress) and coordinates: its
// traffic for a checkpoint or a restart is a few dozen bytes, whatever the grid (nothing O(N)
// passes through it; it writes and reads only the hub's own state).
//
// Layout (every dataset contiguous, unfiltered, little-endian; B blocks, F in-flight flashes):
//   /state/flash_at, /state/last_flash   [H, W] int64   per firefly, ns (firefly.hpp)
//   /state/draws, /state/queued          [H, W] uint32
//     each worker writes its block's hyperslab, collectively (MPI-IO two-phase I/O); no chunks
//     and no filters: HDF5 1.10 compresses in parallel only through a collective redistribution
//     of every chunk, and the checksums below replace Fletcher32.
//   /blocks                              [B, 4] int64   x0, y0, width, height of each block
//                                                       (the writing decomposition)
//   /in_flight/t, /in_flight/agent       [F] int64      flashes of the last epoch whose pulses
//     arrive after the checkpoint: block by block (block b's from block_start[b]), within a
//     block sorted by firefly (agent = y * W + x), then time
//   /in_flight/block_start               [B + 1] int64  where each block's flashes start; [B] = F
//   /in_flight/index                     [sum of h_b * ceil(w_b / tile)] int64: for each block,
//     row by row, tile by tile (`in_flight_tile` columns each), where the flashes of the
//     fireflies of that row and tile start (they end where the next slot's start, or at
//     block_start[b + 1]): a worker reads only the slots of the rows and columns within one cell
//     of its own block, so what it reads scales with its block, not with N
//   /checksums                           [B] uint64     each block's checksum (below)
//   /hub/interval_flash_t                [I] int64, ns  the hub's flashes after the last sample
//     (I = interval_flashes in events telemetry, 0 in summary telemetry): the largest volley of
//     the sample in progress counts them. Written by rank 0 (begin_checkpoint), read by rank 0.
//   root attributes, by rank 0: format, format_version (4), fireflies_version, width, height,
//     config (the run's TOML: every setting, the model families' included), the run's position
//     and counts (checkpoint_meta), hub_bytes_sent and hub_bytes_received (rank 0's traffic for
//     this checkpoint); by the workers: workers (B), in_flight_tile, checksum (the blocks'
//     checksums chained in block order)
//   Not stored: the time-to-sync rule's state (rank 0 replays the output's R_state series on
//   restart) and each firefly's own period with --period-spread (a function of seed and firefly).
//
// Checksums. A block's checksum is the sum modulo 2^64 of one mixed 64-bit term per firefly
// (its global index and its four fields), per in-flight flash (firefly and time) and per index
// slot (position and value). A sum, so that a restart on any decomposition verifies it: each
// reader adds the terms of the fireflies of its block, of the flashes of its block's fireflies
// and of the slots whose first firefly is in its block, per written block; the shares are summed
// over the readers and compared with /checksums, per block. The first 512 bytes of the file (an
// HDF5 user block) hold a seal: the format's mark, the writing program's version, the file's
// length and a hash of every byte except the raw data of the seven big datasets (which the block
// checksums cover; /hub/interval_flash_t is inside the hash). Rank 0 checks the seal before HDF5
// parses a byte (HDF5 can crash or hang on a corrupt file): O(metadata + B + I) bytes, never
// O(N). Older formats (3 by the workers without /hub; 2 and 3 by rank 0 alone) are refused by
// their seal with one line: restart with the fireflies that wrote it, or rerun.
//
// Atomic: written under .NAME.tmp.ID beside NAME (ID: the hub's process id), begun by rank 0
// (closed, fsynced), then opened, written, closed and fsynced by every writer, and only once every
// writer's part is on disk does worker 0 seal, fsync and rename it into place (and fsync the
// directory): a crash or a full disk mid-write leaves the previous checkpoint as it was.
//
// Feasibility note (why the whole program links HDF5's parallel flavour): one binary cannot link
// both HDF5 flavours (the same symbols). Rank 0's time-series output keeps HDF5's default sec2
// driver inside the parallel library, SWMR included (tests e2e.swmr and e2e.output_file pass on
// that build); only checkpoints use MPI-IO. See cmake/hdf5_flavour.cmake.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fireflies/checkpoint.hpp"
#include "fireflies/collective.hpp"
#include "fireflies/decomposition.hpp"

namespace fireflies::output {

/// The checkpoint format this program writes and reads.
inline constexpr std::int64_t checkpoint_format_version = 4;

/// The temporary name a checkpoint is written under: .NAME.tmp.ID beside `path`.
std::filesystem::path checkpoint_temporary(const std::filesystem::path& path, std::int64_t id);

/// Rank 0's part, first: creates the temporary file of `path` (checkpoint_temporary with
/// `order.temporary_id`) with the run's state `order.meta` (config_toml and the hub's interval
/// flash times included) and rank 0's byte counts, through HDF5's sec2 driver; closes and
/// fsyncs it. O(I) bytes, never O(N). Throws hdf5_error or io_error (the file removed).
void begin_checkpoint(const std::filesystem::path& path, std::int64_t width, std::int64_t height,
                      const checkpoint_order& order);

/// Then, collective over `group` (member w holds block w of `d`): opens the file rank 0 began,
/// writes `mine`, each member its own block, seals it and moves it into place at `path`
/// atomically (see above). Returns on every member once the checkpoint is in place. Throws
/// hdf5_error or io_error; with more than one member the file is then left to the caller (its
/// collective close would wait for the members that did not fail): the hub removes the
/// temporary file.
void write_checkpoint(const collective& group, const std::filesystem::path& path,
                      const decomposition& d, const block_state& mine, std::int64_t temporary_id);

/// How a checkpoint was cut into blocks, and its checksums (rank 0's validation, O(B)).
struct checkpoint_layout {
    std::int64_t width = 0, height = 0;
    int blocks = 0;                       ///< the writing run's workers
    std::int64_t tile = 0;                ///< in_flight_tile
    std::int64_t in_flight = 0;           ///< F
    std::vector<std::uint64_t> checksums; ///< per block
};

/// One reader's share of a restart: its block, with every in-flight flash of a firefly within
/// one cell of it (in time order), and its share of each written block's checksum.
struct restored_block {
    block_state state;
    std::vector<std::uint64_t> sums;      ///< per written block
    std::vector<std::uint64_t> checksums; ///< the stored per-block checksums (member 0 only)
    std::string problem;                  ///< empty, or why the checkpoint is refused (one line)
};

/// Collective over `group`: each member reads block `mine` of `path` through MPI-IO, and adds
/// up its checksum shares. Never throws for a bad checkpoint: it says why in `problem` (each
/// member makes the same collective calls whatever it found, so that none waits for another).
restored_block read_checkpoint_block(const collective& group, const std::filesystem::path& path,
                                     const block& mine);

/// Empty when `sums` (every reader's shares added up) matches each block's `checksums`, else a
/// line naming the first block that does not and where it lies.
std::string check_block_sums(const std::filesystem::path& path, std::int64_t width,
                             std::int64_t height, const std::vector<std::uint64_t>& checksums,
                             const std::vector<std::uint64_t>& sums);

/// Whether `path` is a fireflies checkpoint: an HDF5 file carrying this format's mark, of any
/// format or program version. False for anything else (a run's output, another file, a file
/// another process holds open for writing); never throws.
bool is_checkpoint(const std::filesystem::path& path) noexcept;

/// Rank 0's look at a checkpoint before a restart, through HDF5's sec2 driver: the seal, then
/// format, versions, grid, counts, the datasets' shapes and places, the decomposition and the
/// block checksums (O(metadata + B) bytes, never the fireflies). Throws fireflies::usage_error
/// naming --restart, the file and what is wrong (an older format: finish it with the version
/// that wrote it).
class checkpoint_reader {
  public:
    explicit checkpoint_reader(const std::filesystem::path& path);
    ~checkpoint_reader();

    const checkpoint_meta& meta() const noexcept;
    const checkpoint_layout& layout() const noexcept;
    std::int64_t width() const noexcept;
    std::int64_t height() const noexcept;
    /// Block `b` read serially (what each worker reads in parallel): for the fuzz target and the
    /// tests. Never throws for a bad checkpoint; see restored_block::problem.
    restored_block read_block(const block& b) const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace fireflies::output
