#include "output/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "fireflies/error.hpp"
#include "fireflies/version.hpp"
#include "output/durable.hpp"
#include "output/h5.hpp"
#include "output/mpio.hpp"

namespace fireflies::output {

namespace {

constexpr const char* format_name = "fireflies checkpoint";
// The hub's flash times of the sample in progress, written and read by rank 0 alone.
constexpr const char* interval_flash_path = "/hub/interval_flash_t";

// The run's position and counts (checkpoint_meta), one root attribute each, written by rank 0.
constexpr std::array<std::pair<const char*, std::int64_t checkpoint_meta::*>, 11> meta_counts{{
    {"epoch", &checkpoint_meta::epoch},
    {"next_sample", &checkpoint_meta::next_sample},
    {"interval_flashes", &checkpoint_meta::interval_flashes},
    {"flashes_so_far", &checkpoint_meta::flashes_so_far},
    {"flashes_emitted", &checkpoint_meta::flashes_emitted},
    {"flashes_received", &checkpoint_meta::flashes_received},
    {"pulses_sent", &checkpoint_meta::pulses_sent},
    {"pulses_delivered", &checkpoint_meta::pulses_delivered},
    {"flashes_recorded", &checkpoint_meta::flashes_recorded},
    {"snapshots", &checkpoint_meta::snapshots},
    {"segment", &checkpoint_meta::segment},
}};

// Columns per slot of the in-flight index: a reader reads at most this many columns beyond its
// halo on each side; the index holds one int64 per this many fireflies.
constexpr std::int64_t in_flight_tile = 256;

// ---- the seal ---------------------------------------------------------------------------------
// The file starts with a 512-byte HDF5 user block holding the seal, written last.
constexpr std::size_t user_block = 512;
constexpr char seal_magic[24] = "FIREFLIES-CHECKPOINT-4\n";
// Older formats' seals, refused with what to do: format 3 written by the workers without the
// hub's state of the sample in progress, and formats 2 and 3 written by rank 0 alone.
constexpr char parallel_3_magic[24] = "FIREFLIES-CHECKPOINT-3\n";
constexpr char serial_magic[24] = "FIREFLIES-CHECKPOINT-1\n";
constexpr std::size_t max_raw = 8;

/// A dataset's raw data in the file: absolute offset, length.
struct raw_extent {
    std::uint64_t offset = 0, length = 0;
    friend bool operator==(const raw_extent&, const raw_extent&) = default;
    friend bool operator<(const raw_extent& a, const raw_extent& b) noexcept {
        return a.offset < b.offset;
    }
};

struct seal {
    char magic[24];
    char version[24];        // the program that wrote it, NUL-padded
    std::uint64_t bytes;     // the file's length after the user block
    std::uint64_t hash;      // of every byte after the user block outside `raw`
    std::uint64_t raws;      // entries of `raw` in use
    raw_extent raw[max_raw]; // the raw data the block checksums cover, ascending, disjoint
};
static_assert(sizeof(seal) <= user_block);

/// The seal's hash: a multiply-xorshift over the bytes in 8-byte words (the last one
/// zero-padded), fed in pieces of any length.
class seal_hasher {
  public:
    void feed(const unsigned char* p, std::size_t n) {
        bytes_ += n;
        while (n > 0) {
            if (carry_n_ == 0 && n >= 8) {
                const std::size_t whole = n & ~std::size_t{7};
                for (std::size_t i = 0; i < whole; i += 8) {
                    std::uint64_t w = 0;
                    std::memcpy(&w, p + i, 8);
                    mix(w);
                }
                p += whole;
                n -= whole;
                continue;
            }
            const std::size_t take = std::min(n, 8 - carry_n_);
            std::memcpy(carry_ + carry_n_, p, take);
            carry_n_ += take;
            p += take;
            n -= take;
            if (carry_n_ == 8) {
                std::uint64_t w = 0;
                std::memcpy(&w, carry_, 8);
                mix(w);
                carry_n_ = 0;
            }
        }
    }
    std::uint64_t finish() {
        if (carry_n_ > 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, carry_, carry_n_);
            mix(w);
            carry_n_ = 0;
        }
        return h_ ^ bytes_;
    }

  private:
    void mix(std::uint64_t w) noexcept {
        h_ = (h_ ^ w) * 0x9E3779B97F4A7C15ull;
        h_ ^= h_ >> 29;
    }
    std::uint64_t h_ = 0x243F6A8885A308D3ull, bytes_ = 0;
    unsigned char carry_[8] = {};
    std::size_t carry_n_ = 0;
};

/// The seal's hash of the open file `fd` of `size` bytes: every byte after the user block except
/// `raws` (ascending, disjoint, inside the file). False when a read fails or comes up short.
bool hash_outside(int fd, std::uint64_t size, const std::vector<raw_extent>& raws,
                  std::uint64_t& hash) {
    seal_hasher h;
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    std::uint64_t at = user_block;
    auto feed_until = [&](std::uint64_t end) {
        while (at < end) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end - at));
            const ssize_t got = ::pread(fd, buffer.data(), n, static_cast<off_t>(at));
            if (got <= 0) return false;
            h.feed(buffer.data(), static_cast<std::size_t>(got));
            at += static_cast<std::uint64_t>(got);
        }
        return true;
    };
    for (const raw_extent& r : raws) {
        if (!feed_until(r.offset)) return false;
        at = r.offset + r.length;
    }
    if (!feed_until(size)) return false;
    hash = h.finish();
    return true;
}

[[noreturn]] void throw_errno(const std::string& what, int err) {
    throw io_error(what + " failed: " + std::strerror(err));
}

