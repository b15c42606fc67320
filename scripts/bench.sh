#!/usr/bin/env bash
# The fireflies benchmark (issue 3): builds the release preset (with the hub microbenchmark
# hub_bench), runs the program on 100x100, 1000x1000 and 2000x2000 grids (drop mode, 60 s
# simulated) at P = 2 and 3 ranks, with the flat reference engine, summary telemetry, the memory
# per firefly at 4000x4000 and hub_bench, and prints ONE table: each figure the median of
# --repeats runs with its spread (min-max). The results also go to JSON (--json, default
# bench-results.json in the current folder).
#
#   scripts/bench.sh [--repeats 3] [--ranks 2,3] [--duration 60] [--budget 900]
#                    [--grids 100x100,1000x1000,2000x2000] [--json bench-results.json] ...
#   scripts/bench.sh --help          every option (they are scripts/bench.py's)
#   scripts/bench.sh --smoke         tiny grids, checks the bench itself in well under a minute
#   scripts/bench.sh --scaling [...] strong and weak scaling instead (scripts/scaling.py: 1, 2,
#                                    4, ... workers and one per core, events and summary
#                                    telemetry; --scaling --help lists its options)
#   scripts/bench.sh --hub-rounds [...] the hub's work per sample at 64 ... 8192 workers
#                                    (tests/bench/hub_rounds_bench: fabricated summary reports,
#                                    no MPI; options --samples, --workers, --order)
#
# Time: at 60 s simulated on every grid, 3 repeats, the runs cost ~3.8e9 firefly-seconds in all;
# at the program's rate on this 2-core machine (~1.8e7 firefly-s per wall-s per worker, see
# docs/performance.md) that is about 4 minutes (a full run at 17:45 UTC on 2026-11-28: 3.4 min). A calibration
# (two short 1000x1000 runs, the faster counts) first measures the rate and, when the plan, with
# a margin of --safety 1.4 for a shared machine's changing load, would take longer than --budget
# wall seconds (default 900 = 15 min), shortens the largest grids, holding every run to the same
# number of firefly-seconds; the table header then says so and which durations ran. --budget 0
# never shortens (the issue's full benchmark).
#
# Environment: FIREFLIES_BENCH_PYTHON (default /usr/bin/python3, which must import h5py and
# numpy), FIREFLIES_BENCH_NO_BUILD=1 to use the existing build/release as it is.
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${FIREFLIES_BENCH_PYTHON:-/usr/bin/python3}

script=bench.py
if [[ ${1:-} == --hub-rounds ]]; then
    shift
    build=$("$root/scripts/build.sh" release | tail -n 1)
    cmake --build "$build" --target hub_rounds_bench -j "$(nproc)" >&2
    for order in random ascending; do "$build/tests/bench/hub_rounds_bench" --order "$order" "$@"; done
    exit 0
fi
if [[ ${1:-} == --scaling ]]; then
    script=scaling.py
    shift
fi

for arg in "$@"; do
    if [[ $arg == -h || $arg == --help ]]; then
        [[ $script == scaling.py ]] && exec "$python" "$root/scripts/scaling.py" --binary /dev/null --help
        sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        echo
        exec "$python" "$root/scripts/bench.py" --binary /dev/null --help
    fi
done

if ! "$python" -c 'import h5py, numpy' 2>/dev/null; then
    echo "bench.sh: $python cannot import h5py and numpy (apt-get install python3-h5py python3-numpy," \
         "or set FIREFLIES_BENCH_PYTHON)" >&2
    exit 2
fi

build=$root/build/release
if [[ ${FIREFLIES_BENCH_NO_BUILD:-0} != 1 ]]; then
    echo "bench.sh: building the release preset" >&2
    if [[ -x $root/scripts/build.sh ]]; then
        build=$("$root/scripts/build.sh" release | tail -n 1)
    else
        (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j "$(nproc)" >&2)
    fi
    # hub_bench is part of the default build; built again by name in case a tree configured
    # before tests/bench existed, or with the tests off, lacks it.
    cmake --build "$build" --target hub_bench -j "$(nproc)" >&2 ||
        echo "bench.sh: warning: could not build hub_bench; the hub microbenchmark is skipped" >&2
fi
binary=$build/src/fireflies
hub_bench=$build/tests/bench/hub_bench
[[ -x $binary ]] || { echo "bench.sh: no $binary after the build" >&2; exit 2; }
hub_args=()
[[ -x $hub_bench ]] && hub_args=(--hub-bench "$hub_bench")

# mpirun from the same MPI the build found, else the first on PATH. Root and oversubscription
# (more ranks than cores) are allowed per run by bench.py, only where this machine needs them.
mpirun=$(sed -n 's/^MPIEXEC_EXECUTABLE:FILEPATH=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[[ -n $mpirun && -x $mpirun ]] || mpirun=$(command -v mpirun || command -v mpiexec || echo mpirun)

export FIREFLIES_BENCH_INVOCATION="scripts/bench.sh${*:+ $*}"
[[ $script == scaling.py ]] && hub_args=()
exec "$python" "$root/scripts/$script" --binary "$binary" "${hub_args[@]}" --mpirun "$mpirun" "$@"
