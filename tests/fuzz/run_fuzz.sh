#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, built with clang in a build of their own and run for a
# bounded time. Called by CTest (tests/fuzz/CMakeLists.txt); by hand:
#
#   tests/fuzz/run_fuzz.sh build SOURCE_DIR FUZZ_BUILD_DIR VERSION_CPP
#       configures and builds tests/fuzz/project with clang++ into FUZZ_BUILD_DIR
#   tests/fuzz/run_fuzz.sh run TARGET SOURCE_DIR FUZZ_BUILD_DIR [SECONDS] [FIREFLIES_BIN]
#       TARGET is config, checkpoint or report: replays every file of tests/fuzz/regressions/TARGET, then
#       fuzzes for SECONDS (default 30; env FIREFLIES_FUZZ_SECONDS overrides) starting from
#       tests/fuzz/corpus/TARGET (and, for checkpoint, a checkpoint FIREFLIES_BIN writes now, so
#       that a seed of this very version is always there).
#
# Fails (exit 1) on any crash, sanitizer report, leak, timeout (-timeout=10 s per input) or
# out-of-memory (-rss_limit_mb=2048), printing the input and where libFuzzer saved it; copy it
# into tests/fuzz/regressions/TARGET/ to keep it as a regression test. Exit 77 (skipped) when
# clang++ or libFuzzer is missing (apt-get install -y clang libclang-rt-14-dev).
#
# Environment: FIREFLIES_FUZZ_SECONDS, FIREFLIES_FUZZ_KEEP_CORPUS=1 (keep the grown corpus in
# FUZZ_BUILD_DIR between runs instead of starting from the seeds each time), CXX_FUZZ (clang++).
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:?usage: run_fuzz.sh build|run ...}
shift

skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}

if [[ $mode == build ]]; then
    source_dir=${1:?SOURCE_DIR}
    build_dir=${2:?FUZZ_BUILD_DIR}
    version_cpp=${3:?VERSION_CPP}
    cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
    [[ -n $cxx ]] || skip "no clang++ (apt-get install -y clang libclang-rt-14-dev)"
    probe=$(mktemp -d)
    trap 'rm -rf "$probe"' EXIT
    printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
    "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/log" ||
        skip "$cxx cannot link -fsanitize=fuzzer,address,undefined (apt-get install -y libclang-rt-14-dev): $(head -c 400 "$probe/log")"
    cmake -S "$here/project" -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DFIREFLIES_SOURCE_DIR="$source_dir" -DFIREFLIES_VERSION_CPP="$version_cpp" >"$build_dir.configure.log" 2>&1 ||
        { cat "$build_dir.configure.log"; exit 1; }
    cmake --build "$build_dir" -j "${FIREFLIES_FUZZ_JOBS:-2}"
    exit 0
fi

[[ $mode == run ]] || { echo "usage: run_fuzz.sh build|run ..." >&2; exit 2; }
target=${1:?TARGET (config, checkpoint or report)}
source_dir=${2:?SOURCE_DIR}
build_dir=${3:?FUZZ_BUILD_DIR}
seconds=${FIREFLIES_FUZZ_SECONDS:-${4:-30}}
fireflies_bin=${5:-}
bin=$build_dir/fuzz_$target
[[ -x $bin ]] || skip "$bin was not built (see the test fuzz_build)"

seeds=$here/corpus/$target
regressions=$here/regressions/$target
work=$build_dir/work/$target
artifacts=$build_dir/artifacts/$target
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fireflies-fuzz-$target.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[[ ${FIREFLIES_FUZZ_KEEP_CORPUS:-0} == 1 ]] || rm -rf "$work"
mkdir -p "$work" "$artifacts"

export TMPDIR=$tmp HDF5_USE_FILE_LOCKING=FALSE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
dict=()
[[ -f $here/$target.dict ]] && dict=(-dict="$here/$target.dict")
limits=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10)
status=0

show_artifacts() {
    local f
    for f in "$artifacts"/*; do
        [[ -f $f ]] || continue
        echo "---- $f ($(stat -c %s "$f") bytes)"
        if (($(stat -c %s "$f") <= 1024)); then
            echo "base64: $(base64 -w 0 "$f")"
        fi
    done
}

# 1. Regressions: every input that once crashed, run once each.
mapfile -t replay < <(find "$regressions" -type f ! -name '*.md' ! -name '.*' 2>/dev/null | sort)
if ((${#replay[@]})); then
    echo "== replaying ${#replay[@]} regression input(s) of $regressions"
    for f in "${replay[@]}"; do
        if ! out=$(timeout 120 "$bin" "${limits[@]}" "$f" 2>&1); then
            echo "REGRESSION FAILS: $f"
            echo "$out" | grep -vE '^(INFO|MERGE|#)' | head -60
            status=1
        else
            echo "ok: $f"
        fi
    done
fi

# 2. A fresh checkpoint from this build's program, as a seed of the current version.
if [[ $target == checkpoint && -n $fireflies_bin && -x $fireflies_bin ]]; then
    (cd "$tmp" && "$fireflies_bin" --width 6 --height 5 --duration 1.5 --seed 3 -o seed-run.h5 \
        --checkpoint seed.h5 --checkpoint-every 1 >/dev/null 2>&1 && cp seed.h5 "$work/fresh-checkpoint.h5") ||
        echo "note: $fireflies_bin did not write a fresh seed checkpoint; fuzzing from the checked-in seeds only"
fi

# 3. Fuzzing, bounded. New inputs go to $work, never into the checked-in corpus.
echo "== fuzzing fuzz_$target for ${seconds} s (seeds: $seeds)"
rm -f "$artifacts"/*
t0=$(date +%s)
set +e
timeout $((seconds + 300)) "$bin" "${limits[@]}" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$seeds" >"$tmp/fuzz.log" 2>&1
rc=$?
set -e
grep -E '^(INFO: seed corpus|#[0-9]+ +(INITED|DONE))|^stat::|^Done ' "$tmp/fuzz.log" || true
echo "fuzz_$target: exit $rc after $(($(date +%s) - t0)) s; corpus now $(find "$work" -type f | wc -l) files"
if ((rc != 0)); then
    echo "FUZZ FINDING in fuzz_$target (libFuzzer exit $rc):"
    grep -vE '^(INFO|#[0-9]+ |\s+NEW_FUNC)' "$tmp/fuzz.log" | head -120
    show_artifacts
    echo "To keep it: cp ARTIFACT $regressions/  (and report the bug)"
    status=1
fi
exit $status