/// Worker 0's last step: the seal over the closed, fsynced file `p`, then fsync.
void write_seal(const std::filesystem::path& p, std::vector<raw_extent> raws) {
    std::sort(raws.begin(), raws.end());
    const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_errno("open(" + p.string() + ")", errno);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_it{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("fstat(" + p.string() + ")", errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    seal s{};
    std::memcpy(s.magic, seal_magic, sizeof s.magic);
    std::memcpy(s.version, version().data(), std::min(version().size(), sizeof s.version - 1));
    s.bytes = size - user_block;
    s.raws = raws.size();
    for (std::size_t i = 0; i < raws.size(); ++i) {
        if (raws[i].offset < user_block || raws[i].offset + raws[i].length > size ||
            (i > 0 && raws[i].offset < raws[i - 1].offset + raws[i - 1].length))
            throw hdf5_error("checkpoint " + p.string() +
                             ": the datasets' raw data overlap or lie outside the file");
        s.raw[i] = raws[i];
    }
    errno = 0;
    if (!hash_outside(fd, size, raws, s.hash))
        throw_errno("reading " + p.string() + " back for its checksum", errno ? errno : EIO);
    if (::pwrite(fd, &s, sizeof s, 0) != static_cast<ssize_t>(sizeof s))
        throw_errno("writing the checksum of " + p.string(), errno ? errno : EIO);
    if (::fsync(fd) != 0) throw_errno("fsync(" + p.string() + ")", errno);
}

/// Reserves the first `bytes` of file `p` on disk (worker 0, before anyone writes data): a full
/// disk shows here with its reason, where MPI-IO would report only a short write. A file system
/// without fallocate (EOPNOTSUPP) allocates as the data comes.
void reserve_space(const std::filesystem::path& p, std::uint64_t bytes) {
    const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_errno("open(" + p.string() + ")", errno);
    const int rc = ::fallocate(fd, 0, 0, static_cast<off_t>(bytes));
    const int err = errno;
    ::close(fd);
    if (rc != 0 && err != EOPNOTSUPP && err != ENOSYS)
        throw_errno("reserving " + std::to_string(bytes) + " bytes for " + p.string() +
                        " (fallocate)",
                    err);
}

/// The format version of a checkpoint sealed by rank 0 alone (formats 2 and 3: the seal's hash
/// covers every byte after the user block), read only when that hash holds; else "2 or 3".
std::string serial_format_version(const std::filesystem::path& p, int fd, const seal& s) {
    struct stat st {};
    std::uint64_t hash = 0;
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != user_block + s.bytes ||
        !hash_outside(fd, static_cast<std::uint64_t>(st.st_size), {}, hash) || hash != s.hash)
        return "2 or 3";
    try {
        const h5::file f(
            h5::check_id(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", p.string()));
        const h5::attribute a(
            h5::check_id(H5Aopen(f.get(), "format_version", H5P_DEFAULT), "H5Aopen", p.string()));
        std::int64_t v = 0;
        h5::check(H5Aread(a.get(), H5T_NATIVE_INT64, &v), "H5Aread", p.string());
        return std::to_string(v);
    } catch (const error&) {
        return "2 or 3";
    }
}

/// Empty when the file's seal holds, else what is wrong; `out` gets the seal.
std::string check_seal(const std::filesystem::path& p, seal& out) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::string("cannot be opened: ") + std::strerror(errno);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_it{fd};
    seal s{};
    const ssize_t got = ::pread(fd, &s, sizeof s, 0);
    if (got >= static_cast<ssize_t>(sizeof s.magic + sizeof s.version)) {
        const std::string written_by(s.version, strnlen(s.version, sizeof s.version));
        const std::string what_to_do =
            "; this fireflies reads format " + std::to_string(checkpoint_format_version) +
            " only: restart it with the fireflies that wrote it, or rerun the run";
        if (std::memcmp(s.magic, parallel_3_magic, sizeof s.magic) == 0)
            return "checkpoint format version 3 (written by the workers, without the hub's flashes "
                   "of the sample "
                   "in progress) by fireflies " +
                   written_by + what_to_do;
        if (std::memcmp(s.magic, serial_magic, sizeof s.magic) == 0)
            return "an older checkpoint format (version " + serial_format_version(p, fd, s) +
                   ", written by rank 0 " + "alone) by fireflies " + written_by + what_to_do;
    }
    if (got != static_cast<ssize_t>(sizeof s) ||
        std::memcmp(s.magic, seal_magic, sizeof s.magic) != 0)
        return "not a fireflies checkpoint (no checksum seal)";
    if (const std::string written_by(s.version, strnlen(s.version, sizeof s.version));
        written_by != version())
        return "written by fireflies " + written_by + ", this is fireflies " +
               std::string(version()) + "; restart it with that version";
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::string("cannot be read: ") + std::strerror(errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < user_block || size - user_block != s.bytes)
        return "truncated or extended: " +
               std::to_string(size < user_block ? 0 : size - user_block) +
               " bytes where the checkpoint wrote " + std::to_string(s.bytes);
    if (s.raws > max_raw) return "corrupt: its seal is damaged";
    std::vector<raw_extent> raws(s.raw, s.raw + s.raws);
    for (std::size_t i = 0; i < raws.size(); ++i) {
        const raw_extent& r = raws[i];
        if (r.offset < user_block || r.offset > size || r.length > size - r.offset ||
            (i > 0 && r.offset < raws[i - 1].offset + raws[i - 1].length))
            return "corrupt: its seal is damaged";
    }
    std::uint64_t hash = 0;
    errno = 0;
    if (!hash_outside(fd, size, raws, hash))
        return std::string("cannot be read: ") + std::strerror(errno ? errno : EIO);
    if (hash != s.hash) return "corrupt: its checksum does not match";
    out = s;
    return {};
}

// ---- block checksums ------------------------------------------------------------------------
// One 64-bit term per firefly, in-flight flash and index slot; a block's checksum is the sum of
// its terms modulo 2^64 (see checkpoint_file.hpp). The constants keep the three kinds apart.

constexpr std::uint64_t mix(std::uint64_t h) noexcept { // MurmurHash3's finaliser
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/// A firefly's term: its index and fields combined with odd multipliers (a change of any one
/// field, or of several unless by values chosen to cancel, changes the combination), then mixed
/// once (a bijection: a changed combination gives an unrelated term). One mix per firefly: the
/// checksum costs a few ns a firefly.
inline std::uint64_t cell_term(std::uint64_t cell, std::int64_t flash_at, std::int64_t last_flash,
                               std::uint32_t draws, std::uint32_t queued) noexcept {
    return mix(cell * 0x9E3779B97F4A7C15ull +
               static_cast<std::uint64_t>(flash_at) * 0xC2B2AE3D27D4EB4Full +
               static_cast<std::uint64_t>(last_flash) * 0x165667B19E3779F9ull +
               (std::uint64_t{draws} | std::uint64_t{queued} << 32) * 0xD6E8FEB86659FD93ull +
               0x243F6A8885A308D3ull);
}

inline std::uint64_t flash_term(std::uint64_t agent, std::int64_t t) noexcept {
    return mix(mix(agent * 0xC2B2AE3D27D4EB4Full + 0x13198A2E03707344ull) ^
               static_cast<std::uint64_t>(t));
}

inline std::uint64_t index_term(std::uint64_t slot, std::int64_t value) noexcept {
    return mix(mix(slot * 0x165667B19E3779F9ull + 0xA4093822299F31D0ull) ^
               static_cast<std::uint64_t>(value));
}

/// The file's `checksum` attribute: the blocks' checksums chained in block order.
std::uint64_t chain(const std::vector<std::uint64_t>& checksums) noexcept {
    std::uint64_t h = mix(checksums.size() * 0x9E3779B97F4A7C15ull + 0x082EFA98EC4E6C89ull);
    for (const std::uint64_t c : checksums)
        h = mix(h ^ c) + 0x452821E638D01377ull;
    return h;
}

// ---- datasets -------------------------------------------------------------------------------

namespace dsi {
enum : std::size_t {
    flash_at,
    last_flash,
    draws,
    queued,
    t,
    agent,
    index,
    block_start,
    blocks,
    checksums,
    count
};
/// The first `raw` hold the raw data the block checksums cover (outside the seal's hash).
constexpr std::size_t raw = 7;
} // namespace dsi

constexpr std::array<const char*, dsi::count> dataset_path{
    "/state/flash_at", "/state/last_flash", "/state/draws",     "/state/queued",
    "/in_flight/t",    "/in_flight/agent",  "/in_flight/index", "/in_flight/block_start",
    "/blocks",         "/checksums"};

hid_t file_type_of(std::size_t ds) {
    if (ds == dsi::draws || ds == dsi::queued) return H5T_STD_U32LE;
    if (ds == dsi::checksums) return H5T_STD_U64LE;
    return H5T_STD_I64LE;
}

const char* units_of(std::size_t ds) {
    switch (ds) {
    case dsi::flash_at:
    case dsi::last_flash:
    case dsi::t:
        return "ns";
    default:
        return "1";
    }
}

const char* description_of(std::size_t ds) {
    switch (ds) {
    case dsi::flash_at:
        return "per firefly [y, x]: when its phase reaches the period unless pulses come first";
    case dsi::last_flash:
        return "per firefly [y, x]: its latest flash, -1 before the first";
    case dsi::draws:
        return "per firefly [y, x]: random draws used so far";
    case dsi::queued:
        return "per firefly [y, x]: pulses held during its refractory period (queue mode)";
    case dsi::t:
        return "flashes of the last epoch, whose pulses arrive after the checkpoint: block by "
               "block "
               "(from block_start), within a block by firefly, then time";
    case dsi::agent:
        return "firefly of each in-flight flash, y * width + x";
    case dsi::index:
        return "per block, row by row, tile by tile (in_flight_tile columns): where the in-flight "
               "flashes of that row and tile start";
    case dsi::block_start:
        return "where each block's in-flight flashes start; the last entry is their number";
    case dsi::blocks:
        return "each block of the run that wrote it: x0, y0, width, height";
    default:
        return "each block's checksum: the sum modulo 2^64 of one term per firefly, in-flight "
               "flash "
               "and index slot (src/output/checkpoint_file.hpp)";
    }
}

std::int64_t tiles_of(std::int64_t width, std::int64_t tile) {
    return (width + tile - 1) / tile;
}

/// Where each block's slots start in /in_flight/index, and (at [B]) their number.
std::vector<std::uint64_t> index_bases(const std::vector<block>& blocks, std::int64_t tile) {
    std::vector<std::uint64_t> base(blocks.size() + 1, 0);
    for (std::size_t b = 0; b < blocks.size(); ++b)
        base[b + 1] = base[b] + static_cast<std::uint64_t>(blocks[b].height *
                                                           tiles_of(blocks[b].width, tile));
    return base;
}

h5::dataspace select_block(hid_t dset, const block& b, const std::string& path) {
    h5::dataspace space(h5::check_id(H5Dget_space(dset), "H5Dget_space", path));
    const std::array<hsize_t, 2> start{static_cast<hsize_t>(b.y0), static_cast<hsize_t>(b.x0)};
    const std::array<hsize_t, 2> count{static_cast<hsize_t>(b.height),
                                       static_cast<hsize_t>(b.width)};
    if (b.cells() == 0)
        h5::check(H5Sselect_none(space.get()), "H5Sselect_none", path);
    else
        h5::check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                      count.data(), nullptr),
                  "H5Sselect_hyperslab", path);
    return space;
}

/// Elements [start, start + count) of a 1-D (or, for /blocks, [count, 4] rows) dataset.
h5::dataspace select_range(hid_t dset, std::uint64_t start, std::uint64_t count,
                           const std::string& path) {
    h5::dataspace space(h5::check_id(H5Dget_space(dset), "H5Dget_space", path));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (count == 0) {
        h5::check(H5Sselect_none(space.get()), "H5Sselect_none", path);
    } else {
        const std::array<hsize_t, 2> s{start, 0}, c{count, rank == 2 ? hsize_t{4} : hsize_t{1}};
        h5::check(
            H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, s.data(), nullptr, c.data(), nullptr),
            "H5Sselect_hyperslab", path);
    }
    return space;
}

