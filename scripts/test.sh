#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the release preset, runs CTest (unit, MPI
# end-to-end, Python/notebook, studies, terminal view, Slurm, fuzzing, docs), then the unit and MPI
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer (skip with FIREFLIES_SKIP_SANITIZE=1).
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit (and skip the sanitizer pass).
# Labels: unit, mpi, e2e, sanitize, checkpoint, output, paraview, python, studies, view, slurm,
# fuzz, faults, load, bench, docs, newcomer
# (what each covers: docs/reliability.md, "What is tested where").
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" release >/dev/null
ctest --preset release --timeout 900 "$@"
if [[ ${FIREFLIES_SKIP_SANITIZE:-0} != 1 && $# == 0 ]]; then
    "$root/scripts/build.sh" sanitize >/dev/null
    ctest --preset sanitize -L 'unit|sanitize' --timeout 900
fi
