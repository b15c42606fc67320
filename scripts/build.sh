#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) and prints the build folder.
#   scripts/build.sh [release|debug|sanitize] [TARGET...]
# With targets, builds only those (run.sh: just `fireflies`, not the tests).
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-release}
targets=()
for t in "${@:2}"; do targets+=(--target "$t"); done
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}" >&2
echo "$root/build/$preset"