/// A memory space of `count` elements (count 0: one element, none selected).
h5::dataspace memory_space(std::uint64_t count, const std::string& path) {
    h5::dataspace space = h5::make_space({count == 0 ? hsize_t{1} : count}, path);
    if (count == 0) h5::check(H5Sselect_none(space.get()), "H5Sselect_none", path);
    return space;
}

/// A scalar attribute, read into a T as `memory_type` (the native type of T).
template <class T>
T read_scalar_attr(hid_t obj, const char* name, const std::string& where, hid_t memory_type) {
    h5::attribute a(
        h5::check_id(H5Aopen(obj, name, H5P_DEFAULT), "H5Aopen", where + " attribute " + name));
    T v{};
    h5::check(H5Aread(a.get(), memory_type, &v), "H5Aread", where + " attribute " + name);
    return v;
}

std::int64_t read_int_attr(hid_t obj, const char* name, const std::string& where) {
    return read_scalar_attr<std::int64_t>(obj, name, where, H5T_NATIVE_INT64);
}

std::uint64_t read_uint_attr(hid_t obj, const char* name, const std::string& where) {
    return read_scalar_attr<std::uint64_t>(obj, name, where, H5T_NATIVE_UINT64);
}

std::string read_string_attr(hid_t obj, const char* name, const std::string& where) {
    h5::attribute a(
        h5::check_id(H5Aopen(obj, name, H5P_DEFAULT), "H5Aopen", where + " attribute " + name));
    const h5::datatype type = h5::make_string_type(where);
    char* text = nullptr;
    h5::check(H5Aread(a.get(), type.get(), &text), "H5Aread", where + " attribute " + name);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
}

/// [begin, end) ranges of a cyclic axis of `n` cells that hold the cells within one of
/// [from, from + length): one range, or two where it wraps, or the whole axis.
std::vector<std::pair<std::int64_t, std::int64_t>>
halo_ranges(std::int64_t from, std::int64_t length, std::int64_t n) {
    if (length + 2 >= n) return {{0, n}};
    const std::int64_t begin = from - 1, end = from + length + 1;
    if (begin < 0) return {{n - 1, n}, {0, end}};
    if (end > n) return {{begin, n}, {0, end - n}};
    return {{begin, end}};
}

bool in_ranges(std::int64_t v,
               const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges) noexcept {
    for (const auto& [b, e] : ranges)
        if (v >= b && v < e) return true;
    return false;
}

/// Sorted, merged [begin, end) ranges; ranges less than `gap` apart are read as one.
std::vector<std::pair<std::uint64_t, std::uint64_t>>
merged(std::vector<std::pair<std::uint64_t, std::uint64_t>> r, std::uint64_t gap) {
    std::sort(r.begin(), r.end());
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (const auto& x : r) {
        if (x.first >= x.second) continue;
        if (!out.empty() && x.first <= out.back().second + gap)
            out.back().second = std::max(out.back().second, x.second);
        else
            out.push_back(x);
    }
    return out;
}

/// Values of ranges of a 1-D int64 dataset, read range by range (independent I/O: readers read
/// different numbers of ranges), looked up by position.
class sparse_values {
  public:
    void read(hid_t dset, hid_t dxpl, std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges,
              const std::string& p) {
        ranges_ = std::move(ranges);
        std::uint64_t total = 0;
        for (const auto& [b, e] : ranges_)
            total += e - b;
        values_.resize(total);
        starts_.clear();
        std::uint64_t at = 0;
        for (const auto& [b, e] : ranges_) {
            starts_.push_back(at);
            const h5::dataspace file_space = select_range(dset, b, e - b, p);
            const h5::dataspace mem = memory_space(e - b, p);
            h5::check(H5Dread(dset, H5T_NATIVE_INT64, mem.get(), file_space.get(), dxpl,
                              values_.data() + at),
                      "H5Dread", p);
            at += e - b;
        }
    }
    /// The value at `position`, which one of the ranges holds.
    std::int64_t at(std::uint64_t position) const {
        auto r =
            std::upper_bound(ranges_.begin(), ranges_.end(), position,
                             [](std::uint64_t p, const auto& range) { return p < range.first; });
        if (r == ranges_.begin()) throw std::logic_error("sparse_values: position not read");
        --r;
        if (position >= r->second) throw std::logic_error("sparse_values: position not read");
        return values_[starts_[static_cast<std::size_t>(r - ranges_.begin())] +
                       (position - r->first)];
    }

  private:
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges_;
    std::vector<std::uint64_t> starts_;
    std::vector<std::int64_t> values_;
};

/// An open checkpoint's datasets and what its attributes say of its layout.
struct open_checkpoint {
    std::string where; // "--restart PATH"
    hid_t file = H5I_INVALID_HID;
    std::array<h5::dataset, dsi::count> ds;
    checkpoint_layout layout;
    std::vector<block> old_blocks; // the writing decomposition
};

