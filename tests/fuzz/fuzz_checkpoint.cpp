// libFuzzer target: the restart-file reader. The input's bytes are written to a file and read
// as `--restart FILE` is at rank 0 (src/app/program.cpp):
//   checkpoint_reader r(FILE); from_toml(r.meta().config_toml); then every block of the saved
//   grid's decomposition for 1, 2 and 7 workers through r.read_block().
// Only fireflies::error may come out (usage_error, hdf5_error, ...); anything else (another
// exception, a crash, a sanitizer report, a hang, an out-of-memory) is a finding. Blocks are only
// read for grids of at most max_cells cells, so that a (valid) checkpoint of a huge grid does
// not exhaust the fuzzer's memory by design.
#include "config/cli.hpp"
#include "fuzz_temp_file.hpp"
#include "fireflies/checkpoint.hpp"
#include "fireflies/decomposition.hpp"
#include "fireflies/error.hpp"
#include "output/checkpoint_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

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
        const auto& meta = reader.meta();
        const fireflies::run_config saved = fireflies::config::from_toml(meta.config_toml, "checkpoint fuzz.h5");
        if (saved.width * saved.height > max_cells) return 0;
        for (int workers : {1, 2, 7}) {
            if (workers > saved.width * saved.height) break;
            const fireflies::decomposition d(saved.width, saved.height, workers);
            for (int w = 0; w < d.workers(); ++w) {
                const fireflies::block_state b = reader.read_block(d.block_of(w));
                // What the hub then sends to the worker, and the worker unpacks.
                (void)fireflies::block_state::unpack(b.pack());
            }
        }
    } catch (const fireflies::error&) {
    }
    return 0;
}
