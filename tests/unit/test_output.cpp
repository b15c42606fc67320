// Tests of the HDF5 output layer (src/output). Everything written is read back with the HDF5 C
// API directly, not through our own layer, so the layer cannot agree with itself by mistake.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fireflies/error.hpp"
#include "fireflies/output.hpp"
#include "output/run_writer.hpp"

namespace fs = std::filesystem;
using namespace fireflies;
using namespace fireflies::output;

namespace {

// ---- reading back with the C API -------------------------------------------------------------

void need(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("test read-back failed: " + what);
}

/// An HDF5 id closed by the given function.
struct id_guard {
    hid_t id;
    herr_t (*close)(hid_t);
    id_guard(hid_t i, herr_t (*c)(hid_t), const std::string& what) : id(i), close(c) {
        need(i >= 0, what);
    }
    id_guard(const id_guard&) = delete;
    id_guard& operator=(const id_guard&) = delete;
    ~id_guard() {
        if (id >= 0) close(id);
    }
    operator hid_t() const { return id; }
};

struct reader {
    id_guard file;
    explicit reader(const fs::path& p, unsigned flags = H5F_ACC_RDONLY)
        : file(H5Fopen(p.c_str(), flags, H5P_DEFAULT), H5Fclose, "H5Fopen " + p.string()) {}

    std::vector<hsize_t> dims(const std::string& path, std::vector<hsize_t>* max = nullptr) {
        id_guard d(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, "open " + path);
        id_guard s(H5Dget_space(d), H5Sclose, "space " + path);
        const int rank = H5Sget_simple_extent_ndims(s);
        need(rank >= 0, "rank " + path);
        std::vector<hsize_t> dims(rank), maxdims(rank);
        need(H5Sget_simple_extent_dims(s, dims.data(), maxdims.data()) == rank, "dims " + path);
        if (max) *max = maxdims;
        return dims;
    }

    template <class T>
    std::vector<T> values(const std::string& path, hid_t mem_type, hid_t expected_file_type) {
        id_guard d(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, "open " + path);
        id_guard t(H5Dget_type(d), H5Tclose, "type " + path);
        need(H5Tequal(t, expected_file_type) > 0, "file type of " + path);
        id_guard s(H5Dget_space(d), H5Sclose, "space " + path);
        const hssize_t n = H5Sget_simple_extent_npoints(s);
        need(n >= 0, "npoints " + path);
        std::vector<T> v(static_cast<std::size_t>(n));
        if (n > 0)
            need(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0,
                 "read " + path);
        return v;
    }
    std::vector<double> f64(const std::string& path) {
        return values<double>(path, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE);
    }
    std::vector<std::int64_t> i64(const std::string& path) {
        return values<std::int64_t>(path, H5T_NATIVE_INT64, H5T_STD_I64LE);
    }
    std::vector<float> f32(const std::string& path) {
        return values<float>(path, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE);
    }

    std::string string_dataset(const std::string& path) {
        id_guard d(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, "open " + path);
        id_guard t(H5Dget_type(d), H5Tclose, "type " + path);
        need(H5Tis_variable_str(t) > 0, path + " is a variable-length string");
        need(H5Tget_cset(t) == H5T_CSET_UTF8, path + " is UTF-8");
        char* s = nullptr;
        need(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0, "read " + path);
        std::string r = s ? s : "";
        H5free_memory(s);
        return r;
    }

    id_guard attr(const std::string& obj, const std::string& name) {
        return id_guard(H5Aopen_by_name(file, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, "attribute " + name + " of " + obj);
    }
    std::string attr_string(const std::string& obj, const std::string& name) {
        id_guard a = attr(obj, name);
        id_guard t(H5Aget_type(a), H5Tclose, "type");
        need(H5Tis_variable_str(t) > 0, name + " is a variable-length string");
        need(H5Tget_cset(t) == H5T_CSET_UTF8, name + " is UTF-8");
        char* s = nullptr;
        need(H5Aread(a, t, &s) >= 0, "read attribute " + name);
        std::string r = s ? s : "";
        H5free_memory(s);
        return r;
    }
    template <class T>
    std::vector<T> attr_values(const std::string& obj, const std::string& name, hid_t mem_type,
                               hid_t file_type, bool* scalar = nullptr) {
        id_guard a = attr(obj, name);
        id_guard t(H5Aget_type(a), H5Tclose, "type");
        need(H5Tequal(t, file_type) > 0, "file type of attribute " + name);
        id_guard s(H5Aget_space(a), H5Sclose, "space");
        if (scalar) *scalar = H5Sget_simple_extent_type(s) == H5S_SCALAR;
        std::vector<T> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(s)));
        if (!v.empty()) need(H5Aread(a, mem_type, v.data()) >= 0, "read attribute " + name);
        return v;
    }
    bool has_attr(const std::string& obj, const std::string& name) {
        return H5Aexists_by_name(file, obj.c_str(), name.c_str(), H5P_DEFAULT) > 0;
    }
};

// ---- files and processes ---------------------------------------------------------------------

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

/// Number of HDF5 objects (files, datasets, ...) still open in this process.
ssize_t open_hdf5_objects() {
    return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

/// A fresh directory per test, removed afterwards.
class OutputTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "fireflies-output-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(dir_, ec);
    }
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir_))
            names.push_back(e.path().filename());
        std::sort(names.begin(), names.end());
        return names;
    }
    fs::path dir_;
};