/// Opens the datasets of `f.file` and reads the layout attributes; empty, or what is wrong.
/// Throws hdf5_error when HDF5 fails.
std::string open_datasets(open_checkpoint& f) {
    const hid_t file = f.file;
    const std::string& name = f.where;
    checkpoint_layout& L = f.layout;
    L.width = read_int_attr(file, "width", name);
    L.height = read_int_attr(file, "height", name);
    if (L.width < 1 || L.height < 1 || L.width > (std::int64_t{1} << 31) ||
        L.height > (std::int64_t{1} << 31) || L.width > (std::int64_t{1} << 53) / L.height)
        return "grid size " + std::to_string(L.width) + " x " + std::to_string(L.height) +
               " is out of range (corrupt checkpoint)";
    const std::int64_t blocks = read_int_attr(file, "workers", name);
    if (blocks < 1 || blocks > L.width * L.height || blocks > (std::int64_t{1} << 24))
        return "it names " + std::to_string(blocks) + " blocks for its grid (corrupt checkpoint)";
    L.blocks = static_cast<int>(blocks);
    L.tile = read_int_attr(file, "in_flight_tile", name);
    if (L.tile < 1 || L.tile > (std::int64_t{1} << 31))
        return "in_flight_tile is out of range (corrupt checkpoint)";
    f.old_blocks = decomposition(L.width, L.height, L.blocks).blocks();
    const std::vector<std::uint64_t> base = index_bases(f.old_blocks, L.tile);
    for (std::size_t i = 0; i < dsi::count; ++i) {
        const std::string p = dataset_path[i];
        f.ds[i] = h5::dataset(h5::check_id(H5Dopen2(file, p.c_str(), H5P_DEFAULT), "H5Dopen2", p));
        const h5::dataspace s(h5::check_id(H5Dget_space(f.ds[i].get()), "H5Dget_space", p));
        const h5::datatype type(h5::check_id(H5Dget_type(f.ds[i].get()), "H5Dget_type", p));
        if (!h5::check_tri(H5Tequal(type.get(), file_type_of(i)), "H5Tequal", p))
            return "dataset " + p + " has the wrong type (corrupt checkpoint)";
        hsize_t dims[2] = {0, 0};
        const int rank = H5Sget_simple_extent_ndims(s.get());
        if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(s.get(), dims, nullptr) != rank)
            return "dataset " + p + " has the wrong shape (corrupt checkpoint)";
        std::array<hsize_t, 2> want{};
        int want_rank = 1;
        if (i <= dsi::queued) {
            want = {static_cast<hsize_t>(L.height), static_cast<hsize_t>(L.width)};
            want_rank = 2;
        } else if (i == dsi::t || i == dsi::agent) {
            if (i == dsi::t) L.in_flight = static_cast<std::int64_t>(dims[0]);
            want = {static_cast<hsize_t>(L.in_flight), 0};
        } else if (i == dsi::index) {
            want = {base.back(), 0};
        } else if (i == dsi::block_start) {
            want = {static_cast<hsize_t>(L.blocks) + 1, 0};
        } else if (i == dsi::blocks) {
            want = {static_cast<hsize_t>(L.blocks), 4};
            want_rank = 2;
        } else {
            want = {static_cast<hsize_t>(L.blocks), 0};
        }
        if (rank != want_rank || dims[0] != want[0] || (rank == 2 && dims[1] != want[1]))
            return "dataset " + p + " does not match the grid and its blocks (corrupt checkpoint)";
    }
    if (L.in_flight > 16 * L.width * L.height + 1024)
        return "dataset /in_flight/t has an impossible size (corrupt checkpoint)";
    return {};
}

// The fireflies of block `b`: four hyperslabs (collective reads with `dxpl`), then each
// firefly's term in the block that wrote it into out.sums.
void read_fireflies(const open_checkpoint& f, hid_t dxpl, const block& b, restored_block& out) {
    const auto n = static_cast<std::size_t>(b.cells());
    std::vector<std::int64_t> flash_at(n), last_flash(n);
    std::vector<std::uint32_t> draws(n), queued(n);
    const h5::dataspace mem =
        h5::make_space({static_cast<hsize_t>(b.height), static_cast<hsize_t>(b.width)}, "block");
    auto read_field = [&](std::size_t ds, hid_t type, void* data) {
        const std::string p = dataset_path[ds];
        const h5::dataspace file_space = select_block(f.ds[ds].get(), b, p);
        h5::check(H5Dread(f.ds[ds].get(), type, mem.get(), file_space.get(), dxpl, data), "H5Dread",
                  p);
    };
    read_field(dsi::flash_at, H5T_NATIVE_INT64, flash_at.data());
    read_field(dsi::last_flash, H5T_NATIVE_INT64, last_flash.data());
    read_field(dsi::draws, H5T_NATIVE_UINT32, draws.data());
    read_field(dsi::queued, H5T_NATIVE_UINT32, queued.data());
    out.state.fireflies.resize(n);
    for (std::size_t i = 0; i < n; ++i)
        out.state.fireflies[i] = {flash_at[i], last_flash[i], draws[i], queued[i]};
    const std::int64_t W = f.layout.width;
    for (std::size_t ob = 0; ob < f.old_blocks.size(); ++ob) {
        const block& o = f.old_blocks[ob];
        const std::int64_t x0 = std::max(o.x0, b.x0), x1 = std::min(o.x0 + o.width, b.x0 + b.width);
        const std::int64_t y0 = std::max(o.y0, b.y0),
                           y1 = std::min(o.y0 + o.height, b.y0 + b.height);
        std::uint64_t sum = 0;
        for (std::int64_t y = y0; y < y1; ++y)
            for (std::int64_t x = x0; x < x1; ++x) {
                const auto i = static_cast<std::size_t>((y - b.y0) * b.width + (x - b.x0));
                sum += cell_term(static_cast<std::uint64_t>(y * W + x), flash_at[i], last_flash[i],
                                 draws[i], queued[i]);
            }
        out.sums[ob] += sum;
    }
}

// `count` values of a one-dimensional dataset from its start (independent reads with `dxpl`).
template <class T>
void read_leading(const open_checkpoint& f, std::size_t ds, hid_t type, hid_t dxpl,
                  std::vector<T>& values, std::size_t count) {
    const std::string p = dataset_path[ds];
    values.resize(count);
    const h5::dataspace file_space = select_range(f.ds[ds].get(), 0, count, p);
    const h5::dataspace m = memory_space(count, p);
    h5::check(H5Dread(f.ds[ds].get(), type, m.get(), file_space.get(), dxpl, values.data()),
              "H5Dread", p);
}

using index_ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
using cell_ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

// The index slots of the rows and columns within one cell of the block (`rows`, `columns`),
// per written block (`base`: each one's first slot), merged.
index_ranges halo_slots(const open_checkpoint& f, const std::vector<std::uint64_t>& base,
                        const cell_ranges& rows, const cell_ranges& columns) {
    const std::int64_t tile = f.layout.tile;
    index_ranges slot_ranges;
    for (std::size_t ob = 0; ob < f.old_blocks.size(); ++ob) {
        const block& o = f.old_blocks[ob];
        const std::int64_t tiles = tiles_of(o.width, tile);
        for (const auto& [r0, r1] : rows)
            for (const auto& [c0, c1] : columns) {
                const std::int64_t y0 = std::max(o.y0, r0), y1 = std::min(o.y0 + o.height, r1);
                const std::int64_t x0 = std::max(o.x0, c0), x1 = std::min(o.x0 + o.width, c1);
                if (y0 >= y1 || x0 >= x1) continue;
                const std::int64_t k0 = (x0 - o.x0) / tile, k1 = (x1 - 1 - o.x0) / tile;
                for (std::int64_t y = y0; y < y1; ++y) {
                    const std::uint64_t row =
                        base[ob] + static_cast<std::uint64_t>((y - o.y0) * tiles);
                    slot_ranges.emplace_back(row + static_cast<std::uint64_t>(k0),
                                             row + static_cast<std::uint64_t>(k1) + 1);
                }
            }
    }
    return merged(std::move(slot_ranges), 0);
}

/// One index slot's in-flight flashes: entries [begin, end) of the written block `block`.
struct slot_span {
    std::uint64_t slot;
    std::size_t block;
    std::int64_t begin, end;
};

