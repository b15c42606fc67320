#pragma once
// A small RAII layer over the HDF5 C API: the only place, with run_file.cpp and
// checkpoint_file.cpp, that uses hdf5.h (src/comm/mpi.cpp calls H5Pset_fapl_mpio only: it owns the
// communicators). Every call's return code is checked where it is made and turned into
// fireflies::hdf5_error "CALL(OBJECT) failed: <HDF5's message>".
#include <hdf5.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fireflies/output.hpp"

namespace fireflies::output::h5 {

static_assert(std::is_same_v<hid_t, std::int64_t>, "finisher keeps an hid_t as std::int64_t");
static_assert(sizeof(hsize_t) == sizeof(std::uint64_t));

/// Sets HDF5 up, once per process (call it before any other HDF5 call): its error stack is not
/// printed to stderr (its message travels in our exceptions instead), and the library does not
/// close files left open at exit (H5dont_atexit). Every file is closed by its owner; the only
/// ones left are those whose close failed, and HDF5 1.10 crashes closing those again at exit
/// (a full disk before SWMR: a failed flush leaves the metadata cache unable to flush again,
/// "slist already enabled", and the file's failed close leaves a freed file behind its id).
void init_library();

/// The current HDF5 error stack in one line: the API call's message and, when different, the
/// innermost cause (which usually names the file and errno). Empty when the stack is empty.
std::string error_stack_text();

/// Throws hdf5_error("CALL(OBJECT) failed: STACK") and clears the error stack.
[[noreturn]] void fail(std::string_view call, std::string_view object);

/// herr_t: negative is failure.
inline void check(herr_t rc, std::string_view call, std::string_view object) {
    if (rc < 0) fail(call, object);
}
/// hid_t: negative is failure; returns the id.
inline hid_t check_id(hid_t id, std::string_view call, std::string_view object) {
    if (id < 0) fail(call, object);
    return id;
}
/// htri_t: negative is failure, else true/false.
inline bool check_tri(htri_t rc, std::string_view call, std::string_view object) {
    if (rc < 0) fail(call, object);
    return rc > 0;
}

/// Owner of one HDF5 identifier, closed by `Close`. Move-only. The destructor closes quietly
/// (it cannot throw); close() closes and checks, for the places where failure must be seen
/// (the file at the end of a run, where a full disk shows).
template <herr_t (*Close)(hid_t)> class handle {
  public:
    handle() noexcept = default;
    explicit handle(hid_t id) noexcept : id_(id) {}
    handle(handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
    handle& operator=(handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() { reset(); }

    hid_t get() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ >= 0; }

    /// Closes, ignoring failure (HDF5's error printing is off).
    void reset() noexcept {
        if (id_ >= 0) (void)Close(id_);
        id_ = H5I_INVALID_HID;
    }
    /// Forgets the identifier without closing it: for an object of a file that several processes
    /// opened together (MPI-IO), whose close is collective, after a failure on this process only
    /// (the program ends next; the others may be waiting elsewhere).
    hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }
    /// Closes and throws hdf5_error naming `call` and `object` on failure.
    void close(std::string_view call, std::string_view object) {
        if (id_ < 0) return;
        const hid_t id = std::exchange(id_, H5I_INVALID_HID);
        check(Close(id), call, object);
    }

  private:
    hid_t id_ = H5I_INVALID_HID;
};

using file = handle<H5Fclose>;
using group = handle<H5Gclose>;
using object = handle<H5Oclose>;
using dataset = handle<H5Dclose>;
using dataspace = handle<H5Sclose>;
using datatype = handle<H5Tclose>;
using attribute = handle<H5Aclose>;
using plist = handle<H5Pclose>;

/// A property list of class `cls` (H5P_FILE_ACCESS, H5P_DATASET_CREATE, ...).
plist make_plist(hid_t cls, std::string_view what);
/// A simple dataspace; `dims` empty gives a scalar dataspace.
dataspace make_space(const std::vector<hsize_t>& dims, std::string_view object);
dataspace make_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& maxdims,
                     std::string_view object);
/// The variable-length UTF-8 string type.
datatype make_string_type(std::string_view object);
/// A link-creation property list that creates missing intermediate groups.
plist make_intermediate_lcpl(std::string_view object);

/// Opens the group or dataset at `path` ("/" is the root), creating missing groups on the way.
object open_or_create_object(hid_t file, const std::string& path);

/// Sets (replacing any old one) attribute `name` of object `obj` (named `obj_path` in errors).
void set_attribute(hid_t obj, const std::string& obj_path, const std::string& name,
                   const attribute_value& value);

/// Sets the attributes every dataset of a run file carries: `units`, `long_name` (a short label,
/// as netCDF's conventions name it, that xarray puts on plot axes) and `description`.
void set_labels(hid_t dset, const std::string& path, const std::string& units,
                const std::string& long_name, const std::string& description);

/// A fixed-size contiguous dataset at `path` with `units`, `long_name` and `description`.
void write_dataset(hid_t file, const std::string& path, hid_t file_type, hid_t mem_type,
                   const void* data, std::uint64_t count, const std::vector<std::uint64_t>& shape,
                   const std::string& units, const std::string& long_name,
                   const std::string& description);
/// A scalar variable-length UTF-8 string dataset with a `description` attribute.
void write_string(hid_t file, const std::string& path, const std::string& text,
                  const std::string& description);

/// A whole dataset read into `mem_type` elements of T, flattened.
template <class T> std::vector<T> read_all(hid_t file, const std::string& path, hid_t mem_type) {
    const dataset d(check_id(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "H5Dopen2", path));
    const dataspace space(check_id(H5Dget_space(d.get()), "H5Dget_space", path));
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n < 0) fail("H5Sget_simple_extent_npoints", path);
    std::vector<T> out(static_cast<std::size_t>(n));
    if (!out.empty())
        check(H5Dread(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "H5Dread",
              path);
    return out;
}

/// Dimension scales (H5DS, from HDF5's high-level library), laid out as netCDF-4 lays them out,
/// so that netCDF readers (xarray with h5netcdf) name every axis instead of making up
/// `phony_dim_N`: dimension i of the dataset at `path` gets the 1-D dataset `scales[i]`, which
/// is made a scale (a netCDF dimension named by its last path component, with its values as the
/// coordinate) if it is not one yet. A scale equal to `path` makes `path` the coordinate of its
/// own dimension. Attaching a scale twice does nothing, so that a reopened file is labelled
/// again without harm.
void set_dimensions(hid_t file, const std::string& path, const std::vector<std::string>& scales);

/// A netCDF dimension without a coordinate variable: a 1-D dataset `length` long (extendible
/// when `extendible`) whose values are never written, so never stored, made a scale named
/// "This is a netCDF dimension but not a netCDF variable.", the mark netCDF-C gives such
/// dimensions and netCDF readers hide. Returns the open dataset (to extend it).
dataset create_dimension(hid_t file, const std::string& path, std::uint64_t length, bool extendible,
                         const std::string& long_name, const std::string& description);

} // namespace fireflies::output::h5