/// Runs `body` in a child process and returns its exit status (or 100 + signal). The child
/// shares nothing HDF5 with us as long as we hold no HDF5 file open when forking.
template <class F> int in_child(F body) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
            rc = 98;
        }
        ::_exit(rc);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

std::string python_with_h5py() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("FIREFLIES_PYTHON")) candidates.emplace_back(env);
    candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
    for (const auto& py : candidates)
        if (std::system((py + " -c 'import h5py' >/dev/null 2>&1").c_str()) == 0) return py;
    return {};
}

} // namespace

// ---- check_output_path -----------------------------------------------------------------------

using OutputPath = OutputTest;

/// The message of the usage_error that check_output_path throws, or "" if none.
static std::string refusal(const fs::path& p, bool force) {
    try {
        check_output_path(p, force);
    } catch (const usage_error& e) {
        return e.what();
    }
    return "";
}

static void expect_one_line_naming(const std::string& msg, const fs::path& p,
                                   const std::string& reason) {
    EXPECT_NE(msg.find("--output"), std::string::npos) << msg;
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(reason), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST_F(OutputPath, AcceptsNewFileInWritableDirectory) {
    EXPECT_NO_THROW(check_output_path(dir_ / "run.h5", false));
    EXPECT_NO_THROW(check_output_path(dir_ / "run.h5", true));
    EXPECT_TRUE(listing().empty()); // touches nothing
}

TEST_F(OutputPath, RefusesMissingDirectory) {
    const fs::path p = dir_ / "missing" / "run.h5";
    expect_one_line_naming(refusal(p, false), p, "does not exist");
    expect_one_line_naming(refusal(p, true), p, "does not exist");
}

TEST_F(OutputPath, RefusesParentThatIsNotADirectory) {
    spit(dir_ / "plain", "x");
    const fs::path p = dir_ / "plain" / "run.h5";
    expect_one_line_naming(refusal(p, false), p, "is not a directory");
}

TEST_F(OutputPath, RefusesExistingFileWithoutForce) {
    const fs::path p = dir_ / "run.h5";
    spit(p, "old");
    expect_one_line_naming(refusal(p, false), p, "exists");
    EXPECT_NE(refusal(p, false).find("--force"), std::string::npos);
    EXPECT_EQ(refusal(p, true), "");
    EXPECT_EQ(slurp(p), "old");
}

TEST_F(OutputPath, RefusesDirectoryEvenWithForce) {
    fs::create_directory(dir_ / "run.h5");
    expect_one_line_naming(refusal(dir_ / "run.h5", false), dir_ / "run.h5", "is a directory");
    expect_one_line_naming(refusal(dir_ / "run.h5", true), dir_ / "run.h5", "is a directory");
    expect_one_line_naming(refusal(dir_.string() + "/", true), dir_.string() + "/", "directory");
}

TEST_F(OutputPath, RefusesUnwritableDirectory) {
    // access(2) is what decides. Root passes any permission bits, so as root a chmod-ed
    // directory is writable and the test uses a directory the kernel refuses even to root
    // (/proc/sys: no entries can be created there). Skipped if no such directory is found.
    fs::path ro;
    if (::geteuid() != 0) {
        ro = dir_ / "read-only";
        fs::create_directory(ro);
        fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    } else if (::access("/proc/sys", W_OK) != 0) {
        ro = "/proc/sys";
    } else {
        GTEST_SKIP() << "running as root and found no directory that root cannot write";
    }
    const fs::path p = ro / "run.h5";
    expect_one_line_naming(refusal(p, false), p, "not writable");
}

// ---- run_file ---------------------------------------------------------------------------------

using OutputRunFile = OutputTest;

TEST_F(OutputRunFile, WritesEverythingAndReadsBack) {
    const fs::path p = dir_ / "run.h5";
    {
        run_file f(p, false);
        EXPECT_EQ(f.path(), p);
        EXPECT_EQ(f.path_being_written(), p);
        f.set_attribute("/", "i", std::int64_t{-7});
        f.set_attribute("/", "u", std::uint64_t{18446744073709551615ull});
        f.set_attribute("/", "d", 0.1);
        f.set_attribute("/", "s", std::string("héllo"));
        f.set_attribute("/config/model", "iv", std::vector<std::int64_t>{1, -2, 3});
        f.set_attribute("/config/model", "dv", std::vector<double>{0.5, -1e300});
        f.set_attribute("/config/model", "empty", std::vector<double>{});
        f.set_attribute("/", "d", 0.25); // replaces
        f.write_dataset("/static/grid", std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}, {2, 3},
                        "cells", "grid", "a grid");
        f.write_string("/static/config", "width = 30\nheight = 30\n", "the configuration");

        series& a = f.create_series("/ts/a", element_type::f64, {}, "s", "time", "a scalar", 4);
        series& b =
            f.create_series("/ts/b", element_type::i64, {}, "flashes", "count", "counts", 3);
        series& c =
            f.create_series("/frames/c", element_type::f32, {2, 3}, "1", "frame", "frames", 2);
        f.set_attribute("/ts/a", "extra", std::string("on a dataset"));
        EXPECT_EQ(a.path(), "/ts/a");
        EXPECT_EQ(c.frame_shape(), (std::vector<std::uint64_t>{2, 3}));
        EXPECT_EQ(c.type(), element_type::f32);

        for (int i = 0; i < 5; ++i)
            a.append(0.5 * i);
        const std::vector<double> more{2.5, 3.0};
        a.append(more);
        b.append(std::int64_t{-1});
        const std::int64_t raw[] = {10, 20, 30, 40};
        b.append(raw, 4);
        std::vector<float> frames(6 * 3);
        for (std::size_t i = 0; i < frames.size(); ++i)
            frames[i] = static_cast<float>(i) + 0.5f;
        c.append(frames);
        EXPECT_EQ(a.size(), 7u);
        EXPECT_EQ(b.size(), 5u);
        EXPECT_EQ(c.size(), 3u);
        f.flush();
        f.start_swmr();
        EXPECT_TRUE(f.swmr());
        a.append(99.0);
        f.finish([](finisher& fin) {
            fin.set_attribute("/", "wall_seconds", 1.5);
            fin.set_attribute("/ts/a", "final", std::int64_t{1});
            fin.write_dataset("/final/phases", std::vector<double>{0.1, 0.2, 0.3, 0.4}, {2, 2}, "s",
                              "phase", "phases at the end");
            fin.write_dataset("/final/count", std::vector<std::int64_t>{5, 6, 7}, "flashes",
                              "flashes", "per block");
            fin.write_dataset("/final/one", std::vector<double>{42.0}, std::vector<std::uint64_t>{},
                              "1", "one", "a scalar");
            fin.write_string("/final/log", "done", "how it ended");
        });
        EXPECT_TRUE(f.finished());
        EXPECT_FALSE(f.swmr());
    }
    EXPECT_EQ(open_hdf5_objects(), 0);

    reader r(p);
    EXPECT_EQ(r.attr_values<std::int64_t>("/", "i", H5T_NATIVE_INT64, H5T_STD_I64LE),
              std::vector<std::int64_t>{-7});
    EXPECT_EQ(r.attr_values<std::uint64_t>("/", "u", H5T_NATIVE_UINT64, H5T_STD_U64LE),
              std::vector<std::uint64_t>{18446744073709551615ull});
    bool scalar = false;
    EXPECT_EQ(r.attr_values<double>("/", "d", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &scalar),
              std::vector<double>{0.25});
    EXPECT_TRUE(scalar);
    EXPECT_EQ(r.attr_string("/", "s"), "héllo");
    EXPECT_EQ(r.attr_values<std::int64_t>("/config/model", "iv", H5T_NATIVE_INT64, H5T_STD_I64LE,
                                          &scalar),
              (std::vector<std::int64_t>{1, -2, 3}));
    EXPECT_FALSE(scalar);
    EXPECT_EQ(r.attr_values<double>("/config/model", "dv", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE),
              (std::vector<double>{0.5, -1e300}));
    EXPECT_TRUE(
        r.attr_values<double>("/config/model", "empty", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE).empty());
    EXPECT_EQ(r.attr_values<double>("/", "wall_seconds", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE),
              std::vector<double>{1.5});

    EXPECT_EQ(r.dims("/static/grid"), (std::vector<hsize_t>{2, 3}));
    EXPECT_EQ(r.i64("/static/grid"), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(r.attr_string("/static/grid", "units"), "cells");
    EXPECT_EQ(r.attr_string("/static/grid", "long_name"), "grid");
    EXPECT_EQ(r.attr_string("/static/grid", "description"), "a grid");
    EXPECT_EQ(r.string_dataset("/static/config"), "width = 30\nheight = 30\n");
    EXPECT_EQ(r.attr_string("/static/config", "description"), "the configuration");

    std::vector<hsize_t> max;
    EXPECT_EQ(r.dims("/ts/a", &max), std::vector<hsize_t>{8});
    EXPECT_EQ(max, std::vector<hsize_t>{H5S_UNLIMITED});
    EXPECT_EQ(r.f64("/ts/a"), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3, 99}));
    EXPECT_EQ(r.attr_string("/ts/a", "units"), "s");
    EXPECT_EQ(r.attr_string("/ts/a", "long_name"), "time");
    EXPECT_EQ(r.attr_string("/ts/a", "description"), "a scalar");
    EXPECT_EQ(r.attr_string("/ts/a", "extra"), "on a dataset");
    EXPECT_EQ(r.attr_values<std::int64_t>("/ts/a", "final", H5T_NATIVE_INT64, H5T_STD_I64LE),
              std::vector<std::int64_t>{1});
    EXPECT_EQ(r.i64("/ts/b"), (std::vector<std::int64_t>{-1, 10, 20, 30, 40}));
    EXPECT_EQ(r.attr_string("/ts/b", "units"), "flashes");
    EXPECT_EQ(r.dims("/frames/c", &max), (std::vector<hsize_t>{3, 2, 3}));
    EXPECT_EQ(max, (std::vector<hsize_t>{H5S_UNLIMITED, 2, 3}));
    std::vector<float> expected_frames(6 * 3);
    for (std::size_t i = 0; i < expected_frames.size(); ++i)
        expected_frames[i] = static_cast<float>(i) + 0.5f;
    EXPECT_EQ(r.f32("/frames/c"), expected_frames);

    EXPECT_EQ(r.dims("/final/phases"), (std::vector<hsize_t>{2, 2}));
    EXPECT_EQ(r.f64("/final/phases"), (std::vector<double>{0.1, 0.2, 0.3, 0.4}));
    EXPECT_EQ(r.attr_string("/final/phases", "units"), "s");
    EXPECT_EQ(r.attr_string("/final/phases", "long_name"), "phase");
    EXPECT_EQ(r.attr_string("/final/phases", "description"), "phases at the end");
    EXPECT_EQ(r.i64("/final/count"), (std::vector<std::int64_t>{5, 6, 7}));
    EXPECT_EQ(r.dims("/final/one"), std::vector<hsize_t>{});
    EXPECT_EQ(r.f64("/final/one"), std::vector<double>{42.0});
    EXPECT_EQ(r.string_dataset("/final/log"), "done");

    // Layout: chunked by chunk_frames whole frames, shuffle then deflate.
    id_guard d(H5Dopen2(r.file, "/frames/c", H5P_DEFAULT), H5Dclose, "open");
    id_guard dcpl(H5Dget_create_plist(d), H5Pclose, "dcpl");
    ASSERT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk[3] = {};
    ASSERT_EQ(H5Pget_chunk(dcpl, 3, chunk), 3);
    EXPECT_EQ(chunk[0], 2u);
    EXPECT_EQ(chunk[1], 2u);
    EXPECT_EQ(chunk[2], 3u);
    ASSERT_EQ(H5Pget_nfilters(dcpl), 2);
    unsigned flags = 0;
    std::size_t nelmts = 0;
    EXPECT_EQ(H5Pget_filter2(dcpl, 0, &flags, &nelmts, nullptr, 0, nullptr, nullptr),
              H5Z_FILTER_SHUFFLE);
    nelmts = 0; // in: room in cd_values (none), out: how many the filter has
    EXPECT_EQ(H5Pget_filter2(dcpl, 1, &flags, &nelmts, nullptr, 0, nullptr, nullptr),
              H5Z_FILTER_DEFLATE);
}

