#include "output/h5.hpp"

#include "fireflies/output.hpp"

#include <hdf5_hl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include "fireflies/error.hpp"

namespace fireflies::output::h5 {

void init_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Fails, harmlessly, when something in this process used HDF5 before (a test).
        (void)H5dont_atexit();
        check(H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), "H5Eset_auto2", "H5E_DEFAULT");
    });
}

} // namespace fireflies::output::h5

namespace fireflies::output {
void start_hdf5() {
    h5::init_library();
}
} // namespace fireflies::output

namespace fireflies::output::h5 {

namespace {

struct stack_walk {
    std::string top;       // the API function's entry (#000 in HDF5's printout)
    std::string innermost; // the deepest entry, where the error was first detected
};

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
    auto* walk = static_cast<stack_walk*>(data);
    std::string text = e->desc ? e->desc : "";
    if (text.empty()) {
        // No description: fall back on the minor error message ("File exists", ...).
        char msg[256] = {};
        if (H5Eget_msg(e->min_num, nullptr, msg, sizeof msg) > 0) text = msg;
    }
    std::string entry = std::string(e->func_name ? e->func_name : "?") + "(): " + text;
    if (n == 0) walk->top = entry;
    walk->innermost = std::move(entry);
    return 0;
}

} // namespace

std::string error_stack_text() {
    stack_walk walk;
    if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &walk) < 0) return {};
    std::string text = walk.top;
    if (!walk.innermost.empty() && walk.innermost != walk.top) text += " <- " + walk.innermost;
    return one_line(std::move(text));
}

void fail(std::string_view call, std::string_view object) {
    const int err = errno; // a failed write leaves the system's reason here
    std::string what = std::string(call) + "(" + std::string(object) + ") failed";
    const std::string stack = error_stack_text();
    (void)H5Eclear2(H5E_DEFAULT);
    if (err == ENOSPC || err == EDQUOT) {
        errno = 0;
        throw io_error(std::string(object) + ": " + std::strerror(err) + " (" + std::string(call) +
                       " failed)");
    }
    if (!stack.empty()) what += ": " + stack;
    throw hdf5_error(what);
}

plist make_plist(hid_t cls, std::string_view what) {
    return plist(check_id(H5Pcreate(cls), "H5Pcreate", what));
}

dataspace make_space(const std::vector<hsize_t>& dims, std::string_view object) {
    if (dims.empty()) return dataspace(check_id(H5Screate(H5S_SCALAR), "H5Screate", object));
    return make_space(dims, dims, object);
}

dataspace make_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& maxdims,
                     std::string_view object) {
    return dataspace(
        check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                 "H5Screate_simple", object));
}

datatype make_string_type(std::string_view object) {
    datatype t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", object));
    check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", object);
    check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", object);
    return t;
}

plist make_intermediate_lcpl(std::string_view object) {
    plist lcpl = make_plist(H5P_LINK_CREATE, object);
    check(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group",
          object);
    return lcpl;
}

object open_or_create_object(hid_t file, const std::string& path) {
    if (path.empty() || path.front() != '/')
        throw std::invalid_argument("HDF5 object path must be absolute: '" + path + "'");
    if (path == "/") return object(check_id(H5Oopen(file, "/", H5P_DEFAULT), "H5Oopen", path));
    // H5Lexists wants every parent to exist, so walk the path one component at a time.
    bool exists = true;
    for (std::size_t end = path.find('/', 1); exists; end = path.find('/', end + 1)) {
        const std::string prefix = path.substr(0, end);
        exists = check_tri(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), "H5Lexists", prefix);
        if (end == std::string::npos) break;
    }
    if (exists) return object(check_id(H5Oopen(file, path.c_str(), H5P_DEFAULT), "H5Oopen", path));
    const plist lcpl = make_intermediate_lcpl(path);
    return object(check_id(H5Gcreate2(file, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                           "H5Gcreate2", path));
}

namespace {

void write_attribute(hid_t obj, const std::string& what, const std::string& name, hid_t file_type,
                     hid_t mem_type, const dataspace& space, const void* data) {
    attribute a(
        check_id(H5Acreate2(obj, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 "H5Acreate2", what));
    check(H5Awrite(a.get(), mem_type, data), "H5Awrite", what);
    a.close("H5Aclose", what);
}

template <class T>
void write_array_attribute(hid_t obj, const std::string& what, const std::string& name,
                           hid_t file_type, hid_t mem_type, const std::vector<T>& v) {
    const dataspace space = make_space({static_cast<hsize_t>(v.size())}, what);
    static const T none{};
    write_attribute(obj, what, name, file_type, mem_type, space, v.empty() ? &none : v.data());
}

} // namespace

void set_attribute(hid_t obj, const std::string& obj_path, const std::string& name,
                   const attribute_value& value) {
    const std::string what = "attribute '" + name + "' of " + obj_path;
    if (check_tri(H5Aexists(obj, name.c_str()), "H5Aexists", what))
        check(H5Adelete(obj, name.c_str()), "H5Adelete", what);
    const dataspace scalar = make_space({}, what);
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::int64_t>) {
                write_attribute(obj, what, name, H5T_STD_I64LE, H5T_NATIVE_INT64, scalar, &v);
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                write_attribute(obj, what, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, scalar, &v);
            } else if constexpr (std::is_same_v<T, double>) {
                write_attribute(obj, what, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, scalar, &v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                const datatype type = make_string_type(what);
                const char* text = v.c_str();
                write_attribute(obj, what, name, type.get(), type.get(), scalar, &text);
            } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
                write_array_attribute(obj, what, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v);
            } else {
                static_assert(std::is_same_v<T, std::vector<double>>);
                write_array_attribute(obj, what, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
            }
        },
        value);
}

