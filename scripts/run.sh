#!/usr/bin/env bash
# The main job with its defaults: builds the fireflies program (release), installs it, and runs
#   mpirun -np 8 fireflies [fireflies options]
# on this machine. Ranks: FIREFLIES_RANKS (default 8). Install prefix: FIREFLIES_PREFIX
# (default /usr/local as root, else ~/.local): PREFIX/bin/fireflies, the job scripts and these
# scripts under PREFIX/share/fireflies, and the analysis package where Debian's python3 looks for
# PREFIX (/usr/local/lib/python3.X/dist-packages, and for ~/.local its user site directory:
# `import fireflies_analysis` then works anywhere with /usr/bin/python3; a venv: see
# scripts/pyproject.toml).
# Output: the path printed at the start and end.
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
build=$("$root/scripts/build.sh" release fireflies)  # the program; the tests are test.sh's
if [[ $(id -u) == 0 ]]; then prefix=${FIREFLIES_PREFIX:-/usr/local}; else prefix=${FIREFLIES_PREFIX:-$HOME/.local}; fi
cmake --install "$build" --prefix "$prefix" >/dev/null
ranks=${FIREFLIES_RANKS:-8}

launch=(mpirun -np "$ranks")
# Only what this machine needs: Open MPI refuses root without being told, and refuses more
# ranks than cores unless oversubscription is allowed.
[[ $(id -u) == 0 ]] && launch+=(--allow-run-as-root)
((ranks > $(nproc))) && launch+=(--oversubscribe)
echo "fireflies: ${launch[*]} $prefix/bin/fireflies $*" >&2
exec "${launch[@]}" "$prefix/bin/fireflies" "$@"
