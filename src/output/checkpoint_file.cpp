#include "output/checkpoint_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fireflies/error.hpp"
#include "fireflies/version.hpp"
#include "output/durable.hpp"
#include "output/h5.hpp"

namespace fireflies::output {

namespace {

constexpr const char* format_name = "fireflies checkpoint";

// The file starts with a 512-byte HDF5 user block that holds a checksum of everything after it,
// written last: a truncated or damaged file is refused before HDF5 parses a byte of it (HDF5
// itself can crash or hang on a corrupt file).
constexpr std::size_t user_block = 512;
constexpr char seal_magic[24] = "FIREFLIES-CHECKPOINT-1\n";

struct seal {
    char magic[24];
    char version[24];    // the program that wrote it, NUL-padded
    std::uint64_t bytes; // after the user block
    std::uint64_t hash;
};

std::uint64_t hash_file(std::FILE* f, std::uint64_t& bytes) {
    std::uint64_t h = 0x243F6A8885A308D3ull;
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    bytes = 0;
    for (;;) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), f);
        for (std::size_t i = 0; i < n; i += 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, buffer.data() + i, std::min<std::size_t>(8, n - i));
            h = (h ^ w) * 0x9E3779B97F4A7C15ull;
            h ^= h >> 29;
        }
        bytes += n;
        if (n < buffer.size()) break;
    }
    return h ^ bytes;
}

void write_seal(const std::filesystem::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "r+b");
    if (!f) throw io_error("open(" + p.string() + ") failed: " + std::strerror(errno));
    seal s{};
    std::memcpy(s.magic, seal_magic, sizeof s.magic);
    std::memcpy(s.version, version().data(), std::min(version().size(), sizeof s.version - 1));
    std::fseek(f, static_cast<long>(user_block), SEEK_SET);
    s.hash = hash_file(f, s.bytes);
    std::fseek(f, 0, SEEK_SET);
    const bool ok = std::fwrite(&s, sizeof s, 1, f) == 1 && std::fflush(f) == 0;
    const int err = errno;
    std::fclose(f);
    if (!ok) throw io_error("writing the checksum of " + p.string() + " failed: " + std::strerror(err));
}

// Empty when the file's checksum holds, else what is wrong.
std::string check_seal(const std::filesystem::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) return std::string("cannot be opened: ") + std::strerror(errno);
    seal s{};
    std::string problem;
    if (std::fread(&s, sizeof s, 1, f) != 1 || std::memcmp(s.magic, seal_magic, sizeof s.magic) != 0) {
        problem = "not a fireflies checkpoint (no checksum seal)";
    } else if (std::string written_by(s.version, strnlen(s.version, sizeof s.version)); written_by != version()) {
        problem = "written by fireflies " + written_by + ", this is fireflies " + std::string(version()) +
                  "; restart it with that version";
    } else {
        std::uint64_t bytes = 0;
        std::fseek(f, static_cast<long>(user_block), SEEK_SET);
        const std::uint64_t hash = hash_file(f, bytes);
        if (bytes != s.bytes)
            problem = "truncated or extended: " + std::to_string(bytes) + " bytes where the checkpoint wrote " +
                      std::to_string(s.bytes);
        else if (hash != s.hash)
            problem = "corrupt: its checksum does not match";
    }
    std::fclose(f);
    return problem;
}
constexpr std::int64_t format_version = 3; // 3: /hub/interval_flash_t

// The per-firefly fields, each a [height, width] int64 dataset under /state.
constexpr std::array<const char*, 4> fields{"flash_at", "last_flash", "draws", "queued"};

std::int64_t field_of(const block_state& b, std::size_t field, std::size_t i) {
    const firefly& f = b.fireflies[i];
    switch (field) {
    case 0: return f.flash_at;
    case 1: return f.last_flash;
    case 2: return f.draws;
    default: return f.queued;
    }
}

void set_field(block_state& b, std::size_t field, std::size_t i, std::int64_t v) {
    firefly& f = b.fireflies[i];
    switch (field) {
    case 0: f.flash_at = v; break;
    case 1: f.last_flash = v; break;
    case 2: f.draws = static_cast<std::uint32_t>(v); break;
    default: f.queued = static_cast<std::uint32_t>(v); break;
    }
}