void set_labels(hid_t dset, const std::string& path, const std::string& units,
                const std::string& long_name, const std::string& description) {
    set_attribute(dset, path, "units", units);
    set_attribute(dset, path, "long_name", long_name);
    set_attribute(dset, path, "description", description);
}

void write_dataset(hid_t file, const std::string& path, hid_t file_type, hid_t mem_type,
                   const void* data, std::uint64_t count, const std::vector<std::uint64_t>& shape,
                   const std::string& units, const std::string& long_name,
                   const std::string& description) {
    std::uint64_t elements = 1;
    for (const std::uint64_t n : shape)
        elements *= n;
    if (elements != count)
        throw std::invalid_argument("dataset " + path + ": " + std::to_string(count) +
                                    " values do not fill its shape (" + std::to_string(elements) +
                                    " elements)");
    const plist lcpl = make_intermediate_lcpl(path);
    const dataspace space = make_space(std::vector<hsize_t>(shape.begin(), shape.end()), path);
    dataset d(check_id(H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(),
                                  H5P_DEFAULT, H5P_DEFAULT),
                       "H5Dcreate2", path));
    if (count > 0)
        check(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite", path);
    set_labels(d.get(), path, units, long_name, description);
    d.close("H5Dclose", path);
}

void write_string(hid_t file, const std::string& path, const std::string& text,
                  const std::string& description) {
    const plist lcpl = make_intermediate_lcpl(path);
    const dataspace space = make_space({}, path);
    const datatype type = make_string_type(path);
    dataset d(check_id(H5Dcreate2(file, path.c_str(), type.get(), space.get(), lcpl.get(),
                                  H5P_DEFAULT, H5P_DEFAULT),
                       "H5Dcreate2", path));
    const char* p = text.c_str();
    check(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "H5Dwrite", path);
    set_attribute(d.get(), path, "description", description);
    d.close("H5Dclose", path);
}

namespace {

dataset open_dataset(hid_t file, const std::string& path) {
    return dataset(check_id(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "H5Dopen2", path));
}

int rank_of(hid_t dset, const std::string& path) {
    const dataspace space(check_id(H5Dget_space(dset), "H5Dget_space", path));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("H5Sget_simple_extent_ndims", path);
    return rank;
}

/// netCDF-C's mark for a dimension without a coordinate variable (a scale's NAME starts with it,
/// followed by the length at creation in 10 characters).
constexpr const char* not_a_variable = "This is a netCDF dimension but not a netCDF variable.";

} // namespace

void set_dimensions(hid_t file, const std::string& path, const std::vector<std::string>& scales) {
    const dataset d = open_dataset(file, path);
    const int rank = rank_of(d.get(), path);
    if (static_cast<std::size_t>(rank) != scales.size())
        throw std::invalid_argument("dataset " + path + " has " + std::to_string(rank) +
                                    " dimensions, given " + std::to_string(scales.size()) +
                                    " scales");
    for (unsigned i = 0; i < scales.size(); ++i) {
        const std::string& scale_path = scales[i];
        const std::string what = scale_path + " as dimension " + std::to_string(i) + " of " + path;
        const dataset own = scale_path == path ? dataset() : open_dataset(file, scale_path);
        const hid_t scale = own ? own.get() : d.get();
        if (rank_of(scale, scale_path) != 1)
            throw std::invalid_argument("dimension scale " + scale_path + " is not 1-D");
        if (!check_tri(H5DSis_scale(scale), "H5DSis_scale", scale_path)) {
            // A coordinate variable's scale is named after it, as netCDF-C names its own.
            const std::string name = scale_path.substr(scale_path.rfind('/') + 1);
            check(H5DSset_scale(scale, name.c_str()), "H5DSset_scale", scale_path);
        }
        if (!own) continue; // a coordinate variable is its own dimension: nothing to attach
        if (!check_tri(H5DSis_attached(d.get(), scale, i), "H5DSis_attached", what))
            check(H5DSattach_scale(d.get(), scale, i), "H5DSattach_scale", what);
    }
}

dataset create_dimension(hid_t file, const std::string& path, std::uint64_t length, bool extendible,
                         const std::string& long_name, const std::string& description) {
    const plist lcpl = make_intermediate_lcpl(path);
    const plist dcpl = make_plist(H5P_DATASET_CREATE, path);
    if (extendible) {
        // Unlimited needs chunks; none is ever written (no values), so their size is moot.
        const hsize_t chunk = 1024;
        check(H5Pset_chunk(dcpl.get(), 1, &chunk), "H5Pset_chunk", path);
    }
    const dataspace space =
        make_space({length}, {extendible ? H5S_UNLIMITED : hsize_t{length}}, path);
    // 32-bit floats, as netCDF-C makes these datasets; they hold no values.
    dataset d(check_id(H5Dcreate2(file, path.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(),
                                  dcpl.get(), H5P_DEFAULT),
                       "H5Dcreate2", path));
    char name[96];
    std::snprintf(name, sizeof name, "%s%10llu", not_a_variable,
                  static_cast<unsigned long long>(length));
    check(H5DSset_scale(d.get(), name), "H5DSset_scale", path);
    set_labels(d.get(), path, "1", long_name, description);
    return d;
}

} // namespace fireflies::output::h5
