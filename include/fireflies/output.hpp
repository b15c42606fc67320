#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// The HDF5 output of a run: one file, written by one process (the hub, rank 0), that readers
/// can follow while it grows (SWMR) and that survives a crash up to its last flush. HDF5 itself
/// (hdf5.h, hid_t, hsize_t) stays inside src/output; sizes here are `std::uint64_t`.
namespace fireflies::output {

/// Starts HDF5 the way this program uses it (no clean-up at exit, no error printing). Call it
/// once, before MPI starts: HDF5's parallel flavour, started while MPI runs, would shut itself
/// down inside MPI_Finalize, closing every file still open, and one whose close already failed
/// (a full disk) crashes it there. Started before MPI, it leaves them at exit, as the serial
/// flavour does. Safe to call again.
void start_hdf5();

/// Checks, before any work is done, that `p` can be written as `--output`: its parent directory
/// exists, is a directory and is writable (access(2) W_OK|X_OK, so root passes a chmod-ed
/// directory but not a read-only mount), `p` is not a directory, and `p` does not exist unless
/// `force` (then it must be a regular file). Throws fireflies::usage_error with one line naming
/// `--output`, the path and the reason. Creates, opens and changes nothing.
void check_output_path(const std::filesystem::path& p, bool force,
                       std::string_view option = "--output");

/// Start phases read from an HDF5 file (--initial-phases, docs/model.md "Initial phases"): every
/// firefly's, row-major ([height, width]), as the file gives them.
struct initial_phases {
    std::vector<double> values; ///< seconds (from /phase), or fractions of the period (a snapshot)
    bool fractions = false;     ///< values are phase / period, from /snapshots/phase
    std::string source;         ///< "/phase", or "/snapshots/phase frame k (t = ... s)"
};

/// Reads `path`: a [height, width] dataset `/phase` (seconds), or else the last frame of
/// `/snapshots/phase` of an earlier fireflies output, which must be unsubsampled (stride 1,
/// [k, height, width]). Checks that every value is finite (the ranges are the caller's). Throws
/// fireflies::usage_error, one line naming `--initial-phases` and the file, on any problem.
initial_phases read_initial_phases(const std::filesystem::path& path, std::int64_t width,
                                   std::int64_t height);

/// The value of an HDF5 attribute: a scalar, a string (variable-length UTF-8) or a 1-D array.
using attribute_value = std::variant<std::int64_t, std::uint64_t, double, std::string,
                                     std::vector<std::int64_t>, std::vector<double>>;

/// Element type of a series, stored little-endian (IEEE for floats).
enum class element_type { f64, i64, f32 };

/// One extendible dataset [n, frame_shape...] of a run_file: frame i is what was appended i-th.
/// Appends are buffered in memory and written when a chunk fills up or on run_file::flush().
/// Owned by its run_file, which hands out references; valid until the run_file is destroyed.
class series {
  public:
    series(const series&) = delete;
    series& operator=(const series&) = delete;
    ~series();

    /// Appends `frames` frames from `data`, which holds frames * (product of frame_shape)
    /// elements of this series' element type, frame after frame (C order).
    void append(const void* data, std::uint64_t frames);
    /// One frame of a scalar series; the type must match (throws std::invalid_argument).
    void append(double value);
    void append(float value);
    void append(std::int64_t value);
    /// Whole frames: values.size() must be a multiple of the frame size.
    void append(std::span<const double> values);
    void append(std::span<const float> values);
    void append(std::span<const std::int64_t> values);

    /// Frames appended so far, written or still buffered.
    std::uint64_t size() const noexcept;
    /// Path of the dataset in the file, e.g. "/timeseries/R".
    const std::string& path() const noexcept;
    element_type type() const noexcept;
    /// Shape of one frame: {} for a scalar series, {ny, nx} for 2-D frames.
    const std::vector<std::uint64_t>& frame_shape() const noexcept;

