#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) and prints the build folder.
#   scripts/build.sh [release|debug|sanitize]
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-release}
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" >&2
echo "$root/build/$preset"