h5::dataspace block_selection(hid_t dset, const block& b, const std::string& path) {
    h5::dataspace space(h5::check_id(H5Dget_space(dset), "H5Dget_space", path));
    const std::array<hsize_t, 2> start{static_cast<hsize_t>(b.y0), static_cast<hsize_t>(b.x0)};
    const std::array<hsize_t, 2> count{static_cast<hsize_t>(b.height), static_cast<hsize_t>(b.width)};
    h5::check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
              "H5Sselect_hyperslab", path);
    return space;
}

std::int64_t read_int_attr(hid_t file, const char* name, const std::string& where) {
    h5::attribute a(h5::check_id(H5Aopen(file, name, H5P_DEFAULT), "H5Aopen", where + " attribute " + name));
    std::int64_t v = 0;
    h5::check(H5Aread(a.get(), H5T_NATIVE_INT64, &v), "H5Aread", where + " attribute " + name);
    return v;
}

std::string read_string_attr(hid_t file, const char* name, const std::string& where) {
    h5::attribute a(h5::check_id(H5Aopen(file, name, H5P_DEFAULT), "H5Aopen", where + " attribute " + name));
    const h5::datatype type = h5::make_string_type(where);
    char* text = nullptr;
    h5::check(H5Aread(a.get(), type.get(), &text), "H5Aread", where + " attribute " + name);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
}

} // namespace

struct checkpoint_writer::impl {
    std::filesystem::path path, temporary;
    h5::file file;
    std::array<h5::dataset, fields.size()> datasets;
    std::vector<flash_event> in_flight;
    std::int64_t width = 0, height = 0;
    bool committed = false;
};

