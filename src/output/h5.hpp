#pragma once
// A small RAII layer over the HDF5 C API: the only place, with run_file.cpp and checkpoint_file.cpp,
// that uses hdf5.h (src/comm/mpi.cpp calls H5Pset_fapl_mpio only: it owns the communicators).
// Every call's return code is checked where it is made and turned into fireflies::hdf5_error
// "CALL(OBJECT) failed: <HDF5's message>".
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

/// Turns off HDF5's printing of its error stack to stderr, once per process: the stack's message
/// travels in our exceptions instead.
void silence_error_printing();

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

/// A fixed-size contiguous dataset at `path` with `units` and `description` attributes.
void write_dataset(hid_t file, const std::string& path, hid_t file_type, hid_t mem_type,
                   const void* data, std::uint64_t count, const std::vector<std::uint64_t>& shape,
                   const std::string& units, const std::string& description);
/// A scalar variable-length UTF-8 string dataset with a `description` attribute.
void write_string(hid_t file, const std::string& path, const std::string& text,
                  const std::string& description);

} // namespace fireflies::output::h5
