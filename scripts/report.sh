#!/usr/bin/env bash
# Figures and a summary of one fireflies run.
#
#   scripts/report.sh OUTPUT.h5 [OUTDIR]
#
# Writes OUTDIR (default: OUTPUT-report/ beside OUTPUT.h5) with
#   summary.txt, summary.json          key numbers (time to R = 0.9 / 0.99, final R, flash rate,
#                                      totals check), units on every line
#   order_parameter.png                R and R_state against simulated time, flashes per sample
#   flash_raster.png                   every flash (runs made with --record-flashes)
#   snapshot_first.png, snapshot_last.png, snapshots.gif
#                                      phase snapshots (runs made with --snapshot-every; the GIF
#                                      needs the Debian package python3-pil)
#   blocks_R.png, blocks_final_R.png   order parameter of each worker's block
#
# Needs Python 3 with h5py, numpy and matplotlib (Debian: python3-h5py python3-numpy
# python3-matplotlib). Set PYTHON to choose the interpreter; by default the first of python3 and
# /usr/bin/python3 that imports them is used. The analysis package lives next to this script.
set -Eeuo pipefail

usage() { echo "usage: ${0##*/} OUTPUT.h5 [OUTDIR]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 != -h && $1 != --help ]] || { sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0; }

input=$1
[[ -f $input ]] || { echo "${0##*/}: no such file: $input" >&2; exit 1; }
if [[ $# -eq 2 ]]; then
    outdir=$2
else
    outdir=${input%.h5}-report
fi

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg

python=${PYTHON:-}
if [[ -z $python ]]; then
    for candidate in python3 /usr/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import h5py, numpy, matplotlib' >/dev/null 2>&1; then
            python=$candidate
            break
        fi
    done
fi
if [[ -z $python ]]; then
    echo "${0##*/}: no Python 3 with h5py, numpy and matplotlib found" \
         "(apt-get install python3-h5py python3-numpy python3-matplotlib, or set PYTHON)" >&2
    exit 1
fi

"$python" -m fireflies_analysis report "$input" --output "$outdir"
