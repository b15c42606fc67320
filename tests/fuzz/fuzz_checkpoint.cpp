// libFuzzer target: the restart-file reader. The input's bytes are written to a file and read
// as `--restart FILE` is (src/app/program.cpp): at rank 0
//   checkpoint_reader r(FILE); from_toml(r.meta().config_toml);
// then what the workers read, through the same code as their MPI-IO reads but serially (sec2):
// every block of the saved grid's decomposition for 1, 2 and 7 readers through r.read_block(),
// with the readers' checksum shares added up and checked (check_block_sums).
// Only fireflies::error may come out (usage_error, hdf5_error, ...), and read_block reports a bad
// checkpoint in its `problem`; anything else (another exception, a crash, a sanitizer report, a
// hang, an out-of-memory) is a finding. Blocks are only read for grids of at most max_cells
// cells, so that a (valid) checkpoint of a huge grid does not exhaust the fuzzer's memory by
// design.
#include "config/cli.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"
#include "fuzz_temp_file.hpp"
#include "output/checkpoint_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr std::int64_t max_cells = 1 << 16;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // The reader opens files read-only; HDF5 1.10's file locking is no use on a private file.
    ::setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::temp_path("checkpoint");
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f) return 0;
        const bool ok = std::fwrite(data, 1, size, f) == size;
        std::fclose(f);
        if (!ok) return 0;
    }
    try {
        const fireflies::output::checkpoint_reader reader(path);
        (void)fireflies::config::from_toml(reader.meta().config_toml, "checkpoint fuzz.h5");
        const std::int64_t width = reader.width(), height = reader.height();
        if (width * height > max_cells) return 0;
        const auto& layout = reader.layout();
        for (int readers : {1, 2, 7}) {
            if (readers > width * height) break;
            const fireflies::decomposition d(width, height, readers);
            std::vector<std::uint64_t> sums(layout.checksums.size(), 0);
            bool read = true;
            for (int w = 0; w < d.workers() && read; ++w) {
                const fireflies::output::restored_block b = reader.read_block(d.block_of(w));
                read = b.problem.empty();
                for (std::size_t i = 0; read && i < sums.size() && i < b.sums.size(); ++i)
                    sums[i] += b.sums[i];
                // What a worker keeps (and the block_state round trip of the unit tests).
                if (read) (void)fireflies::block_state::unpack(b.state.pack());
            }
            if (read)
                (void)fireflies::output::check_block_sums(path, width, height, layout.checksums,
                                                          sums);
        }
    } catch (const fireflies::error&) {
    }
    return 0;
}
