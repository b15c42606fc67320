// --initial-phases: start phases from an HDF5 file, a /phase dataset or an earlier run's last
// snapshot frame (docs/model.md, "Initial phases").
#include <cmath>
#include <string>
#include <vector>

#include "fireflies/error.hpp"
#include "fireflies/output.hpp"
#include "output/h5.hpp"

namespace fireflies::output {

namespace {

std::string dims_text(const std::vector<hsize_t>& dims) {
    std::string out;
    for (std::size_t i = 0; i < dims.size(); ++i)
        out += (i ? " x " : "") + std::to_string(dims[i]);
    return out.empty() ? "a scalar" : out;
}

std::vector<hsize_t> dims_of(hid_t dset, const std::string& path) {
    const h5::dataspace space(h5::check_id(H5Dget_space(dset), "H5Dget_space", path));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) h5::fail("H5Sget_simple_extent_ndims", path);
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
        h5::fail("H5Sget_simple_extent_dims", path);
    return dims;
}

bool has_link(hid_t file, const char* group, const char* path) {
    if (group && H5Lexists(file, group, H5P_DEFAULT) <= 0) return false;
    return H5Lexists(file, path, H5P_DEFAULT) > 0;
}

std::int64_t int_attribute(hid_t obj, const char* name, std::int64_t otherwise) {
    if (H5Aexists(obj, name) <= 0) return otherwise;
    const h5::attribute a(h5::check_id(H5Aopen(obj, name, H5P_DEFAULT), "H5Aopen", name));
    std::int64_t v = otherwise;
    h5::check(H5Aread(a.get(), H5T_NATIVE_INT64, &v), "H5Aread", name);
    return v;
}

// /phase: every firefly's phase in seconds, [height, width].
void read_phase(hid_t file, const std::string& where, std::int64_t width, std::int64_t height,
                initial_phases& out) {
    const auto W = static_cast<hsize_t>(width), H = static_cast<hsize_t>(height);
    const h5::dataset d(h5::check_id(H5Dopen2(file, "/phase", H5P_DEFAULT), "H5Dopen2", "/phase"));
    const auto dims = dims_of(d.get(), "/phase");
    if (dims != std::vector<hsize_t>{H, W})
        throw usage_error(where + ": /phase is " + dims_text(dims) + ", the grid needs " +
                          std::to_string(height) + " x " + std::to_string(width) +
                          " ([height, width])");
    out.values.resize(static_cast<std::size_t>(W * H));
    h5::check(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()),
              "H5Dread", "/phase");
    out.source = "/phase";
}

// The dimensions of an earlier run's /snapshots/phase, [k, ny, nx], checked: unsubsampled, on
// this grid, at least one frame.
std::vector<hsize_t> check_snapshots(hid_t d, const std::string& where, std::int64_t width,
                                     std::int64_t height) {
    const auto dims = dims_of(d, "/snapshots/phase");
    const std::int64_t sx = int_attribute(d, "stride_x", 1), sy = int_attribute(d, "stride_y", 1);
    if (dims.size() != 3)
        throw usage_error(where + ": /snapshots/phase is " + dims_text(dims) + ", not [k, ny, nx]");
    if (sx != 1 || sy != 1 || dims[1] != static_cast<hsize_t>(height) ||
        dims[2] != static_cast<hsize_t>(width))
        throw usage_error(
            where + ": /snapshots/phase is subsampled (stride " + std::to_string(sx) + " x " +
            std::to_string(sy) + ", " + std::to_string(dims[2]) + " x " + std::to_string(dims[1]) +
            " pixels for a " + std::to_string(width) + " x " + std::to_string(height) +
            " grid): only an unsubsampled snapshot (stride 1) has every firefly's phase");
    if (dims[0] == 0) throw usage_error(where + ": /snapshots/phase has no frame");
    return dims;
}

// The last frame of an earlier run's /snapshots/phase: fractions of each firefly's period.
void read_last_snapshot(hid_t file, const std::string& where, std::int64_t width,
                        std::int64_t height, initial_phases& out) {
    const auto W = static_cast<hsize_t>(width), H = static_cast<hsize_t>(height);
    const h5::dataset d(h5::check_id(H5Dopen2(file, "/snapshots/phase", H5P_DEFAULT), "H5Dopen2",
                                     "/snapshots/phase"));
    const auto dims = check_snapshots(d.get(), where, width, height);
    const hsize_t last = dims[0] - 1;
    const h5::dataspace file_space(
        h5::check_id(H5Dget_space(d.get()), "H5Dget_space", "/snapshots/phase"));
    const hsize_t start[3] = {last, 0, 0}, count[3] = {1, H, W};
    h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
              "H5Sselect_hyperslab", "/snapshots/phase");
    const h5::dataspace mem(h5::make_space({H * W}, "/snapshots/phase"));
    out.values.resize(static_cast<std::size_t>(W * H));
    h5::check(H5Dread(d.get(), H5T_NATIVE_DOUBLE, mem.get(), file_space.get(), H5P_DEFAULT,
                      out.values.data()),
              "H5Dread", "/snapshots/phase");
    out.fractions = true;
    std::string at;
    if (has_link(file, "/snapshots", "/snapshots/t")) {
        const auto t = h5::read_all<double>(file, "/snapshots/t", H5T_NATIVE_DOUBLE);
        if (t.size() == dims[0]) {
            char buf[64];
            std::snprintf(buf, sizeof buf, " (t = %.9g s)", t.back());
            at = buf;
        }
    }
    out.source = "/snapshots/phase frame " + std::to_string(last) + at;
}

} // namespace

initial_phases read_initial_phases(const std::filesystem::path& path, std::int64_t width,
                                   std::int64_t height) {
    const std::string where = "--initial-phases " + path.string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw usage_error(where + ": no such file");
    if (!std::filesystem::is_regular_file(path, ec))
        throw usage_error(where + ": not a regular file");
    h5::init_library();
    if (H5Fis_hdf5(path.c_str()) <= 0) throw usage_error(where + ": not an HDF5 file");
    initial_phases out;
    try {
        const h5::file f(h5::check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen",
                                      path.string()));
        if (has_link(f.get(), nullptr, "/phase"))
            read_phase(f.get(), where, width, height, out);
        else if (has_link(f.get(), "/snapshots", "/snapshots/phase"))
            read_last_snapshot(f.get(), where, width, height, out);
        else
            throw usage_error(where +
                              ": has neither a dataset /phase ([height, width], seconds) nor "
                              "/snapshots/phase (an earlier run's snapshots)");
    } catch (const hdf5_error& e) {
        throw usage_error(where + ": cannot be read: " + e.what());
    }
    for (std::size_t i = 0; i < out.values.size(); ++i)
        if (!std::isfinite(out.values[i]))
            throw usage_error(where + ": " + (out.fractions ? "/snapshots/phase" : "/phase") +
                              " at x = " + std::to_string(i % static_cast<std::size_t>(width)) +
                              ", y = " + std::to_string(i / static_cast<std::size_t>(width)) +
                              " is not a finite number");
    return out;
}

} // namespace fireflies::output
