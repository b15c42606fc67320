#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "fireflies/error.hpp"
#include "fireflies/output.hpp"
#include "output/durable.hpp"
#include "output/h5.hpp"

namespace fireflies::output {

namespace {

constexpr unsigned deflate_level = 4; // zlib's sweet spot: most of level 9's ratio, fast

struct type_info {
    hid_t file_type;
    hid_t mem_type;
    std::size_t bytes;
};

type_info info_of(element_type t) {
    switch (t) {
    case element_type::f64:
        return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, sizeof(double)};
    case element_type::i64:
        return {H5T_STD_I64LE, H5T_NATIVE_INT64, sizeof(std::int64_t)};
    case element_type::f32:
        return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, sizeof(float)};
    }
    throw std::invalid_argument("unknown element_type");
}

const char* name_of(element_type t) {
    switch (t) {
    case element_type::f64:
        return "f64";
    case element_type::i64:
        return "i64";
    case element_type::f32:
        return "f32";
    }
    return "?";
}

/// File access: the 1.10 file format (SWMR needs it; v110 as the low bound keeps files
/// readable by every HDF5 1.10 even when built against a newer library), and H5Fclose fails
/// (rather than leaving the file open) while any object of it is still open.
h5::plist make_fapl(std::string_view file) {
    h5::plist fapl = h5::make_plist(H5P_FILE_ACCESS, file);
    h5::check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_LATEST),
              "H5Pset_libver_bounds", file);
    h5::check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI), "H5Pset_fclose_degree", file);
    return fapl;
}

void check_before_swmr(bool swmr, bool finished, const char* what) {
    if (finished) throw std::logic_error(std::string("run_file::") + what + " after finish()");
    if (swmr)
        throw std::logic_error(std::string("run_file::") + what +
                               " after start_swmr(): create everything before, or add it in "
                               "finish()");
}

} // namespace

// ---------------------------------------------------------------------------------------------
// series

struct series::state {
    std::string path;
    element_type type;
    std::vector<std::uint64_t> frame_shape;
    type_info info;
    std::size_t frame_elements = 1;
    std::size_t frame_bytes = 0;
    std::uint64_t chunk_frames = 1;
    h5::dataset dset;
    std::vector<std::byte> buffer; // frames appended but not written yet
    std::uint64_t buffered = 0;
    std::uint64_t written = 0; // frames in the dataset
    bool closed = false;       // after finish(): no more appends

    /// Grows the dataset by the buffered frames and writes them.
    void write_buffer() {
        if (buffered == 0) return;
        std::vector<hsize_t> dims{written + buffered};
        dims.insert(dims.end(), frame_shape.begin(), frame_shape.end());
        h5::check(H5Dset_extent(dset.get(), dims.data()), "H5Dset_extent", path);

        const h5::dataspace file_space(
            h5::check_id(H5Dget_space(dset.get()), "H5Dget_space", path));
        std::vector<hsize_t> start(dims.size(), 0), count(dims);
        start[0] = written;
        count[0] = buffered;
        h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                      count.data(), nullptr),
                  "H5Sselect_hyperslab", path);
        const h5::dataspace mem_space = h5::make_space(count, path);
        h5::check(H5Dwrite(dset.get(), info.mem_type, mem_space.get(), file_space.get(),
                           H5P_DEFAULT, buffer.data()),
                  "H5Dwrite", path);
        written += buffered;
        buffered = 0;
        buffer.clear();
    }

    void flush() {
        write_buffer();
        h5::check(H5Dflush(dset.get()), "H5Dflush", path);
    }

    void require(element_type t, std::size_t values) const {
        if (t != type)
            throw std::invalid_argument("series " + path + " holds " + name_of(type) + ", not " +
                                        name_of(t));
        if (values % frame_elements != 0)
            throw std::invalid_argument("series " + path + ": " + std::to_string(values) +
                                        " values are not whole frames of " +
                                        std::to_string(frame_elements));
    }
};

series::series(std::unique_ptr<state> s) : state_(std::move(s)) {}
series::~series() = default;