// The entries of each slot (the index read slot by slot), each slot's term counted by the
// reader of its first firefly; empty, or what is wrong.
std::string read_slot_spans(const open_checkpoint& f, hid_t dxpl, const block& b,
                            const std::vector<std::uint64_t>& base,
                            const std::vector<std::int64_t>& block_start, const index_ranges& slots,
                            std::vector<slot_span>& spans, restored_block& out) {
    const std::size_t B = f.old_blocks.size();
    // Each slot's start, and the next one's (its end) when it is in the same block.
    index_ranges wanted;
    for (const auto& [s0, s1] : slots)
        wanted.emplace_back(s0, std::min<std::uint64_t>(s1 + 1, base[B]));
    sparse_values index;
    index.read(f.ds[dsi::index].get(), dxpl, merged(std::move(wanted), 16),
               dataset_path[dsi::index]);
    std::size_t ob = 0;
    for (const auto& [s0, s1] : slots)
        for (std::uint64_t s = s0; s < s1; ++s) {
            while (base[ob + 1] <= s)
                ++ob;
            const std::int64_t begin = index.at(s);
            const std::int64_t end = s + 1 < base[ob + 1] ? index.at(s + 1) : block_start[ob + 1];
            if (begin < block_start[ob] || begin > end || end > block_start[ob + 1])
                return "/in_flight/index is not in order (corrupt checkpoint)";
            spans.push_back({s, ob, begin, end});
            const block& o = f.old_blocks[ob];
            const std::int64_t tiles = tiles_of(o.width, f.layout.tile);
            const auto local = static_cast<std::int64_t>(s - base[ob]);
            if (b.contains(o.x0 + (local % tiles) * f.layout.tile, o.y0 + local / tiles))
                out.sums[ob] += index_term(s, begin);
        }
    return {};
}

// The in-flight flashes of the spans' slots that lie within one cell of the block (`rows`,
// `columns`), and the terms of the block's own; empty, or what is wrong.
std::string read_in_flight(const open_checkpoint& f, hid_t dxpl, const block& b,
                           const std::vector<std::uint64_t>& base,
                           const std::vector<slot_span>& spans, const cell_ranges& rows,
                           const cell_ranges& columns, restored_block& out) {
    const std::int64_t W = f.layout.width, tile = f.layout.tile;
    index_ranges entry_ranges;
    for (const slot_span& sp : spans)
        entry_ranges.emplace_back(static_cast<std::uint64_t>(sp.begin),
                                  static_cast<std::uint64_t>(sp.end));
    const auto entries = merged(std::move(entry_ranges), 64);
    sparse_values times, agents;
    times.read(f.ds[dsi::t].get(), dxpl, entries, dataset_path[dsi::t]);
    agents.read(f.ds[dsi::agent].get(), dxpl, entries, dataset_path[dsi::agent]);
    for (const slot_span& sp : spans) {
        const block& o = f.old_blocks[sp.block];
        const std::int64_t tiles = tiles_of(o.width, tile);
        const auto local = static_cast<std::int64_t>(sp.slot - base[sp.block]);
        const std::int64_t y = o.y0 + local / tiles, x_begin = o.x0 + (local % tiles) * tile;
        const std::int64_t x_end = std::min(x_begin + tile, o.x0 + o.width);
        for (std::int64_t e = sp.begin; e < sp.end; ++e) {
            const std::int64_t agent = agents.at(static_cast<std::uint64_t>(e));
            const std::int64_t t = times.at(static_cast<std::uint64_t>(e));
            if (agent < y * W + x_begin || agent >= y * W + x_end)
                return "/in_flight/agent names a firefly outside its slot (corrupt checkpoint)";
            const std::int64_t x = agent - y * W;
            if (!in_ranges(x, columns) || !in_ranges(y, rows)) continue;
            out.state.in_flight.push_back({t, static_cast<std::uint64_t>(agent)});
            if (b.contains(x, y))
                out.sums[sp.block] += flash_term(static_cast<std::uint64_t>(agent), t);
        }
    }
    std::sort(out.state.in_flight.begin(), out.state.in_flight.end());
    return {};
}

/// What a reader needs of block `b`: its fireflies, every in-flight flash of a firefly within one
/// cell of it, and its shares of the blocks' checksums. `state_dxpl` reads the fireflies (MPI-IO:
/// collective, every reader makes these four reads); the rest is read range by range with
/// `other_dxpl` (independent: readers read different numbers of ranges). Throws hdf5_error when
/// HDF5 fails; returns a problem for a bad checkpoint.
std::string read_block_data(const open_checkpoint& f, hid_t state_dxpl, hid_t other_dxpl,
                            const block& b, bool read_checksums, restored_block& out) {
    const checkpoint_layout& L = f.layout;
    const auto B = static_cast<std::size_t>(L.blocks);
    if (b.x0 < 0 || b.y0 < 0 || b.width < 1 || b.height < 1 || b.x0 + b.width > L.width ||
        b.y0 + b.height > L.height)
        return "block (" + std::to_string(b.x0) + ", " + std::to_string(b.y0) + ") " +
               std::to_string(b.width) + " x " + std::to_string(b.height) +
               " is not inside the checkpoint's grid";
    out.sums.assign(B, 0);
    out.state.cells = b;
    read_fireflies(f, state_dxpl, b, out);
    // Where each written block's in-flight flashes start.
    std::vector<std::int64_t> block_start;
    read_leading(f, dsi::block_start, H5T_NATIVE_INT64, other_dxpl, block_start, B + 1);
    if (block_start[0] != 0 || block_start[B] != L.in_flight ||
        !std::is_sorted(block_start.begin(), block_start.end()))
        return "/in_flight/block_start is not in order (corrupt checkpoint)";
    const auto rows = halo_ranges(b.y0, b.height, L.height),
               columns = halo_ranges(b.x0, b.width, L.width);
    const std::vector<std::uint64_t> base = index_bases(f.old_blocks, L.tile);
    std::vector<slot_span> spans;
    std::string problem = read_slot_spans(f, other_dxpl, b, base, block_start,
                                          halo_slots(f, base, rows, columns), spans, out);
    if (problem.empty())
        problem = read_in_flight(f, other_dxpl, b, base, spans, rows, columns, out);
    if (!problem.empty()) return problem;
    if (read_checksums)
        read_leading(f, dsi::checksums, H5T_NATIVE_UINT64, other_dxpl, out.checksums, B);
    return {};
}

h5::plist transfer_plist(H5FD_mpio_xfer_t mode, const std::string& name) {
    h5::plist dxpl = h5::make_plist(H5P_DATASET_XFER, name);
    h5::check(H5Pset_dxpl_mpio(dxpl.get(), mode), "H5Pset_dxpl_mpio", name);
    return dxpl;
}

} // namespace

std::filesystem::path checkpoint_temporary(const std::filesystem::path& path, std::int64_t id) {
    std::string name = ".";
    // (appended, not "." + ...: g++ 12 -O3 warns of the latter, -Wrestrict)
    name += path.filename().string();
    name += ".tmp.";
    name += std::to_string(id);
    return path.parent_path() / name;
}

// ---- writing --------------------------------------------------------------------------------

