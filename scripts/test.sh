#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the release preset, runs CTest (unit, MPI
# end-to-end, Python/notebook, studies, terminal view, Slurm, fuzzing, docs), then the unit and MPI
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer (skip with FIREFLIES_SKIP_SANITIZE=1).
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit (and skip the sanitizer pass).
# CTest runs tests side by side, one per core (FIREFLIES_TEST_JOBS=N to change): a test that starts
# several ranks declares them (PROCESSORS) and so runs beside nothing that would take its cores;
# the timing-sensitive ones (faults, Slurm, the newcomer) run alone (RUN_SERIAL).
# Labels: unit, mpi, e2e, sanitize, checkpoint, output, paraview, python, studies, view, slurm,
# fuzz, faults, load, bench, docs, newcomer
# (what each covers: docs/reliability.md, "What is tested where").
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" release >/dev/null
jobs=${FIREFLIES_TEST_JOBS:-$(nproc)}
ctest --preset release --timeout 900 --parallel "$jobs" "$@"
if [[ ${FIREFLIES_SKIP_SANITIZE:-0} != 1 && $# == 0 ]]; then
    "$root/scripts/build.sh" sanitize >/dev/null
    ctest --preset sanitize -L 'unit|sanitize' --timeout 900 --parallel "$jobs"
fi