void series::append(const void* data, std::uint64_t frames) {
    state& s = *state_;
    if (s.closed) throw std::logic_error("series " + s.path + ": append after finish()");
    if (frames == 0) return;
    const auto* bytes = static_cast<const std::byte*>(data);
    s.buffer.insert(s.buffer.end(), bytes, bytes + frames * s.frame_bytes);
    s.buffered += frames;
    // Write once the buffer reaches the end of the dataset's current chunk, so that writes
    // stay chunk-aligned after a flush() of a partial chunk.
    if (s.buffered >= s.chunk_frames - s.written % s.chunk_frames) s.write_buffer();
}

void series::append(double value) {
    state_->require(element_type::f64, 1);
    append(&value, 1);
}

void series::append(float value) {
    state_->require(element_type::f32, 1);
    append(&value, 1);
}

void series::append(std::int64_t value) {
    state_->require(element_type::i64, 1);
    append(&value, 1);
}

void series::append(std::span<const double> values) {
    state_->require(element_type::f64, values.size());
    append(values.data(), values.size() / state_->frame_elements);
}

void series::append(std::span<const float> values) {
    state_->require(element_type::f32, values.size());
    append(values.data(), values.size() / state_->frame_elements);
}

void series::append(std::span<const std::int64_t> values) {
    state_->require(element_type::i64, values.size());
    append(values.data(), values.size() / state_->frame_elements);
}

std::uint64_t series::size() const noexcept {
    return state_->written + state_->buffered;
}
const std::string& series::path() const noexcept {
    return state_->path;
}
element_type series::type() const noexcept {
    return state_->type;
}
const std::vector<std::uint64_t>& series::frame_shape() const noexcept {
    return state_->frame_shape;
}

// ---------------------------------------------------------------------------------------------
// file_writer, finisher

void file_writer::set_attribute(const std::string& object_path, const std::string& name,
                                const attribute_value& value) {
    const h5::object obj = h5::open_or_create_object(file_for("set_attribute"), object_path);
    h5::set_attribute(obj.get(), object_path, name, value);
}

void file_writer::write_dataset(const std::string& path, std::span<const double> data,
                                const std::vector<std::uint64_t>& shape, const std::string& units,
                                const std::string& long_name, const std::string& description) {
    h5::write_dataset(file_for("write_dataset"), path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                      data.data(), data.size(), shape, units, long_name, description);
}

void file_writer::write_dataset(const std::string& path, std::span<const std::int64_t> data,
                                const std::vector<std::uint64_t>& shape, const std::string& units,
                                const std::string& long_name, const std::string& description) {
    h5::write_dataset(file_for("write_dataset"), path, H5T_STD_I64LE, H5T_NATIVE_INT64, data.data(),
                      data.size(), shape, units, long_name, description);
}

void file_writer::write_dataset(const std::string& path, std::span<const double> data,
                                const std::string& units, const std::string& long_name,
                                const std::string& description) {
    write_dataset(path, data, {data.size()}, units, long_name, description);
}

void file_writer::write_dataset(const std::string& path, std::span<const std::int64_t> data,
                                const std::string& units, const std::string& long_name,
                                const std::string& description) {
    write_dataset(path, data, {data.size()}, units, long_name, description);
}

void file_writer::write_string(const std::string& path, const std::string& text,
                               const std::string& description) {
    h5::write_string(file_for("write_string"), path, text, description);
}

void file_writer::set_dimensions(const std::string& path, const std::vector<std::string>& scales) {
    h5::set_dimensions(file_for("set_dimensions"), path, scales);
}

std::vector<double> finisher::read_float64(const std::string& path) const {
    return h5::read_all<double>(file_id_, path, H5T_NATIVE_DOUBLE);
}

// ---------------------------------------------------------------------------------------------
// run_file

struct run_file::impl {
    std::filesystem::path path;          // where the file ends up
    std::filesystem::path being_written; // path, or a temporary sibling renamed by finish()
    std::string name;                    // being_written as text, for error messages
    h5::file file;
    std::vector<std::unique_ptr<series>> all_series;
    /// netCDF dimensions without values that are as long as a series (create_dimension).
    struct dimension {
        std::string path;
        h5::dataset dset;
        const series* length_of;
    };
    std::vector<dimension> dimensions;
    bool swmr = false;
    bool finished = false;