checkpoint_writer::checkpoint_writer(const std::filesystem::path& path, std::int64_t width, std::int64_t height)
    : impl_(std::make_unique<impl>()) {
    h5::init_library();
    impl& m = *impl_;
    m.path = path;
    m.width = width;
    m.height = height;
    m.temporary = path.parent_path() / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
    const std::string name = m.temporary.string();
    const h5::plist fcpl = h5::make_plist(H5P_FILE_CREATE, name);
    h5::check(H5Pset_userblock(fcpl.get(), user_block), "H5Pset_userblock", name);
    m.file = h5::file(h5::check_id(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), "H5Fcreate", name));
    const std::vector<hsize_t> dims{static_cast<hsize_t>(height), static_cast<hsize_t>(width)};
    const h5::dataspace space = h5::make_space(dims, name);
    const h5::plist dcpl = h5::make_plist(H5P_DATASET_CREATE, name);
    const std::array<hsize_t, 2> chunk{std::min<hsize_t>(dims[0], 64), std::min<hsize_t>(dims[1], 4096)};
    h5::check(H5Pset_chunk(dcpl.get(), 2, chunk.data()), "H5Pset_chunk", name);
    h5::check(H5Pset_fletcher32(dcpl.get()), "H5Pset_fletcher32", name); // detects corruption
    h5::check(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle", name);
    h5::check(H5Pset_deflate(dcpl.get(), 1), "H5Pset_deflate", name);
    const h5::plist lcpl = h5::make_intermediate_lcpl(name);
    for (std::size_t f = 0; f < fields.size(); ++f) {
        const std::string p = std::string("/state/") + fields[f];
        m.datasets[f] = h5::dataset(h5::check_id(
            H5Dcreate2(m.file.get(), p.c_str(), H5T_STD_I64LE, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
            "H5Dcreate2", p));
    }
}

checkpoint_writer::~checkpoint_writer() {
    if (impl_ && !impl_->committed) {
        for (auto& d : impl_->datasets) d.reset();
        impl_->file.reset();
        std::error_code ec;
        std::filesystem::remove(impl_->temporary, ec);
    }
}

void checkpoint_writer::write_block(const block_state& b) {
    impl& m = *impl_;
    const auto n = b.fireflies.size();
    std::vector<std::int64_t> values(n);
    const std::vector<hsize_t> count{static_cast<hsize_t>(b.cells.height), static_cast<hsize_t>(b.cells.width)};
    for (std::size_t f = 0; f < fields.size(); ++f) {
        const std::string p = std::string("/state/") + fields[f];
        for (std::size_t i = 0; i < n; ++i) values[i] = field_of(b, f, i);
        const h5::dataspace file_space = block_selection(m.datasets[f].get(), b.cells, p);
        const h5::dataspace mem = h5::make_space(count, p);
        h5::check(H5Dwrite(m.datasets[f].get(), H5T_NATIVE_INT64, mem.get(), file_space.get(), H5P_DEFAULT, values.data()),
                  "H5Dwrite", p);
    }
    m.in_flight.insert(m.in_flight.end(), b.in_flight.begin(), b.in_flight.end());
}

void checkpoint_writer::commit(const checkpoint_meta& meta) {
    impl& m = *impl_;
    const std::string name = m.temporary.string();
    std::sort(m.in_flight.begin(), m.in_flight.end());
    std::vector<std::int64_t> t, agent;
    for (const auto& ev : m.in_flight) {
        t.push_back(ev.t);
        agent.push_back(static_cast<std::int64_t>(ev.agent));
    }
    h5::write_dataset(m.file.get(), "/in_flight/t", H5T_STD_I64LE, H5T_NATIVE_INT64, t.data(), t.size(), {t.size()},
                      "ns", "flash time", "flashes of the last epoch, whose pulses arrive after the checkpoint");
    h5::write_dataset(m.file.get(), "/in_flight/agent", H5T_STD_I64LE, H5T_NATIVE_INT64, agent.data(), agent.size(),
                      {agent.size()}, "1", "firefly", "firefly of each in-flight flash, y * width + x");
    std::vector<std::int64_t> pending(meta.interval_flash_times.begin(), meta.interval_flash_times.end());
    h5::write_dataset(m.file.get(), "/hub/interval_flash_t", H5T_STD_I64LE, H5T_NATIVE_INT64, pending.data(),
                      pending.size(), {pending.size()}, "ns", "flash time",
                      "flashes after the last sample, for the largest volley of the sample in progress");
    const hid_t root = m.file.get();
    h5::set_attribute(root, "/", "format", std::string(format_name));
    h5::set_attribute(root, "/", "format_version", format_version);
    h5::set_attribute(root, "/", "fireflies_version", std::string(version()));
    h5::set_attribute(root, "/", "width", m.width);
    h5::set_attribute(root, "/", "height", m.height);
    h5::set_attribute(root, "/", "config", meta.config_toml);
    h5::set_attribute(root, "/", "epoch", meta.epoch);
    h5::set_attribute(root, "/", "next_sample", meta.next_sample);
    h5::set_attribute(root, "/", "interval_flashes", meta.interval_flashes);
    h5::set_attribute(root, "/", "flashes_so_far", meta.flashes_so_far);
    h5::set_attribute(root, "/", "flashes_emitted", meta.flashes_emitted);
    h5::set_attribute(root, "/", "flashes_received", meta.flashes_received);
    h5::set_attribute(root, "/", "pulses_sent", meta.pulses_sent);
    h5::set_attribute(root, "/", "pulses_delivered", meta.pulses_delivered);
    h5::set_attribute(root, "/", "flashes_recorded", meta.flashes_recorded);
    h5::set_attribute(root, "/", "snapshots", meta.snapshots);
    h5::set_attribute(root, "/", "segment", meta.segment);
    for (auto& d : m.datasets) d.close("H5Dclose", name);
    m.file.close("H5Fclose", name);
    write_seal(m.temporary);
    fsync_path(m.temporary, false);
    std::error_code ec;
    std::filesystem::rename(m.temporary, m.path, ec);
    if (ec) throw io_error("rename(" + name + ", " + m.path.string() + ") failed: " + ec.message());
    m.committed = true;
    fsync_path(m.path.parent_path().empty() ? "." : m.path.parent_path(), true);
}

struct checkpoint_reader::impl {
    std::filesystem::path path;
    h5::file file;
    checkpoint_meta meta;
    std::int64_t width = 0, height = 0;
    std::vector<flash_event> in_flight;
};

bool is_checkpoint(const std::filesystem::path& path) noexcept {
    try {
        h5::init_library();
        const std::string name = path.string();
        if (H5Fis_hdf5(name.c_str()) <= 0) return false;
        h5::file f(h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", name));
        return H5Aexists(f.get(), "format") > 0 && read_string_attr(f.get(), "format", name) == format_name;
    } catch (...) {
        return false;
    }
}

checkpoint_reader::checkpoint_reader(const std::filesystem::path& path) : impl_(std::make_unique<impl>()) {
    h5::init_library();
    impl& m = *impl_;
    m.path = path;
    const std::string name = path.string();
    const std::string where = "--restart " + name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw usage_error(where + ": no such file");
    if (const std::string problem = check_seal(path); !problem.empty()) throw usage_error(where + ": " + problem);
    try {
        m.file = h5::file(h5::check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", name));
        if (H5Aexists(m.file.get(), "format") <= 0 || read_string_attr(m.file.get(), "format", name) != format_name)
            throw usage_error(where + ": not a fireflies checkpoint");
        if (read_int_attr(m.file.get(), "format_version", name) != format_version)
            throw usage_error(where + ": checkpoint format version " +
                              std::to_string(read_int_attr(m.file.get(), "format_version", name)) +
                              " is not the supported " + std::to_string(format_version));
        const std::string written_by = read_string_attr(m.file.get(), "fireflies_version", name);
        if (written_by != version())
            throw usage_error(where + ": written by fireflies " + written_by + ", this is fireflies " +
                              std::string(version()) + "; restart it with that version");
        m.width = read_int_attr(m.file.get(), "width", name);
        m.height = read_int_attr(m.file.get(), "height", name);
        if (m.width < 1 || m.height < 1 || m.width > (std::int64_t{1} << 31) || m.height > (std::int64_t{1} << 31) ||
            m.width > (std::int64_t{1} << 53) / m.height)
            throw usage_error(where + ": grid size " + std::to_string(m.width) + " x " + std::to_string(m.height) +
                              " is out of range (corrupt checkpoint)");
        auto& c = m.meta;
        c.config_toml = read_string_attr(m.file.get(), "config", name);
        c.epoch = read_int_attr(m.file.get(), "epoch", name);
        c.next_sample = read_int_attr(m.file.get(), "next_sample", name);
        c.interval_flashes = read_int_attr(m.file.get(), "interval_flashes", name);
        c.flashes_so_far = read_int_attr(m.file.get(), "flashes_so_far", name);
        c.flashes_emitted = read_int_attr(m.file.get(), "flashes_emitted", name);
        c.flashes_received = read_int_attr(m.file.get(), "flashes_received", name);
        c.pulses_sent = read_int_attr(m.file.get(), "pulses_sent", name);
        c.pulses_delivered = read_int_attr(m.file.get(), "pulses_delivered", name);
        c.flashes_recorded = read_int_attr(m.file.get(), "flashes_recorded", name);
        c.snapshots = read_int_attr(m.file.get(), "snapshots", name);
        c.segment = read_int_attr(m.file.get(), "segment", name);
        for (const char* f : fields) {
            const std::string p = std::string("/state/") + f;
            h5::dataset d(h5::check_id(H5Dopen2(m.file.get(), p.c_str(), H5P_DEFAULT), "H5Dopen2", p));
            h5::dataspace s(h5::check_id(H5Dget_space(d.get()), "H5Dget_space", p));
            hsize_t dims[2] = {0, 0};
            if (H5Sget_simple_extent_ndims(s.get()) != 2 || H5Sget_simple_extent_dims(s.get(), dims, nullptr) != 2 ||
                dims[0] != static_cast<hsize_t>(m.height) || dims[1] != static_cast<hsize_t>(m.width))
                throw usage_error(where + ": dataset " + p + " does not match the grid (corrupt checkpoint)");
        }
        std::vector<std::int64_t> t, agent;
        for (auto [p, out] : {std::pair{"/in_flight/t", &t}, std::pair{"/in_flight/agent", &agent}}) {
            h5::dataset d(h5::check_id(H5Dopen2(m.file.get(), p, H5P_DEFAULT), "H5Dopen2", p));
            h5::dataspace s(h5::check_id(H5Dget_space(d.get()), "H5Dget_space", p));
            const hssize_t points = H5Sget_simple_extent_npoints(s.get());
            if (points < 0 || points > 16 * m.width * m.height + 1024)
                throw usage_error(where + ": dataset " + p + " has an impossible size (corrupt checkpoint)");
            out->resize(static_cast<std::size_t>(points));
            if (!out->empty())
                h5::check(H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()), "H5Dread", p);
        }
        if (t.size() != agent.size()) throw usage_error(where + ": in-flight datasets differ in length (corrupt checkpoint)");
        {
            const char* p = "/hub/interval_flash_t";
            h5::dataset d(h5::check_id(H5Dopen2(m.file.get(), p, H5P_DEFAULT), "H5Dopen2", p));
            h5::dataspace s(h5::check_id(H5Dget_space(d.get()), "H5Dget_space", p));
            const hssize_t points = H5Sget_simple_extent_npoints(s.get());
            // The interval's flashes, or none (summary telemetry sends the hub no flashes).
            if (points < 0 || (points != 0 && points != c.interval_flashes))
                throw usage_error(where + ": dataset " + p + " holds " + std::to_string(points) +
                                  " flash times, not the interval's " + std::to_string(c.interval_flashes) +
                                  " (corrupt checkpoint)");
            c.interval_flash_times.resize(static_cast<std::size_t>(points));
            if (points > 0)
                h5::check(H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                  c.interval_flash_times.data()),
                          "H5Dread", p);
        }
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (agent[i] < 0 || agent[i] >= m.width * m.height)
                throw usage_error(where + ": in-flight flash of a firefly outside the grid (corrupt checkpoint)");
            m.in_flight.push_back({t[i], static_cast<std::uint64_t>(agent[i])});
        }
    } catch (const hdf5_error& e) {
        throw usage_error(where + ": cannot be read as a checkpoint (truncated or corrupt?): " + e.what());
    }
}