void begin_checkpoint(const std::filesystem::path& path, std::int64_t width, std::int64_t height,
                      const checkpoint_order& order) {
    h5::init_library();
    const std::filesystem::path temporary = checkpoint_temporary(path, order.temporary_id);
    const std::string name = temporary.string();
    const checkpoint_meta& meta = order.meta;
    try {
        const h5::plist fcpl = h5::make_plist(H5P_FILE_CREATE, name);
        h5::check(H5Pset_userblock(fcpl.get(), user_block), "H5Pset_userblock", name);
        h5::file file(h5::check_id(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT),
                                   "H5Fcreate", name));
        const hid_t root = file.get();
        h5::set_attribute(root, "/", "format", std::string(format_name));
        h5::set_attribute(root, "/", "format_version", checkpoint_format_version);
        h5::set_attribute(root, "/", "fireflies_version", std::string(version()));
        h5::set_attribute(root, "/", "width", width);
        h5::set_attribute(root, "/", "height", height);
        h5::set_attribute(root, "/", "config", meta.config_toml);
        for (const auto& [attribute, count] : meta_counts)
            h5::set_attribute(root, "/", attribute, meta.*count);
        h5::set_attribute(root, "/", "hub_bytes_sent", order.hub_bytes_sent);
        h5::set_attribute(root, "/", "hub_bytes_received", order.hub_bytes_received);
        const std::vector<std::int64_t> pending(meta.interval_flash_times.begin(),
                                                meta.interval_flash_times.end());
        h5::write_dataset(
            root, interval_flash_path, H5T_STD_I64LE, H5T_NATIVE_INT64, pending.data(),
            pending.size(), {pending.size()}, "ns", "flash time",
            "the hub's flashes after the last sample (events telemetry; empty in summary "
            "telemetry), for the largest volley of the sample in progress");
        file.close("H5Fclose", name);
        fsync_path(temporary, false);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(temporary, ec);
        throw;
    }
}

namespace {

/// One member's part of a checkpoint, laid out as the file stores it, and its checksum.
struct checkpoint_part {
    // the block's fields, a dataset each
    std::vector<std::int64_t> flash_at, last_flash;
    std::vector<std::uint32_t> draws, queued;
    // its in-flight flashes by firefly, then time; where they start in the file; the index
    std::uint64_t first = 0, count = 0, total = 0;
    std::vector<std::int64_t> index, t, agent;
    std::uint64_t checksum = 0;
};

void check_member_block(const collective& group, const decomposition& d, const block_state& mine) {
    const int member = group.rank();
    if (group.size() != d.workers() || !(mine.cells == d.block_of(member)) ||
        mine.fireflies.size() != static_cast<std::size_t>(mine.cells.cells()))
        throw error("checkpoint: the block of member " + std::to_string(member) +
                    " does not match the decomposition");
}

// This block's fields and their checksum terms.
void lay_out_fireflies(const block_state& mine, std::int64_t W, checkpoint_part& part) {
    const block& b = mine.cells;
    const auto n = static_cast<std::size_t>(b.cells());
    part.flash_at.resize(n);
    part.last_flash.resize(n);
    part.draws.resize(n);
    part.queued.resize(n);
    for (std::int64_t y = 0; y < b.height; ++y)
        for (std::int64_t x = 0; x < b.width; ++x) {
            const auto i = static_cast<std::size_t>(y * b.width + x);
            const firefly& f = mine.fireflies[i];
            part.flash_at[i] = f.flash_at;
            part.last_flash[i] = f.last_flash;
            part.draws[i] = f.draws;
            part.queued[i] = f.queued;
            part.checksum += cell_term(static_cast<std::uint64_t>((b.y0 + y) * W + b.x0 + x),
                                       f.flash_at, f.last_flash, f.draws, f.queued);
        }
}

// This block's in-flight flashes, slot by slot of the index (`base`: each block's first slot),
// and their checksum terms; where they start among every member's.
void lay_out_in_flight(const collective& group, const block_state& mine, std::int64_t W,
                       const std::vector<std::uint64_t>& base, checkpoint_part& part) {
    const block& b = mine.cells;
    std::vector<flash_event> flashes = mine.in_flight;
    std::sort(flashes.begin(), flashes.end(), [](const flash_event& a, const flash_event& c) {
        return a.agent < c.agent || (a.agent == c.agent && a.t < c.t);
    });
    part.count = static_cast<std::uint64_t>(flashes.size());
    part.first = group.sum_before(part.count);
    std::array<std::uint64_t, 1> total{part.count};
    group.sum(total);
    part.total = total[0];
    const std::int64_t tiles = tiles_of(b.width, in_flight_tile);
    const auto slots = static_cast<std::size_t>(b.height * tiles);
    part.index.resize(slots);
    part.t.resize(flashes.size());
    part.agent.resize(flashes.size());
    std::size_t e = 0;
    for (std::size_t s = 0; s < slots; ++s) {
        part.index[s] = static_cast<std::int64_t>(part.first + e);
        part.checksum +=
            index_term(base[static_cast<std::size_t>(group.rank())] + s, part.index[s]);
        const auto y = b.y0 + static_cast<std::int64_t>(s) / tiles;
        const auto x_end = std::min(
            b.x0 + (static_cast<std::int64_t>(s) % tiles + 1) * in_flight_tile, b.x0 + b.width);
        for (; e < flashes.size() && static_cast<std::int64_t>(flashes[e].agent) < y * W + x_end;
             ++e) {
            part.t[e] = flashes[e].t;
            part.agent[e] = static_cast<std::int64_t>(flashes[e].agent);
            part.checksum += flash_term(flashes[e].agent, flashes[e].t);
        }
    }
    if (e != flashes.size())
        throw error("checkpoint: an in-flight flash of a firefly outside this block");
}

using checkpoint_datasets = std::array<h5::dataset, dsi::count>;

// Every dataset of the file, created by all members together (allocated at once, contiguous,
// never filled: each is written once).
void create_datasets(hid_t file, const decomposition& d, std::uint64_t in_flight,
                     const std::vector<std::uint64_t>& base, checkpoint_datasets& ds,
                     const std::string& name) {
    const h5::plist dcpl = h5::make_plist(H5P_DATASET_CREATE, name);
    h5::check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout", name);
    h5::check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", name);
    h5::check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time", name);
    const h5::plist lcpl = h5::make_intermediate_lcpl(name);
    const auto B = static_cast<hsize_t>(d.workers());
    for (std::size_t i = 0; i < dsi::count; ++i) {
        std::vector<hsize_t> dims;
        if (i <= dsi::queued)
            dims = {static_cast<hsize_t>(d.height()), static_cast<hsize_t>(d.width())};
        else if (i == dsi::t || i == dsi::agent)
            dims = {in_flight};
        else if (i == dsi::index)
            dims = {base.back()};
        else if (i == dsi::block_start)
            dims = {B + 1};
        else if (i == dsi::blocks)
            dims = {B, 4};
        else
            dims = {B};
        const std::string p = dataset_path[i];
        const h5::dataspace space = h5::make_space(dims, p);
        ds[i] = h5::dataset(h5::check_id(H5Dcreate2(file, p.c_str(), file_type_of(i), space.get(),
                                                    lcpl.get(), dcpl.get(), H5P_DEFAULT),
                                         "H5Dcreate2", p));
        h5::set_attribute(ds[i].get(), p, "units", std::string(units_of(i)));
        h5::set_attribute(ds[i].get(), p, "description", std::string(description_of(i)));
    }
}

// Where the raw data lie (allocated at creation): for the seal, which leaves it to the block
// checksums, and to reserve the space before anyone writes. Sets `end` to the last byte's end.
std::vector<raw_extent> raw_extents(const checkpoint_datasets& ds, std::uint64_t& end) {
    std::vector<raw_extent> raws;
    end = 0;
    for (std::size_t i = 0; i < dsi::raw; ++i) {
        const hsize_t bytes = H5Dget_storage_size(ds[i].get());
        if (bytes == 0) continue;
        const haddr_t offset = H5Dget_offset(ds[i].get());
        if (offset == HADDR_UNDEF) h5::fail("H5Dget_offset", dataset_path[i]);
        raws.push_back({offset, bytes});
        end = std::max<std::uint64_t>(end, offset + bytes);
    }
    return raws;
}

/// Writes one member's part of every dataset (collective transfers: every member makes the
/// same calls).
class part_writer {
  public:
    part_writer(const checkpoint_datasets& ds, const block& b, const std::string& name)
        : ds_(ds), b_(b), dxpl_(transfer_plist(H5FD_MPIO_COLLECTIVE, name)),
          block_mem_(h5::make_space({static_cast<hsize_t>(b.height), static_cast<hsize_t>(b.width)},
                                    name)) {}