    ~impl() { close_quietly(); }

    /// The destructor's path: write what can be written, close everything, never throw.
    void close_quietly() noexcept {
        if (finished) return;
        finished = true;
        for (auto& s : all_series) {
            try {
                if (s->state_->dset) s->state_->flush();
            } catch (...) {
                // Nothing to do: the destructor must not throw, and the file keeps what was
                // flushed before.
            }
            s->state_->dset.reset();
            s->state_->closed = true;
        }
        for (auto& d : dimensions) {
            try {
                if (d.dset) extend(d, false); // closing the file flushes it
            } catch (...) {
                // As above: the file keeps the length of the last flush.
            }
            d.dset.reset();
        }
        file.reset();
    }

    /// A dimension of create_dimension(path, series) made as long as its series; with `flush`,
    /// visible so to SWMR readers.
    static void extend(dimension& d, bool flush) {
        const hsize_t length = d.length_of->size();
        h5::check(H5Dset_extent(d.dset.get(), &length), "H5Dset_extent", d.path);
        if (flush) h5::check(H5Dflush(d.dset.get()), "H5Dflush", d.path);
    }

    void flush() {
        for (auto& s : all_series)
            s->state_->flush();
        for (auto& d : dimensions)
            extend(d, true);
        // H5Dflush leaves the superblock's end-of-file address (and, outside SWMR mode, group and
        // attribute metadata) in memory: without H5Fflush a file left by a crash reads only
        // with SWMR_READ, with it `h5clear -s` makes it an ordinary file again.
        h5::check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "H5Fflush", name);
    }
};

run_file::run_file(const std::filesystem::path& path, bool force)
    : impl_(std::make_unique<impl>()) {
    h5::init_library();
    impl& m = *impl_;
    m.path = path;
    m.being_written = path;
    std::error_code ec;
    const bool replace = force && std::filesystem::exists(path, ec);
    if (replace) {
        // .NAME.tmp.PID beside the old file: same filesystem, so the final rename is atomic.
        m.being_written = path.parent_path() /
                          ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
    }
    m.name = m.being_written.string();
    const h5::plist fapl = make_fapl(m.name);
    // Without force, H5F_ACC_EXCL: an existing file is an error and is never touched.
    const unsigned flags = force ? H5F_ACC_TRUNC : H5F_ACC_EXCL;
    m.file = h5::file(h5::check_id(H5Fcreate(m.name.c_str(), flags, H5P_DEFAULT, fapl.get()),
                                   "H5Fcreate", m.name));
}

run_file::run_file() : impl_(std::make_unique<impl>()) {}

