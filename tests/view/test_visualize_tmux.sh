#!/usr/bin/env bash
# End-to-end check of `fireflies --visualize` in a real (tmux) terminal: the grid and the status
# bar are drawn, frames change, the R on screen is the R in the HDF5 file, and Ctrl-C gives the
# terminal back and leaves a valid HDF5 file.
#
# Usage: tests/view/test_visualize_tmux.sh /path/to/fireflies
# Environment (all optional):
#   LAUNCHER   command put before the binary, e.g. "mpirun -np 3" (default: none, P = 1)
#   DURATION   simulated seconds (default 20)       SPEED   simulated s per wall s (default 4)
#   COLS ROWS  terminal size (default 120 x 40)     EXTRA   more fireflies options
#   KEEP=1     keep the work directory (captures, output) even when the test passes
# Exit status: 0 pass, 1 fail, 77 skipped (no tmux or h5dump), as ctest's SKIP_RETURN_CODE.
set -Eeuo pipefail
export LC_ALL=C.UTF-8 # `██` and `░` are matched as characters

bin=${1:?usage: $0 /path/to/fireflies}
[[ -x $bin ]] || { echo "not an executable: $bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
for tool in tmux h5dump python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not found" >&2; exit 77; }
done

launcher=${LAUNCHER:-}
duration=${DURATION:-20}
speed=${SPEED:-4}
cols=${COLS:-120}
rows=${ROWS:-40}
extra=${EXTRA:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/fireflies-view.XXXXXX")
socket="fireflies-view-$$"
tmx() { tmux -u -L "$socket" -f /dev/null "$@"; } # -u: UTF-8 whatever the locale
failed=0
cleanup() {
    tmx kill-server 2>/dev/null || true
    if [[ $failed == 0 && ${KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept: $work" >&2; fi
}
trap cleanup EXIT
fail() { failed=1; echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# One shell in a detached session of fixed size; the pane stays when its command ends.
tmx new-session -d -s view -x "$cols" -y "$rows" "bash --norc --noprofile"
tmx set-option -g remain-on-exit on >/dev/null
run="$launcher '$bin' --visualize --duration $duration --speed $speed -o out.h5 $extra"
echo "running: $run (in $work, terminal ${cols}x$rows)"
tmx send-keys -t view "cd '$work' && $run; echo fireflies-exit=\$?" Enter

capture() { tmx capture-pane -t view -e -p; }     # with colours: what the terminal shows
text() { tmx capture-pane -t view -p; }            # without
pane() { tmx display-message -p -t view "$1"; }

# Wait for the first frame (MPI start-up can take a while).
for ((i = 0; i < 300; i++)); do
    text | grep -q 'Agents:' && break
    if text | grep -q '^fireflies-exit=[0-9]'; then text >&2; fail "fireflies ended before drawing"; fi
    sleep 0.1
done
text | grep -q 'Agents:' || { text >&2; fail "no status bar after 30 s"; }

# A few frames, 0.7 s of wall clock apart (~3 simulated seconds at speed 4).
for k in 1 2 3; do
    sleep 0.7
    capture >"$work/frame$k.ansi"
    text >"$work/frame$k.txt"
done
[[ $(pane '#{alternate_on}') == 1 ]] || fail "the view is not on the alternate screen"
[[ $(pane '#{cursor_flag}') == 0 ]] || fail "the cursor is visible during the view"

# The grid: lines of `██` in 24-bit colour.
for k in 1 2 3; do
    f="$work/frame$k.ansi"
    grid_lines=$(grep -c '██' "$f" || true)
    ((grid_lines >= 10)) || fail "frame $k: only $grid_lines lines of cells"
    grep -q $'\x1b\\[38;2;[0-9]*;[0-9]*;[0-9]*m' "$f" || fail "frame $k: no 24-bit colour codes"
done
pass "grid drawn with 24-bit colours ($(grep -c '██' "$work/frame1.ansi") lines)"

# The status bar: every field, the R bar of 20 cells.
status_re='Agents: [0-9,]+ .*Ranks: [0-9]+ \([0-9]+ workers?\).*Grid: [0-9]+x[0-9]+.*t=[0-9.]+ s.*speed=.*R=[0-9.]+ \[[█░]{20}\].*Pulse: [0-9.]+.*Flashes: [0-9,]+.*FPS: ([0-9]+|--)'
for k in 1 2 3; do
    tr '\n' ' ' <"$work/frame$k.txt" | grep -Eq "$status_re" ||
        { cat "$work/frame$k.txt" >&2; fail "frame $k: status bar incomplete"; }
done
pass "status bar complete"

cmp -s "$work/frame1.ansi" "$work/frame3.ansi" && fail "frames 1 and 3 are identical"
pass "frames change over time"

# Ctrl-C: the program stops, the terminal is given back, the file is closed.
tmx send-keys -t view C-c
for ((i = 0; i < 300; i++)); do
    text | grep -q '^fireflies-exit=[0-9]' && break
    [[ $(pane '#{pane_dead}') == 1 ]] && break
    sleep 0.1
done
text >"$work/after.txt"
capture >"$work/after.ansi"
grep -q '^fireflies-exit=[0-9]' "$work/after.txt" || { cat "$work/after.txt" >&2; fail "no exit 30 s after Ctrl-C"; }
code=$(sed -n 's/^fireflies-exit=\([0-9]\+\).*/\1/p' "$work/after.txt" | tail -1)
# fireflies exits 130 after a clean stop on SIGINT; Open MPI's mpirun, itself interrupted, reports 1.
[[ $code == 0 || $code == 130 || ( -n ${LAUNCHER:-} && $code == 1 ) ]] ||
    fail "exit status $code after Ctrl-C (expected 0 or 130, or 1 from mpirun)"
[[ $(pane '#{alternate_on}') == 0 ]] || fail "still on the alternate screen"
[[ $(pane '#{cursor_flag}') == 1 ]] || fail "cursor still hidden"
[[ $(pane '#{wrap_flag}') == 1 ]] || fail "autowrap left off"
grep -q '██' "$work/after.txt" && fail "cells left on the normal screen"
grep '^fireflies-exit=[0-9]' "$work/after.ansi" | grep -q $'\x1b\\[38;2' && fail "colours not reset"
pass "terminal restored after Ctrl-C (exit status $code)"

h5dump -H "$work/out.h5" >"$work/header.txt" 2>&1 || fail "h5dump -H rejects out.h5"
pass "out.h5 is a valid HDF5 file"

# The R on screen is the hub's R: some sample within a second of the time shown has that R
# (to the 3 decimals shown).
time_name=
for name in t time t_s time_s; do
    if grep -q "DATASET \"$name\"" "$work/header.txt"; then time_name=$name; break; fi
done
[[ -n $time_name ]] || fail "no time dataset (t, time) in /timeseries: $(grep DATASET "$work/header.txt" | tr -s ' ')"
# Read the series with Debian's Python and h5py (the python3 on PATH may lack h5py).
py=${FIREFLIES_PYTHON:-/usr/bin/python3}
"$py" - "$work/out.h5" "$time_name" "$work" <<'EOF' || fail "cannot read /timeseries"
import sys, h5py, pathlib
f = h5py.File(sys.argv[1], "r")
work = pathlib.Path(sys.argv[3])
(work / "R.txt").write_text(" ".join(repr(float(x)) for x in f["/timeseries/R"][...]))
(work / "t.txt").write_text(" ".join(repr(float(x)) for x in f["/timeseries/" + sys.argv[2]][...]))
EOF
python3 - "$work" <<'EOF' || fail "R on screen does not match /timeseries/R"
import re, sys, pathlib
work = pathlib.Path(sys.argv[1])
nums = lambda f: [float(x) for x in re.findall(r"[-+0-9.eE]+|nan", (work / f).read_text())]
R, t = nums("R.txt"), nums("t.txt")
if len(R) != len(t) or not R:
    sys.exit(f"/timeseries: {len(R)} R values for {len(t)} times")
for k in (1, 2, 3):
    screen = (work / f"frame{k}.txt").read_text().replace("\n", " ")
    ts, rs = float(re.search(r"t=([0-9.]+) s", screen)[1]), float(re.search(r"R=([0-9.]+) \[", screen)[1])
    near = [(abs(ti - ts), ri, ti) for ti, ri in zip(t, R) if abs(ti - ts) <= 1.0]
    if not near:
        sys.exit(f"frame {k}: no sample within 1 s of t={ts} (file has t in [{t[0]}, {t[-1]}])")
    if not any(abs(ri - rs) <= 6e-4 for _, ri, _ in near):
        sys.exit(f"frame {k}: screen t={ts} R={rs}, file near it: " +
                 ", ".join(f"t={ti:g} R={ri:.4f}" for _, ri, ti in sorted(near)))
    print(f"ok: frame {k}: R={rs} at t={ts} s matches the file")
EOF
pass "all checks"