TEST_F(OutputRunFile, RefusesExistingFileWithoutForceAndLeavesItAlone) {
    const fs::path p = dir_ / "run.h5";
    const std::string old = std::string("not HDF5 at all\0\x01\x02", 19);
    spit(p, old);
    try {
        run_file f(p, false);
        FAIL() << "an existing file was opened";
    } catch (const hdf5_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("H5Fcreate(" + p.string() + ") failed"), std::string::npos) << msg;
        EXPECT_NE(msg.find("File exists"), std::string::npos) << msg; // HDF5's own message
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_EQ(slurp(p), old);
    EXPECT_EQ(listing(), std::vector<std::string>{"run.h5"});
    EXPECT_EQ(open_hdf5_objects(), 0);
}

TEST_F(OutputRunFile, ForceWritesTemporarySiblingAndRenamesAtFinish) {
    const fs::path p = dir_ / "run.h5";
    spit(p, "old run");
    run_file f(p, true);
    const fs::path tmp = f.path_being_written();
    EXPECT_EQ(tmp.parent_path(), p.parent_path());
    EXPECT_EQ(tmp.filename(), ".run.h5.tmp." + std::to_string(::getpid()));
    EXPECT_EQ(f.path(), p);
    series& s = f.create_series("/x", element_type::f64, {}, "1", "x", "x", 2);
    f.start_swmr();
    for (int i = 0; i < 9; ++i)
        s.append(double(i));
    f.flush();
    EXPECT_EQ(slurp(p), "old run"); // the old file is whole until finish()
    EXPECT_TRUE(fs::exists(tmp));
    f.finish();
    EXPECT_FALSE(fs::exists(tmp));
    EXPECT_EQ(f.path_being_written(), p);
    EXPECT_EQ(listing(), std::vector<std::string>{"run.h5"});
    reader r(p);
    EXPECT_EQ(r.f64("/x"), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(OutputRunFile, ForceWithoutExistingFileWritesInPlace) {
    const fs::path p = dir_ / "run.h5";
    run_file f(p, true);
    EXPECT_EQ(f.path_being_written(), p);
    f.finish();
    EXPECT_EQ(listing(), std::vector<std::string>{"run.h5"});
}

TEST_F(OutputRunFile, DestructorWithoutFinishLeavesReadableFile) {
    const fs::path p = dir_ / "run.h5";
    {
        run_file f(p, false);
        timeseries ts(f, 4);
        series& frames =
            f.create_series("/frames", element_type::i64, {2}, "1", "pairs", "pairs", 16);
        f.start_swmr();
        for (int i = 0; i < 6; ++i)
            ts.append({0.5 * i, 0.1, 0.2, i, 0.01 * i});
        f.flush();
        ts.append({3.0, 0.3, 0.4, 6, 0.06}); // buffered, not flushed: the destructor writes it
        const std::int64_t pair[] = {7, 8};
        frames.append(pair, 1);
    }
    EXPECT_EQ(open_hdf5_objects(), 0);
    reader r(p); // a plain (non-SWMR) open: the file was closed properly
    EXPECT_EQ(r.f64("/timeseries/t"), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3}));
    EXPECT_EQ(r.i64("/frames"), (std::vector<std::int64_t>{7, 8}));
}