    void field(std::size_t i, hid_t type, const void* data) const {
        const std::string p = dataset_path[i];
        const h5::dataspace file_space = select_block(ds_[i].get(), b_, p);
        h5::check(
            H5Dwrite(ds_[i].get(), type, block_mem_.get(), file_space.get(), dxpl_.get(), data),
            "H5Dwrite", p);
    }

    void range(std::size_t i, hid_t type, std::uint64_t start, std::uint64_t elements,
               const void* data) const {
        const std::string p = dataset_path[i];
        static const std::int64_t none = 0;
        const h5::dataspace file_space = select_range(ds_[i].get(), start, elements, p);
        const std::uint64_t values = i == dsi::blocks ? 4 * elements : elements;
        const h5::dataspace m = memory_space(values, p);
        h5::check(H5Dwrite(ds_[i].get(), type, m.get(), file_space.get(), dxpl_.get(),
                           values ? data : &none),
                  "H5Dwrite", p);
    }

  private:
    const checkpoint_datasets& ds_;
    const block& b_;
    h5::plist dxpl_;
    h5::dataspace block_mem_;
};

void write_part(const checkpoint_datasets& ds, const block& b, const checkpoint_part& part,
                std::uint64_t member_base, int member, int members, const std::string& name) {
    const part_writer write(ds, b, name);
    write.field(dsi::flash_at, H5T_NATIVE_INT64, part.flash_at.data());
    write.field(dsi::last_flash, H5T_NATIVE_INT64, part.last_flash.data());
    write.field(dsi::draws, H5T_NATIVE_UINT32, part.draws.data());
    write.field(dsi::queued, H5T_NATIVE_UINT32, part.queued.data());
    write.range(dsi::t, H5T_NATIVE_INT64, part.first, part.count, part.t.data());
    write.range(dsi::agent, H5T_NATIVE_INT64, part.first, part.count, part.agent.data());
    write.range(dsi::index, H5T_NATIVE_INT64, member_base, part.index.size(), part.index.data());
    const std::array<std::int64_t, 2> starts{static_cast<std::int64_t>(part.first),
                                             static_cast<std::int64_t>(part.total)};
    const auto slot = static_cast<std::uint64_t>(member);
    write.range(dsi::block_start, H5T_NATIVE_INT64, slot, member == members - 1 ? 2 : 1,
                starts.data());
    const std::array<std::int64_t, 4> geometry{b.x0, b.y0, b.width, b.height};
    write.range(dsi::blocks, H5T_NATIVE_INT64, slot, 1, geometry.data());
    write.range(dsi::checksums, H5T_NATIVE_UINT64, slot, 1, &part.checksum);
}

// Worker 0, once every member's part is on disk: the seal, then the file under its name.
void seal_and_rename(const std::filesystem::path& temporary, const std::filesystem::path& path,
                     std::vector<raw_extent> raws) {
    write_seal(temporary, std::move(raws));
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec)
        throw io_error("rename(" + temporary.string() + ", " + path.string() +
                       ") failed: " + ec.message());
    fsync_path(path.parent_path().empty() ? "." : path.parent_path(), true);
}

// After a failure: closing a file of several processes is collective, and the others may be
// waiting elsewhere: with several members the handles go unclosed (the hub ends every rank
// next); one member closes them and removes the temporary file.
void abandon(h5::file& file, checkpoint_datasets& ds, int members,
             const std::filesystem::path& temporary) {
    if (members > 1) {
        for (auto& dataset : ds)
            (void)dataset.release();
        (void)file.release();
        return;
    }
    for (auto& dataset : ds)
        dataset.reset();
    file.reset();
    std::error_code ec;
    std::filesystem::remove(temporary, ec);
}

} // namespace

void write_checkpoint(const collective& group, const std::filesystem::path& path,
                      const decomposition& d, const block_state& mine, std::int64_t temporary_id) {
    h5::init_library();
    check_member_block(group, d, mine);
    const int member = group.rank(), members = group.size();
    const std::vector<std::uint64_t> base = index_bases(d.blocks(), in_flight_tile);
    checkpoint_part part;
    lay_out_fireflies(mine, d.width(), part);
    lay_out_in_flight(group, mine, d.width(), base, part);
    const std::vector<std::uint64_t> checksums = group.gather(part.checksum, 0);
    std::array<std::uint64_t, 1> combined{member == 0 ? chain(checksums) : 0};
    group.broadcast(combined, 0);

    // The file rank 0 began (begin_checkpoint): every member opens it, creates the datasets
    // together, writes its parts, closes it.
    const std::filesystem::path temporary = checkpoint_temporary(path, temporary_id);
    const std::string name = temporary.string();
    h5::file file;
    checkpoint_datasets ds;
    try {
        const h5::plist fapl = h5::make_plist(H5P_FILE_ACCESS, name);
        h5::use_mpio(fapl.get(), group);
        file = h5::file(
            h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen", name));
        create_datasets(file.get(), d, part.total, base, ds, name);
        const hid_t root = file.get();
        h5::set_attribute(root, "/", "workers", std::int64_t{members});
        h5::set_attribute(root, "/", "in_flight_tile", in_flight_tile);
        h5::set_attribute(root, "/", "checksum", combined[0]);
        std::uint64_t end = 0;
        std::vector<raw_extent> raws = raw_extents(ds, end);
        if (member == 0) reserve_space(temporary, end);
        (void)group.min(0); // the space is there before anyone writes
        write_part(ds, mine.cells, part, base[static_cast<std::size_t>(member)], member, members,
                   name);
        for (auto& dataset : ds)
            dataset.close("H5Dclose", name);
        file.close("H5Fclose", name);
        // Every member's part on disk before worker 0 seals and renames.
        fsync_path(temporary, false);
        (void)group.min(0);
        if (member == 0) seal_and_rename(temporary, path, std::move(raws));
    } catch (...) {
        abandon(file, ds, members, temporary);
        throw;
    }
}

// ---- reading --------------------------------------------------------------------------------

restored_block read_checkpoint_block(const collective& group, const std::filesystem::path& path,
                                     const block& mine) {
    h5::init_library();
    restored_block out;
    open_checkpoint f;
    f.where = "--restart " + path.string();
    const std::string name = path.string();
    auto problem_of = [&](const error& e) {
        return f.where + ": cannot be read (corrupt checkpoint?): " + e.what();
    };
    h5::file file;
    try {
        const h5::plist fapl = h5::make_plist(H5P_FILE_ACCESS, name);
        h5::use_mpio(fapl.get(), group);
        file = h5::file(
            h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()), "H5Fopen", name));
        f.file = file.get();
        if (std::string p = open_datasets(f); !p.empty()) out.problem = f.where + ": " + p;
    } catch (const error& e) {
        out.problem = problem_of(e);
    }
    // The fireflies are read collectively: only when every member got this far.
    if (group.min(out.problem.empty() ? 1 : 0) == 1) {
        try {
            const h5::plist collective_io = transfer_plist(H5FD_MPIO_COLLECTIVE, name);
            const h5::plist independent_io = transfer_plist(H5FD_MPIO_INDEPENDENT, name);
            if (std::string p = read_block_data(f, collective_io.get(), independent_io.get(), mine,
                                                group.rank() == 0, out);
                !p.empty())
                out.problem = f.where + ": " + p;
        } catch (const error& e) {
            out.problem = problem_of(e);
        } catch (const std::bad_alloc&) {
            out.problem =
                f.where + ": its in-flight flashes do not fit in memory (corrupt checkpoint?)";
        }
    }
    for (auto& d : f.ds)
        d.reset();
    file.reset();
    return out;
}