run_file run_file::reopen(const std::filesystem::path& path) {
    h5::init_library();
    run_file f;
    impl& m = *f.impl_;
    m.path = m.being_written = path;
    m.name = path.string();
    const h5::plist fapl = make_fapl(m.name);
    // A run killed while writing (SIGKILL, node failure) leaves the file marked "open for SWMR
    // write"; its writer is gone, so clear the mark as `h5clear -s` does. Up to the last flush
    // (every checkpoint flushes) the file is intact.
    hbool_t clear = true;
    h5::check(H5Pset(fapl.get(), "clear_status_flags", &clear), "H5Pset(clear_status_flags)",
              m.name);
    m.file = h5::file(
        h5::check_id(H5Fopen(m.name.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen", m.name));
    return f;
}

series& run_file::continue_series(const std::string& path, std::uint64_t keep_frames) {
    check_before_swmr(impl_->swmr, impl_->finished, "continue_series");
    auto s = std::make_unique<series::state>();
    s->path = path;
    s->dset = h5::dataset(
        h5::check_id(H5Dopen2(impl_->file.get(), path.c_str(), H5P_DEFAULT), "H5Dopen2", path));
    const h5::datatype type(h5::check_id(H5Dget_type(s->dset.get()), "H5Dget_type", path));
    const H5T_class_t cls = H5Tget_class(type.get());
    const std::size_t bytes = H5Tget_size(type.get());
    if (cls == H5T_FLOAT && bytes == 8)
        s->type = element_type::f64;
    else if (cls == H5T_FLOAT && bytes == 4)
        s->type = element_type::f32;
    else if (cls == H5T_INTEGER && bytes == 8)
        s->type = element_type::i64;
    else
        throw hdf5_error("series " + path + " has an element type this program does not write");
    s->info = info_of(s->type);
    const h5::dataspace space(h5::check_id(H5Dget_space(s->dset.get()), "H5Dget_space", path));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 1) throw hdf5_error("series " + path + " is not an extendible dataset");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    if (dims[0] < keep_frames)
        throw io_error("series " + path + " holds " + std::to_string(dims[0]) +
                       " frames, fewer than the " + std::to_string(keep_frames) +
                       " the checkpoint recorded");
    for (std::size_t i = 1; i < dims.size(); ++i) {
        s->frame_shape.push_back(dims[i]);
        s->frame_elements *= dims[i];
    }
    s->frame_bytes = s->frame_elements * s->info.bytes;
    const h5::plist dcpl(
        h5::check_id(H5Dget_create_plist(s->dset.get()), "H5Dget_create_plist", path));
    std::vector<hsize_t> chunk(dims.size());
    h5::check(H5Pget_chunk(dcpl.get(), rank, chunk.data()) < 0 ? -1 : 0, "H5Pget_chunk", path);
    s->chunk_frames = chunk[0];
    dims[0] = keep_frames;
    h5::check(H5Dset_extent(s->dset.get(), dims.data()), "H5Dset_extent", path);
    s->written = keep_frames;
    impl_->all_series.push_back(std::unique_ptr<series>(new series(std::move(s))));
    return *impl_->all_series.back();
}

bool run_file::has(const std::string& path) const {
    return H5Lexists(impl_->file.get(), path.c_str(), H5P_DEFAULT) > 0;
}

void run_file::move(const std::string& from, const std::string& to) {
    check_before_swmr(impl_->swmr, impl_->finished, "move");
    const h5::plist lcpl = h5::make_intermediate_lcpl(to);
    h5::check(H5Lmove(impl_->file.get(), from.c_str(), impl_->file.get(), to.c_str(), lcpl.get(),
                      H5P_DEFAULT),
              "H5Lmove", from + " -> " + to);
}

std::vector<std::int64_t> run_file::read_int64(const std::string& path) const {
    return h5::read_all<std::int64_t>(impl_->file.get(), path, H5T_NATIVE_INT64);
}

std::vector<double> run_file::read_float64(const std::string& path) const {
    return h5::read_all<double>(impl_->file.get(), path, H5T_NATIVE_DOUBLE);
}

run_file::run_file(run_file&&) noexcept = default;
run_file& run_file::operator=(run_file&&) noexcept = default;
run_file::~run_file() = default;

const std::filesystem::path& run_file::path() const noexcept {
    return impl_->path;
}
const std::filesystem::path& run_file::path_being_written() const noexcept {
    return impl_->being_written;
}
bool run_file::swmr() const noexcept {
    return impl_->swmr;
}
bool run_file::finished() const noexcept {
    return impl_->finished;
}

std::int64_t run_file::file_for(const char* call) const {
    check_before_swmr(impl_->swmr, impl_->finished, call);
    return impl_->file.get();
}

series& run_file::create_series(const std::string& path, element_type type,
                                std::vector<std::uint64_t> frame_shape, const std::string& units,
                                const std::string& long_name, const std::string& description,
                                std::uint64_t chunk_frames) {
    check_before_swmr(impl_->swmr, impl_->finished, "create_series");
    auto s = std::make_unique<series::state>();
    s->path = path;
    s->type = type;
    s->info = info_of(type);
    s->chunk_frames = chunk_frames;
    for (const std::uint64_t n : frame_shape) {
        if (n == 0) throw std::invalid_argument("series " + path + ": a frame dimension is 0");
        s->frame_elements *= n;
    }
    s->frame_shape = std::move(frame_shape);
    s->frame_bytes = s->frame_elements * s->info.bytes;
    if (chunk_frames == 0) throw std::invalid_argument("series " + path + ": chunk_frames is 0");
    if (chunk_frames * s->frame_bytes >= (std::uint64_t{1} << 32))
        throw std::invalid_argument("series " + path + ": a chunk of " +
                                    std::to_string(chunk_frames) +
                                    " frames exceeds HDF5's 4 GiB chunk limit");

    std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{chunk_frames};
    for (const std::uint64_t n : s->frame_shape) {
        dims.push_back(n);
        max_dims.push_back(n);
        chunk.push_back(n);
    }
    const h5::dataspace space = h5::make_space(dims, max_dims, path);
    const h5::plist dcpl = h5::make_plist(H5P_DATASET_CREATE, path);
    h5::check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()),
              "H5Pset_chunk", path);
    h5::check(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle", path);
    h5::check(H5Pset_deflate(dcpl.get(), deflate_level), "H5Pset_deflate", path);
    const h5::plist lcpl = h5::make_intermediate_lcpl(path);
    s->dset =
        h5::dataset(h5::check_id(H5Dcreate2(impl_->file.get(), path.c_str(), s->info.file_type,
                                            space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                                 "H5Dcreate2", path));
    h5::set_labels(s->dset.get(), path, units, long_name, description);
    impl_->all_series.push_back(std::unique_ptr<series>(new series(std::move(s))));
    return *impl_->all_series.back();
}

void run_file::create_dimension(const std::string& path, std::uint64_t length,
                                const std::string& long_name, const std::string& description) {
    check_before_swmr(impl_->swmr, impl_->finished, "create_dimension");
    if (!has(path))
        h5::create_dimension(impl_->file.get(), path, length, false, long_name, description);
}

void run_file::create_dimension(const std::string& path, const series& length_of,
                                const std::string& long_name, const std::string& description) {
    check_before_swmr(impl_->swmr, impl_->finished, "create_dimension");
    impl::dimension d{path, {}, &length_of};
    if (has(path))
        d.dset = h5::dataset(
            h5::check_id(H5Dopen2(impl_->file.get(), path.c_str(), H5P_DEFAULT), "H5Dopen2", path));
    else
        d.dset = h5::create_dimension(impl_->file.get(), path, length_of.size(), true, long_name,
                                      description);
    impl::extend(d, false); // a reopened file's dimension is cut with its series
    impl_->dimensions.push_back(std::move(d));
}

void run_file::start_swmr() {
    check_before_swmr(impl_->swmr, impl_->finished, "start_swmr");
    h5::check(H5Fstart_swmr_write(impl_->file.get()), "H5Fstart_swmr_write", impl_->name);
    impl_->swmr = true;
}

void run_file::flush() {
    if (impl_->finished) throw std::logic_error("run_file::flush after finish()");
    impl_->flush();
}

void run_file::finish(const std::function<void(finisher&)>& final_writes) {
    impl& m = *impl_;
    if (m.finished) throw std::logic_error("run_file::finish called twice");
    m.flush();
    for (auto& s : m.all_series) {
        s->state_->closed = true;
        s->state_->dset.close("H5Dclose", s->state_->path);
    }
    for (auto& d : m.dimensions)
        d.dset.close("H5Dclose", d.path);
    m.file.close("H5Fclose", m.name);
    m.finished = true; // from here on the destructor has nothing left to close
    m.swmr = false;

    {
        const h5::plist fapl = make_fapl(m.name);
        // A SWMR reader that follows the run holds a lock that would make this open fail; the
        // few final attributes and datasets are added without taking the lock.
        h5::check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking", m.name);
        h5::file file(
            h5::check_id(H5Fopen(m.name.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen", m.name));
        if (final_writes) {
            finisher f(file.get());
            final_writes(f); // if it throws, `file` closes quietly and nothing is renamed
        }
        file.close("H5Fclose", m.name);
    }

    fsync_path(m.being_written, false);
    if (m.being_written != m.path) {
        std::error_code ec;
        std::filesystem::rename(m.being_written, m.path, ec);
        if (ec)
            throw io_error("rename(" + m.being_written.string() + ", " + m.path.string() +
                           ") failed: " + ec.message());
        m.being_written = m.path;
        m.name = m.path.string();
    }
    const std::filesystem::path dir = m.path.parent_path();
    fsync_path(dir.empty() ? std::filesystem::path(".") : dir, true);
}

} // namespace fireflies::output
