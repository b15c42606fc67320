#!/bin/bash
# Study 1 at cluster sizes (L = 2048, 4096, 8192; docs/studies.md): submits every run as its own
# checkpointed, requeued jobs/fireflies.sbatch job (17, 65 and 257 ranks: one worker per
# 512 x 512 cells), into OUT (default study-size-cluster), and says how to make the report
# when the jobs are done.
#
#   scripts/studies/submit_cluster.sh [OUT]
#   SBATCH_ARGS="--time=12:00:00 --partition=big" scripts/studies/submit_cluster.sh
#   DRY_RUN=1 scripts/studies/submit_cluster.sh      # print the sbatch commands only
#
# Knobs (environment): SBATCH_ARGS (more sbatch options, word-split; default --time=12:00:00),
# PROFILE (default cluster), FIREFLIES_BIN (else fireflies on PATH), PYTHON (else the first of
# /usr/bin/python3 and python3 that imports h5py), DRY_RUN=1.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
study=$here/time_to_sync_vs_size.toml
out=${1:-study-size-cluster}
profile=${PROFILE:-cluster}
sbatch_args=${SBATCH_ARGS:---time=12:00:00}
bin=${FIREFLIES_BIN:-$(command -v fireflies || true)}
log() { printf 'submit_cluster.sh: %s\n' "$*" >&2; }

[[ -n $bin && -x $bin ]] || { log "fireflies not found: put it on PATH or set FIREFLIES_BIN"; exit 2; }
python=${PYTHON:-}
if [[ -z $python ]]; then
  for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'import h5py, numpy, matplotlib' 2>/dev/null; then python=$candidate; break; fi
  done
fi
[[ -n $python ]] || { log "no python3 with h5py, numpy and matplotlib"; exit 2; }
# The package beside this script when run from the source tree.
export PYTHONPATH=$here/..${PYTHONPATH:+:$PYTHONPATH}
if [[ ${DRY_RUN:-0} != 1 ]] && ! command -v sbatch >/dev/null; then
  log "sbatch not found: run this on a Slurm login node (DRY_RUN=1 prints the commands)"
  exit 2
fi

args=(study "$study" --profile "$profile" --out "$out" --fireflies "$bin" --slurm long
      --sbatch-args "$sbatch_args")
[[ ${DRY_RUN:-0} == 1 ]] && args+=(--dry-run)
"$python" -m fireflies_analysis "${args[@]}"
log "when every job is done: $python -m fireflies_analysis study $study --profile $profile --out $out --report-only"