TEST_F(OutputRunFile, DestructorWithoutFinishKeepsOldFileUnderForce) {
    const fs::path p = dir_ / "run.h5";
    spit(p, "old run");
    fs::path tmp;
    {
        run_file f(p, true);
        tmp = f.path_being_written();
        f.create_series("/x", element_type::f64, {}, "1", "x", "x", 2).append(1.0);
    }
    EXPECT_EQ(slurp(p), "old run");
    reader r(tmp); // the interrupted run stays beside it, readable
    EXPECT_EQ(r.f64("/x"), std::vector<double>{1.0});
}

TEST_F(OutputRunFile, CrashAfterFlushLeavesFlushedFramesReadable) {
    const fs::path p = dir_ / "run.h5";
    ASSERT_EQ(open_hdf5_objects(), 0);
    const int rc = in_child([&] {
        run_file f(p, false);
        series& s = f.create_series("/x", element_type::f64, {}, "1", "x", "x", 4);
        f.start_swmr();
        for (int i = 0; i < 10; ++i)
            s.append(double(i));
        f.flush();
        for (int i = 10; i < 13; ++i)
            s.append(double(i)); // never flushed
        ::_exit(0);              // a crash: no destructor runs
        return 1;
    });
    ASSERT_EQ(rc, 0);
    // The superblock still says "open for SWMR writing": SWMR readers (h5py swmr=True) read it.
    reader r(p, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ);
    EXPECT_EQ(r.f64("/x"), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(r.attr_string("/x", "units"), "1");
}

TEST_F(OutputRunFile, CrashedFileOpensPlainlyAfterH5clear) {
    if (std::system("h5clear --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no h5clear";
    const fs::path p = dir_ / "run.h5";
    ASSERT_EQ(open_hdf5_objects(), 0);
    const int rc = in_child([&] {
        run_file f(p, false);
        series& s = f.create_series("/x", element_type::i64, {}, "1", "x", "x", 4);
        f.start_swmr();
        for (std::int64_t i = 0; i < 6; ++i)
            s.append(i);
        f.flush();
        ::_exit(0);
        return 1;
    });
    ASSERT_EQ(rc, 0);
    EXPECT_LT(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), 0); // still marked as open
    H5Eclear2(H5E_DEFAULT);
    ASSERT_EQ(std::system(("h5clear --status " + p.string()).c_str()), 0);
    reader r(p);
    EXPECT_EQ(r.i64("/x"), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(OutputRunFile, NothingLeaksAndErrorsNameCallAndObject) {
    const fs::path p = dir_ / "run.h5";
    {
        run_file f(p, false);
        f.create_series("/x", element_type::f64, {}, "1", "x", "x", 4);
        try {
            f.create_series("/x", element_type::f64, {}, "1", "again", "again", 4);
            FAIL() << "created /x twice";
        } catch (const hdf5_error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind("H5Dcreate2(/x) failed: ", 0), 0u) << msg;
            EXPECT_NE(msg.find("already exists"), std::string::npos) << msg;
            EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        }
        EXPECT_THROW(
            f.write_dataset("/bad", std::vector<double>{1, 2, 3}, {2, 2}, "1", "bad", "bad"),
            std::invalid_argument);
        EXPECT_THROW(f.create_series("/y", element_type::f64, {}, "1", "y", "y", 0),
                     std::invalid_argument);
    }
    EXPECT_EQ(open_hdf5_objects(), 0);
}

TEST_F(OutputRunFile, MisuseIsRefused) {
    run_file f(dir_ / "run.h5", false);
    series& s = f.create_series("/x", element_type::f64, {}, "1", "x", "x", 4);
    series& v = f.create_series("/v", element_type::i64, {3}, "1", "v", "v", 4);
    EXPECT_THROW(s.append(std::int64_t{1}), std::invalid_argument);
    EXPECT_THROW(s.append(1.0f), std::invalid_argument);
    EXPECT_THROW(v.append(std::int64_t{1}), std::invalid_argument); // a frame is 3 values
    const std::vector<std::int64_t> four{1, 2, 3, 4};
    EXPECT_THROW(v.append(four), std::invalid_argument);
    f.start_swmr();
    EXPECT_THROW(f.start_swmr(), std::logic_error);
    EXPECT_THROW(f.create_series("/y", element_type::f64, {}, "1", "y", "y", 4), std::logic_error);
    EXPECT_THROW(f.set_attribute("/", "late", 1.0), std::logic_error);
    f.finish();
    EXPECT_THROW(s.append(1.0), std::logic_error);
    EXPECT_THROW(f.flush(), std::logic_error);
    EXPECT_THROW(f.finish(), std::logic_error);
}

TEST_F(OutputRunFile, FinalWritesThatThrowLeaveTheFileClosedAndNotRenamed) {
    const fs::path p = dir_ / "run.h5";
    spit(p, "old run");
    fs::path tmp;
    {
        run_file f(p, true);
        tmp = f.path_being_written();
        f.create_series("/x", element_type::f64, {}, "1", "x", "x", 4).append(1.0);
        EXPECT_THROW(f.finish([](finisher& fin) {
            fin.set_attribute("/", "a", 1.0);
            throw std::runtime_error("boom");
        }),
                     std::runtime_error);
    }
    EXPECT_EQ(open_hdf5_objects(), 0);
    EXPECT_EQ(slurp(p), "old run");
    reader r(tmp);
    EXPECT_EQ(r.f64("/x"), std::vector<double>{1.0});
}

TEST_F(OutputRunFile, FullDiskIsAnError) {
    // RLIMIT_FSIZE makes write(2) fail with EFBIG past 256 KiB, as a full disk fails with
    // ENOSPC: the writer must throw, not lose data silently. In a child, to keep the limit there.
    const fs::path p = dir_ / "run.h5";
    ASSERT_EQ(open_hdf5_objects(), 0);
    const int rc = in_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{256 * 1024, 256 * 1024};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 3;
        try {
            run_file f(p, false);
            series& s =
                f.create_series("/noise", element_type::f64, {256}, "1", "noise", "noise", 8);
            f.start_swmr();
            std::mt19937_64 rng(1);
            std::uniform_real_distribution<double> u;
            std::vector<double> frame(256);
            for (int i = 0; i < 1000; ++i) { // 2 MB of incompressible data
                for (double& x : frame)
                    x = u(rng);
                s.append(frame);
            }
            f.finish();
        } catch (const fireflies::error& e) {
            const std::string msg = e.what();
            std::fprintf(stderr, "expected failure: %s\n", msg.c_str());
            return msg.find("failed") != std::string::npos ? 0 : 4;
        }
        return 1; // nothing noticed
    });
    EXPECT_EQ(rc, 0);
}

TEST_F(OutputRunFile, FinishedFileIsH5dumpClean) {
    if (std::system("h5dump --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no h5dump";
    const fs::path p = dir_ / "run.h5";
    {
        run_file f(p, false);
        f.set_attribute("/", "version", std::string("0.1.0"));
        timeseries ts(f, 4);
        f.create_series("/frames", element_type::f32, {3, 2}, "1", "frames", "frames", 2);
        f.start_swmr();
        for (int i = 0; i < 10; ++i)
            ts.append({double(i), 0.5, 0.5, i, 0.1 * i});
        f.finish([](finisher& fin) { fin.write_string("/config", "a = 1", "config"); });
    }
    const std::string cmd = "h5dump " + p.string() + " >" + (dir_ / "dump.txt").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir_ / "dump.txt");
}

// ---- dimension scales (netCDF-4 layout, for xarray) ---------------------------------------------

/// The name of a dimension scale (its NAME attribute).
std::string scale_name(hid_t scale) {
    char name[128] = {};
    need(H5DSget_scale_name(scale, name, sizeof name) > 0, "H5DSget_scale_name");
    return name;
}

TEST_F(OutputRunFile, DimensionScalesNameEveryAxisAndSurviveReopening) {
    const fs::path p = dir_ / "run.h5";
    {
        run_file f(p, false);
        series& t = f.create_series("/g/t", element_type::f64, {}, "s", "time", "sample time", 4);
        series& v = f.create_series("/g/v", element_type::f64, {2}, "1", "value", "values", 4);
        f.write_dataset("/g/column", std::vector<std::int64_t>{0, 1}, {2}, "1", "column", "index");
        series& e = f.create_series("/g/e", element_type::i64, {}, "1", "event", "events", 4);
        f.set_dimensions("/g/v", {"/g/t", "/g/column"});
        f.set_dimensions("/g/v", {"/g/t", "/g/column"}); // again: attached once all the same
        f.create_dimension("/g/event", e, "event index", "one per event");
        f.set_dimensions("/g/e", {"/g/event"});
        f.create_dimension("/g/pair", 2, "pair", "a fixed dimension");
        EXPECT_THROW(f.set_dimensions("/g/v", {"/g/t"}), std::invalid_argument);
        EXPECT_THROW(f.set_dimensions("/g/v", {"/g/t", "/g/v"}), std::invalid_argument); // not 1-D
        f.start_swmr();
        EXPECT_THROW(f.set_dimensions("/g/e", {"/g/event"}), std::logic_error);
        for (int i = 0; i < 5; ++i) {
            t.append(0.5 * i);
            v.append(std::vector<double>{1.0 * i, -1.0 * i});
        }
        for (std::int64_t i = 0; i < 7; ++i)
            e.append(i);
        f.finish();
    }
    EXPECT_EQ(open_hdf5_objects(), 0);
    {
        reader r(p);
        id_guard t(H5Dopen2(r.file, "/g/t", H5P_DEFAULT), H5Dclose, "t");
        id_guard v(H5Dopen2(r.file, "/g/v", H5P_DEFAULT), H5Dclose, "v");
        id_guard column(H5Dopen2(r.file, "/g/column", H5P_DEFAULT), H5Dclose, "column");
        id_guard e(H5Dopen2(r.file, "/g/e", H5P_DEFAULT), H5Dclose, "e");
        id_guard event(H5Dopen2(r.file, "/g/event", H5P_DEFAULT), H5Dclose, "event");
        id_guard pair(H5Dopen2(r.file, "/g/pair", H5P_DEFAULT), H5Dclose, "pair");
        EXPECT_GT(H5DSis_scale(t), 0);
        EXPECT_GT(H5DSis_scale(column), 0);
        EXPECT_EQ(H5DSis_scale(v), 0);
        EXPECT_EQ(scale_name(t), "t"); // a coordinate variable is named after itself
        EXPECT_GT(H5DSis_attached(v, t, 0), 0);
        EXPECT_GT(H5DSis_attached(v, column, 1), 0);
        EXPECT_EQ(H5DSget_num_scales(v, 0), 1);
        EXPECT_EQ(H5DSget_num_scales(v, 1), 1);
        EXPECT_GT(H5DSis_attached(e, event, 0), 0);
        const std::string mark = "This is a netCDF dimension but not a netCDF variable.";
        EXPECT_EQ(scale_name(event).substr(0, mark.size()), mark);
        EXPECT_EQ(scale_name(pair), mark + "         2");
        std::vector<hsize_t> max;
        EXPECT_EQ(r.dims("/g/event", &max), std::vector<hsize_t>{7});
        EXPECT_EQ(max, std::vector<hsize_t>{H5S_UNLIMITED});
        EXPECT_EQ(r.dims("/g/pair", &max), std::vector<hsize_t>{2});
        EXPECT_EQ(max, std::vector<hsize_t>{2});
        EXPECT_EQ(r.attr_string("/g/event", "long_name"), "event index");
        EXPECT_EQ(r.attr_string("/g/event", "units"), "1");
        EXPECT_EQ(r.attr_string("/g/event", "description"), "one per event");
        EXPECT_EQ(r.f64("/g/t"), (std::vector<double>{0, 0.5, 1, 1.5, 2}));
    }
    {
        // A restart: the series cut back, the dimension with them, the scales kept.
        run_file f = run_file::reopen(p);
        series& e = f.continue_series("/g/e", 3);
        f.create_dimension("/g/event", e, "event index", "one per event");
        f.set_dimensions("/g/e", {"/g/event"});
        f.start_swmr();
        e.append(std::int64_t{30});
        f.finish();
    }
    reader r(p);
    EXPECT_EQ(r.i64("/g/e"), (std::vector<std::int64_t>{0, 1, 2, 30}));
    EXPECT_EQ(r.dims("/g/event"), std::vector<hsize_t>{4});
    id_guard e(H5Dopen2(r.file, "/g/e", H5P_DEFAULT), H5Dclose, "e");
    id_guard event(H5Dopen2(r.file, "/g/event", H5P_DEFAULT), H5Dclose, "event");
    EXPECT_GT(H5DSis_attached(e, event, 0), 0);
    EXPECT_EQ(H5DSget_num_scales(e, 0), 1);
}

// ---- SWMR readers ------------------------------------------------------------------------------

using OutputSwmr = OutputTest;

TEST_F(OutputSwmr, CReaderFollowsTheFileWhileItGrows) {
    // The writer is a child process; this process reads with H5F_ACC_SWMR_READ while the
    // child still has the file open, and sees the dataset grow after H5Drefresh.
    const fs::path p = dir_ / "run.h5";
    int to_reader[2], to_writer[2];
    ASSERT_EQ(::pipe(to_reader), 0);
    ASSERT_EQ(::pipe(to_writer), 0);
    ASSERT_EQ(open_hdf5_objects(), 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 0;
        char go = 0;
        try {
            run_file f(p, false);
            series& s = f.create_series("/x", element_type::f64, {}, "1", "x", "x", 4);
            f.start_swmr();
            for (int i = 0; i < 10; ++i)
                s.append(double(i));
            f.flush();
            if (::write(to_reader[1], "1", 1) != 1 || ::read(to_writer[0], &go, 1) != 1) _exit(5);
            for (int i = 10; i < 25; ++i)
                s.append(double(i));
            f.flush();
            if (::write(to_reader[1], "2", 1) != 1 || ::read(to_writer[0], &go, 1) != 1) _exit(5);
            f.finish();
        } catch (...) {
            rc = 6;
        }
        ::_exit(rc);
    }
    ::close(to_reader[1]);
    ::close(to_writer[0]);
    char step = 0;
    ASSERT_EQ(::read(to_reader[0], &step, 1), 1);
    {
        id_guard file(H5Fopen(p.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT), H5Fclose,
                      "SWMR open");
        id_guard d(H5Dopen2(file, "/x", H5P_DEFAULT), H5Dclose, "open /x");
        auto frames = [&] {
            id_guard s(H5Dget_space(d), H5Sclose, "space");
            hsize_t n = 0;
            H5Sget_simple_extent_dims(s, &n, nullptr);
            std::vector<double> v(n);
            if (n) H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
            return v;
        };
        std::vector<double> expect;
        for (int i = 0; i < 10; ++i)
            expect.push_back(i);
        EXPECT_EQ(frames(), expect);
        ASSERT_EQ(::write(to_writer[1], "g", 1), 1);
        ASSERT_EQ(::read(to_reader[0], &step, 1), 1);
        ASSERT_GE(H5Drefresh(d), 0);
        for (int i = 10; i < 25; ++i)
            expect.push_back(i);
        EXPECT_EQ(frames(), expect);
    }
    ASSERT_EQ(::write(to_writer[1], "g", 1), 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ::close(to_reader[0]);
    ::close(to_writer[1]);
}

TEST_F(OutputSwmr, H5pyFollowsTheFileWhileItGrows) {
    const std::string py = python_with_h5py();
    if (py.empty()) GTEST_SKIP() << "no python3 with h5py (set FIREFLIES_PYTHON)";
    const fs::path script = dir_ / "follow.py";
    spit(script, R"(import sys, time, h5py
f = h5py.File(sys.argv[1], "r", swmr=True)
R = f["/timeseries/R"]
print(R.shape[0], flush=True)
deadline = time.time() + 30
while R.shape[0] < 25 and time.time() < deadline:
    time.sleep(0.01)
    R.refresh()
print(R.shape[0], round(float(R[:].sum()), 9), R.attrs["units"], flush=True)
)");
    const fs::path p = dir_ / "run.h5";
    run_file f(p, false);
    timeseries ts(f, 8);
    f.start_swmr();
    for (int i = 0; i < 10; ++i)
        ts.append({0.5 * i, 0.01 * i, 0.0, 0, 0.0});
    f.flush();
    FILE* reader_out = ::popen((py + " " + script.string() + " " + p.string()).c_str(), "r");
    ASSERT_NE(reader_out, nullptr);
    char line[256] = {};
    ASSERT_NE(std::fgets(line, sizeof line, reader_out), nullptr);
    EXPECT_STREQ(line, "10\n"); // h5py opened the file the writer still holds open
    for (int i = 10; i < 25; ++i)
        ts.append({0.5 * i, 0.01 * i, 0.0, 0, 0.0});
    f.flush();
    ASSERT_NE(std::fgets(line, sizeof line, reader_out), nullptr);
    EXPECT_STREQ(line, "25 3.0 1\n"); // the same open file, refreshed, sees all 25 samples
    EXPECT_EQ(::pclose(reader_out), 0);
    f.finish();
}

// ---- timeseries --------------------------------------------------------------------------------

using OutputTimeseries = OutputTest;

TEST_F(OutputTimeseries, LayoutUnitsAndValues) {
    const fs::path p = dir_ / "run.h5";
    std::vector<sample_row> rows;
    for (int i = 0; i < 7; ++i)
        rows.push_back({0.5 * (i + 1), 1.0 / (i + 1), 0.9 - 0.1 * i, 3 * i, 0.25 * i});
    {
        run_file f(p, false);
        timeseries ts(f, 3);
        f.start_swmr();
        for (const auto& row : rows)
            ts.append(row);
        EXPECT_EQ(ts.size(), rows.size());
        f.finish();
    }
    reader r(p);
    std::vector<double> t, R, R_state, pulse;
    std::vector<std::int64_t> flashes;
    for (const auto& row : rows) {
        t.push_back(row.t);
        R.push_back(row.R);
        R_state.push_back(row.R_state);
        flashes.push_back(row.flashes);
        pulse.push_back(row.pulse);
    }
    EXPECT_EQ(r.f64("/timeseries/t"), t);
    EXPECT_EQ(r.f64("/timeseries/R"), R);
    EXPECT_EQ(r.f64("/timeseries/R_state"), R_state);
    EXPECT_EQ(r.i64("/timeseries/flashes"), flashes);
    EXPECT_EQ(r.f64("/timeseries/pulse"), pulse);
    const std::pair<const char*, const char*> units[] = {{"t", "s"},
                                                         {"R", "1"},
                                                         {"R_state", "1"},
                                                         {"flashes", "flashes"},
                                                         {"pulse", "flashes per firefly"}};
    for (const auto& [name, unit] : units) {
        const std::string path = std::string("/timeseries/") + name;
        EXPECT_EQ(r.attr_string(path, "units"), unit) << path;
        EXPECT_FALSE(r.attr_string(path, "long_name").empty()) << path;
        EXPECT_FALSE(r.attr_string(path, "description").empty()) << path;
    }
    EXPECT_EQ(r.attr_string("/timeseries/t", "description"), "simulated time of the sample");
    EXPECT_EQ(r.attr_string("/timeseries/R", "description"),
              "order parameter computed the seed's way from the time since each firefly's last "
              "flash");
    EXPECT_EQ(r.attr_string("/timeseries/R_state", "description"),
              "order parameter of the true phases");
    EXPECT_EQ(r.attr_string("/timeseries/flashes", "description"),
              "flashes in the interval (previous sample, t]");
    EXPECT_EQ(r.attr_string("/timeseries/pulse", "description"),
              "flashes so far divided by the number of fireflies");
}

// ---- run_writer: the run file's schema, written and read back ---------------------------------

TEST_F(OutputTest, RunWriterWritesTheScheduleAndTheRegionsFlashes) {
    run_config c;
    c.width = 6;
    c.height = 4;
    c.record_flashes = true;
    c.record_region = {1, 1, 2, 2}; // cells (1,1) (2,1) (1,2) (2,2): agents 7, 8, 13, 14
    const decomposition d(c.width, c.height, 2);
    const fs::path path = dir_ / "run.h5";
    {
        run_writer w(c, d, path, run_writer::identity{3, "width = 6\n", nullptr});
        // Any order within the interval; written sorted by (time, firefly), outside ones dropped.
        const std::vector<flash_event> events{{30, 14}, {10, 0},  {10, 8},
                                              {20, 7},  {30, 23}, {10, 7}};
        w.add_flashes(events);
        sample s;
        s.t = to_ticks(0.5);
        s.R = 0.25;
        s.R_state = 0.5;
        s.flashes = 6;
        s.pulse = 0.25;
        s.largest_volley = 3;
        s.block_R = {0.1, 0.2};
        s.block_R_state = {0.3, 0.4};
        w.append(s);
        EXPECT_EQ(w.flashes_recorded(), 4);
        EXPECT_EQ(w.samples(), 1u);
        run_totals totals;
        totals.reached = s.t;
        totals.finals.resize(2);
        w.finish(totals, run_ending{"complete", 1.5, 0.25, 10}, 0.125);
    }
    reader r(path);
    EXPECT_EQ(r.i64("/flashes/agent"), (std::vector<std::int64_t>{7, 8, 7, 14}));
    EXPECT_EQ(r.f64("/flashes/t"), (std::vector<double>{1e-8, 1e-8, 2e-8, 3e-8}));
    EXPECT_EQ(r.attr_values<std::int64_t>("/flashes", "region", H5T_NATIVE_INT64, H5T_STD_I64LE),
              (std::vector<std::int64_t>{1, 1, 2, 2}));
    EXPECT_EQ(r.f64("/timeseries/R"), std::vector<double>{0.25});
    EXPECT_EQ(r.i64("/timeseries/largest_volley"), std::vector<std::int64_t>{3});
    EXPECT_EQ(r.f64("/blocks/R_state"), (std::vector<double>{0.3, 0.4}));
    EXPECT_EQ(r.i64("/blocks/rank"), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(r.i64("/blocks/geometry").size(), 8u);
    EXPECT_EQ(r.f64("/perf/output"), (std::vector<double>{0.125, 0, 0}));
    EXPECT_EQ(r.f64("/perf/hub"), (std::vector<double>{0.25, 0, 0}));
    EXPECT_EQ(r.attr_string("/", "status"), "complete");
    EXPECT_EQ(r.attr_values<std::int64_t>("/", "mpi_size", H5T_NATIVE_INT64, H5T_STD_I64LE),
              std::vector<std::int64_t>{3});
}