  private:
    friend class run_file;
    struct state;
    explicit series(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

/// The fixed-size things of a run file: attributes, datasets, strings, dimension names. Written
/// through a run_file before start_swmr(), and through the finisher inside run_file::finish().
/// Groups along the paths are created as needed; "/" is the root group.
class file_writer {
  public:
    /// Sets (or replaces) attribute `name` of the group or dataset `object_path`.
    void set_attribute(const std::string& object_path, const std::string& name,
                       const attribute_value& value);
    /// A fixed-size dataset with the given shape (product == data.size(); {} is a scalar) or,
    /// without a shape, 1-D; it carries string attributes `units`, `long_name` (a short label,
    /// which xarray puts on plot axes) and `description`.
    void write_dataset(const std::string& path, std::span<const double> data,
                       const std::vector<std::uint64_t>& shape, const std::string& units,
                       const std::string& long_name, const std::string& description);
    void write_dataset(const std::string& path, std::span<const std::int64_t> data,
                       const std::vector<std::uint64_t>& shape, const std::string& units,
                       const std::string& long_name, const std::string& description);
    void write_dataset(const std::string& path, std::span<const double> data,
                       const std::string& units, const std::string& long_name,
                       const std::string& description);
    void write_dataset(const std::string& path, std::span<const std::int64_t> data,
                       const std::string& units, const std::string& long_name,
                       const std::string& description);
    /// A scalar string dataset (variable-length UTF-8), e.g. the run's configuration as TOML.
    void write_string(const std::string& path, const std::string& text,
                      const std::string& description);
    /// Names the dimensions of the dataset `path` with HDF5 dimension scales, as netCDF-4 does,
    /// so that netCDF readers (xarray with h5netcdf) label its axes: dimension i is the 1-D
    /// dataset `scales[i]` (a netCDF dimension named by its last path component, whose values
    /// are the coordinate), which becomes a dimension scale if it is not one yet; `path` itself
    /// makes it the coordinate of its own dimension. Scales already attached (a reopened file)
    /// stay as they are.
    void set_dimensions(const std::string& path, const std::vector<std::string>& scales);

  protected:
    file_writer() = default;
    file_writer(const file_writer&) = default;
    file_writer& operator=(const file_writer&) = default;
    ~file_writer() = default;
    /// The open file (an hid_t) for the write `call`; throws when the file takes no such write
    /// now (a run_file after start_swmr()).
    virtual std::int64_t file_for(const char* call) const = 0;
};

/// Adds the last, fixed-size things to a run_file inside run_file::finish() (final phases,
/// totals, wall-clock times), when the file is open read-write again and out of SWMR mode.
class finisher final : public file_writer {
  public:
    /// A whole floating-point dataset, flattened (what the file holds, e.g. from an earlier
    /// segment of a restarted run).
    std::vector<double> read_float64(const std::string& path) const;

  private:
    friend class run_file;
    explicit finisher(std::int64_t file_id) noexcept : file_id_(file_id) {}
    std::int64_t file_for(const char*) const override { return file_id_; }
    std::int64_t file_id_; // an hid_t, open while the finisher lives
};

/// One HDF5 file of a run. Its life:
///   1. construct; set_attribute / write_dataset / write_string / create_series;
///   2. start_swmr(): from now on readers (h5py `File(p, "r", swmr=True)`, or the C API with
///      H5F_ACC_SWMR_READ) can follow the file while it grows; nothing new can be created;
///   3. append to the series, flush() now and then (each flush is a point a reader, or a file
///      left by a crash, sees);
///   4. finish(): closes the SWMR file, reopens it to add the final attributes and datasets,
///      closes, fsyncs and (with `force` over an existing file) renames it into place.
/// The file uses the HDF5 1.10 format (libver bounds v110..latest, which SWMR needs): it is read
/// by HDF5 >= 1.10 and h5py. A file left by a crash after start_swmr() is read with swmr=True
/// (H5F_ACC_SWMR_READ) or after `h5clear -s FILE`; it holds everything flushed until then.
/// Every HDF5 failure becomes fireflies::hdf5_error naming the call and the object, with
/// HDF5's own error message; filesystem failures (fsync, rename) become fireflies::io_error.
class run_file final : public file_writer {
  public:
    /// Creates the file. Without `force` an existing `path` is an error and is left untouched
    /// (H5F_ACC_EXCL). With `force` and an existing `path`, the file is written under a hidden
    /// sibling `.NAME.tmp.PID` and renamed over `path` by finish(), so the old file stays whole
    /// until the new one is complete. Call check_output_path() first for a friendly message.
    run_file(const std::filesystem::path& path, bool force);

    /// Opens the existing run file `path` to continue it after a restart (read-write, not yet
    /// SWMR); continue_series() then picks up its series.
    static run_file reopen(const std::filesystem::path& path);
    /// An existing series of a reopened file, cut to its first `keep_frames` frames (what the
    /// checkpoint had written), so that appends continue without gaps or duplicates.
    series& continue_series(const std::string& path, std::uint64_t keep_frames);
    /// Whether a group or dataset exists at `path`.
    bool has(const std::string& path) const;
    /// Renames a group or dataset (before start_swmr()).
    void move(const std::string& from, const std::string& to);
    /// A whole integer dataset, flattened.
    std::vector<std::int64_t> read_int64(const std::string& path) const;
    /// A whole floating-point dataset, flattened (before start_swmr(): a restart reads the
    /// series an earlier segment wrote).
    std::vector<double> read_float64(const std::string& path) const;
    run_file(run_file&&) noexcept;
    run_file& operator=(run_file&&) noexcept;
    run_file(const run_file&) = delete;
    run_file& operator=(const run_file&) = delete;
    /// Without finish(): flushes what it can and closes the file, quietly (never throws), and
    /// leaves it where it is being written (path_being_written(): the temporary sibling, if
    /// any, which is then not renamed, so an older file at path() stays as it was).
    ~run_file();

    /// Where the file will be when finish() returns.
    const std::filesystem::path& path() const noexcept;
    /// Where the file is now: path(), or its temporary sibling until finish() renames it.
    const std::filesystem::path& path_being_written() const noexcept;

    // set_attribute, write_dataset, write_string, set_dimensions (file_writer): before
    // start_swmr() only (after it they throw std::logic_error).

    /// Creates an extendible dataset [0, frame_shape...] (unlimited first dimension), chunked by
    /// `chunk_frames` frames, shuffle + deflate compressed, with string attributes `units`,
    /// `long_name` and `description`; before start_swmr() only. The reference lives as long as
    /// the run_file.
    series& create_series(const std::string& path, element_type type,
                          std::vector<std::uint64_t> frame_shape, const std::string& units,
                          const std::string& long_name, const std::string& description,
                          std::uint64_t chunk_frames);

    /// A netCDF dimension without coordinate values (as netCDF-C makes them: a dataset whose
    /// values are never stored, which netCDF readers show as a dimension, not a variable),
    /// `length` long; on a reopened file, the existing one. Before start_swmr() only.
    void create_dimension(const std::string& path, std::uint64_t length,
                          const std::string& long_name, const std::string& description);
    /// The same, extendible and as long as `length_of` after every flush() (a reopened file's
    /// existing one is taken over, cut with its series).
    void create_dimension(const std::string& path, const series& length_of,
                          const std::string& long_name, const std::string& description);

    /// Switches the file to SWMR writing (H5Fstart_swmr_write); call once, after every series
    /// and attribute of the running phase has been created.
    void start_swmr();
    /// Writes every buffered frame and flushes every series (H5Dflush), so that SWMR readers,
    /// and a file left by a crash, see all frames appended so far.
    void flush();
    /// Completes the file: flush, close, reopen read-write without SWMR, `final_writes` (may be
    /// empty), close, fsync, rename over path() if writing a temporary sibling, fsync the
    /// directory. Afterwards the file is complete and the run_file takes no more calls. If
    /// `final_writes` throws, the file is closed (not renamed) and the exception passes on.
    void finish(const std::function<void(finisher&)>& final_writes = {});

    bool swmr() const noexcept;
    bool finished() const noexcept;

  private:
    run_file();
    std::int64_t file_for(const char* call) const override;
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// One sample of the convergence time series, taken by the hub every `sample_every` seconds.
struct sample_row {
    double t = 0.0;           ///< simulated time of the sample, s
    double R = 0.0;           ///< order parameter the seed's way (time since last flash)
    double R_state = 0.0;     ///< order parameter of the true phases
    std::int64_t flashes = 0; ///< flashes in (previous sample, t]
    double pulse = 0.0;       ///< flashes so far / number of fireflies (the seed's "Pulse")
    /// most flashes of the interval within one volley window; -1: unknown
    std::int64_t largest_volley = -1;
};

/// The /timeseries group of a run_file: one scalar series per field of sample_row, each with
/// its units and description. Create it before run_file::start_swmr().
class timeseries {
  public:
    /// Creates the six series, or with `continue_after` continues those of a reopened file
    /// after that many samples (a restart). `volley_window` (s) is recorded on largest_volley.
    explicit timeseries(run_file& file, std::uint64_t chunk_frames = 1024,
                        std::optional<std::uint64_t> continue_after = std::nullopt,
                        double volley_window = 0.25);
    void append(const sample_row& row);
    /// Samples appended so far.
    std::uint64_t size() const noexcept { return t_->size(); }

  private:
    series* t_;
    series* R_;
    series* R_state_;
    series* flashes_;
    series* pulse_;
    series* largest_volley_;
};

} // namespace fireflies::output