std::string check_block_sums(const std::filesystem::path& path, std::int64_t width,
                             std::int64_t height, const std::vector<std::uint64_t>& checksums,
                             const std::vector<std::uint64_t>& sums) {
    if (sums.size() != checksums.size())
        return "--restart " + path.string() + ": " + std::to_string(sums.size()) +
               " block checksums where it has " + std::to_string(checksums.size());
    for (std::size_t b = 0; b < checksums.size(); ++b)
        if (sums[b] != checksums[b]) {
            const block o = decomposition(width, height, static_cast<int>(checksums.size()))
                                .block_of(static_cast<int>(b));
            return "--restart " + path.string() + ": corrupt: block " + std::to_string(b) + " of " +
                   std::to_string(checksums.size()) + " (columns " + std::to_string(o.x0) + "-" +
                   std::to_string(o.x0 + o.width - 1) + ", rows " + std::to_string(o.y0) + "-" +
                   std::to_string(o.y0 + o.height - 1) + ") does not match its checksum";
        }
    return {};
}

bool is_checkpoint(const std::filesystem::path& path) noexcept {
    try {
        h5::init_library();
        const std::string name = path.string();
        if (H5Fis_hdf5(name.c_str()) <= 0) return false;
        h5::file f(
            h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", name));
        return H5Aexists(f.get(), "format") > 0 &&
               read_string_attr(f.get(), "format", name) == format_name;
    } catch (...) {
        return false;
    }
}

struct checkpoint_reader::impl {
    std::filesystem::path path;
    h5::file file;
    open_checkpoint f;
    checkpoint_meta meta;
};

namespace {

// A fireflies checkpoint of this format, written by this version.
void check_written_by_us(hid_t file, const std::string& where, const std::string& name) {
    if (H5Aexists(file, "format") <= 0 || read_string_attr(file, "format", name) != format_name)
        throw usage_error(where + ": not a fireflies checkpoint");
    if (const std::int64_t v = read_int_attr(file, "format_version", name);
        v != checkpoint_format_version)
        throw usage_error(where + ": checkpoint format version " + std::to_string(v) +
                          " is not the supported " + std::to_string(checkpoint_format_version));
    const std::string written_by = read_string_attr(file, "fireflies_version", name);
    if (written_by != version())
        throw usage_error(where + ": written by fireflies " + written_by + ", this is fireflies " +
                          std::string(version()) + "; restart it with that version");
}

// The seal left out exactly the raw data of the big datasets.
void check_seal_matches(const open_checkpoint& f, const seal& s) {
    std::vector<raw_extent> raws;
    for (std::size_t i = 0; i < dsi::raw; ++i) {
        const hsize_t bytes = H5Dget_storage_size(f.ds[i].get());
        if (bytes == 0) continue;
        const haddr_t offset = H5Dget_offset(f.ds[i].get());
        if (offset == HADDR_UNDEF)
            throw usage_error(f.where + ": dataset " + std::string(dataset_path[i]) +
                              " is not contiguous (corrupt checkpoint)");
        raws.push_back({offset, bytes});
    }
    std::sort(raws.begin(), raws.end());
    if (raws != std::vector<raw_extent>(s.raw, s.raw + s.raws))
        throw usage_error(f.where + ": corrupt: its seal does not match its datasets");
}

// The hub's flashes of the sample in progress: the interval's, or none (summary telemetry sends
// the hub no flashes). Rank 0's own state, read by rank 0 alone.
void read_interval_flashes(hid_t file, const std::string& where, checkpoint_meta& c) {
    const char* p = interval_flash_path;
    const h5::dataset d(h5::check_id(H5Dopen2(file, p, H5P_DEFAULT), "H5Dopen2", p));
    const h5::dataspace s(h5::check_id(H5Dget_space(d.get()), "H5Dget_space", p));
    const hssize_t points = H5Sget_simple_extent_npoints(s.get());
    if (H5Sget_simple_extent_ndims(s.get()) != 1 || points < 0 ||
        (points != 0 && points != c.interval_flashes))
        throw usage_error(where + ": dataset " + p + " holds " + std::to_string(points) +
                          " flash times, not the interval's " + std::to_string(c.interval_flashes) +
                          " (corrupt checkpoint)");
    c.interval_flash_times.resize(static_cast<std::size_t>(points));
    if (points > 0)
        h5::check(H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                          c.interval_flash_times.data()),
                  "H5Dread", p);
}

// The decomposition that wrote it, and its blocks' checksums (O(B)).
void read_blocks(open_checkpoint& f, const std::string& name) {
    checkpoint_layout& L = f.layout;
    const auto B = static_cast<std::size_t>(L.blocks);
    std::vector<std::int64_t> geometry(4 * B);
    h5::check(H5Dread(f.ds[dsi::blocks].get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                      geometry.data()),
              "H5Dread", dataset_path[dsi::blocks]);
    for (std::size_t b = 0; b < B; ++b) {
        const block& o = f.old_blocks[b];
        if (geometry[4 * b] != o.x0 || geometry[4 * b + 1] != o.y0 ||
            geometry[4 * b + 2] != o.width || geometry[4 * b + 3] != o.height)
            throw usage_error(f.where + ": its /blocks are not the decomposition of its grid for " +
                              std::to_string(B) + " workers (corrupt checkpoint)");
    }
    L.checksums.resize(B);
    h5::check(H5Dread(f.ds[dsi::checksums].get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                      L.checksums.data()),
              "H5Dread", dataset_path[dsi::checksums]);
    if (chain(L.checksums) != read_uint_attr(f.file, "checksum", name))
        throw usage_error(f.where + ": corrupt: its block checksums do not match its checksum");
}

} // namespace

checkpoint_reader::checkpoint_reader(const std::filesystem::path& path)
    : impl_(std::make_unique<impl>()) {
    h5::init_library();
    impl& m = *impl_;
    m.path = path;
    const std::string name = path.string();
    const std::string where = "--restart " + name;
    m.f.where = where;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw usage_error(where + ": no such file");
    seal s{};
    if (const std::string problem = check_seal(path, s); !problem.empty())
        throw usage_error(where + ": " + problem);
    try {
        m.file = h5::file(
            h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", name));
        const hid_t file = m.file.get();
        m.f.file = file;
        check_written_by_us(file, where, name);
        if (const std::string problem = open_datasets(m.f); !problem.empty())
            throw usage_error(where + ": " + problem);
        check_seal_matches(m.f, s);
        m.meta.config_toml = read_string_attr(file, "config", name);
        for (const auto& [attribute, count] : meta_counts)
            m.meta.*count = read_int_attr(file, attribute, name);
        read_interval_flashes(file, where, m.meta);
        read_blocks(m.f, name);
    } catch (const hdf5_error& e) {
        throw usage_error(where +
                          ": cannot be read as a checkpoint (truncated or corrupt?): " + e.what());
    }
}

checkpoint_reader::~checkpoint_reader() = default;
const checkpoint_meta& checkpoint_reader::meta() const noexcept {
    return impl_->meta;
}
const checkpoint_layout& checkpoint_reader::layout() const noexcept {
    return impl_->f.layout;
}
std::int64_t checkpoint_reader::width() const noexcept {
    return impl_->f.layout.width;
}
std::int64_t checkpoint_reader::height() const noexcept {
    return impl_->f.layout.height;
}

restored_block checkpoint_reader::read_block(const block& b) const {
    restored_block out;
    try {
        if (std::string p = read_block_data(impl_->f, H5P_DEFAULT, H5P_DEFAULT, b, true, out);
            !p.empty())
            out.problem = impl_->f.where + ": " + p;
    } catch (const error& e) {
        out.problem = impl_->f.where + ": cannot be read (corrupt checkpoint?): " + e.what();
    } catch (const std::bad_alloc&) {
        out.problem =
            impl_->f.where + ": its in-flight flashes do not fit in memory (corrupt checkpoint?)";
    }
    return out;
}

} // namespace fireflies::output