checkpoint_reader::~checkpoint_reader() = default;
const checkpoint_meta& checkpoint_reader::meta() const noexcept { return impl_->meta; }
std::int64_t checkpoint_reader::width() const noexcept { return impl_->width; }
std::int64_t checkpoint_reader::height() const noexcept { return impl_->height; }

void checkpoint_reader::verify() const {
    const std::int64_t band = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / std::max<std::int64_t>(1, width()));
    for (std::int64_t y0 = 0; y0 < height(); y0 += band)
        (void)read_block({0, y0, width(), std::min(band, height() - y0)});
}

block_state checkpoint_reader::read_block(const block& b) const {
    const impl& m = *impl_;
    block_state out;
    out.cells = b;
    const auto n = static_cast<std::size_t>(b.cells());
    out.fireflies.resize(n);
    std::vector<std::int64_t> values(n);
    const std::vector<hsize_t> count{static_cast<hsize_t>(b.height), static_cast<hsize_t>(b.width)};
    for (std::size_t f = 0; f < fields.size(); ++f) {
        const std::string p = std::string("/state/") + fields[f];
        try {
            h5::dataset d(h5::check_id(H5Dopen2(m.file.get(), p.c_str(), H5P_DEFAULT), "H5Dopen2", p));
            const h5::dataspace file_space = block_selection(d.get(), b, p);
            const h5::dataspace mem = h5::make_space(count, p);
            h5::check(H5Dread(d.get(), H5T_NATIVE_INT64, mem.get(), file_space.get(), H5P_DEFAULT, values.data()),
                      "H5Dread", p);
        } catch (const hdf5_error& e) {
            throw usage_error("--restart " + m.path.string() + ": " + p + " cannot be read (corrupt checkpoint?): " +
                              e.what());
        }
        for (std::size_t i = 0; i < n; ++i) set_field(out, f, i, values[i]);
    }
    out.in_flight = m.in_flight;
    return out;
}

} // namespace fireflies::output
