#!/usr/bin/env bash
# What checkpoints cost: the wall time a run with two checkpoints takes more than the same run
# without, for the program as it was before parallel checkpoints (--base REV; default `git
# merge-base HEAD main`, main's head while the branch with parallel checkpoints is not merged:
# after that, pass a commit before it, e.g. 17af8bf) and as it is now (this tree), on one grid at
# one rank count (default 4000 x 4000 at P = 3, the figures of the issue "Beyond one machine").
#
#   scripts/bench_checkpoint.sh [--base REV] [--grid 4000x4000] [--ranks 3] [--repeats 3]
#                               [--duration 3] [--every 1] [--workdir DIR] [--keep]
#
# Builds both (the base in a `git worktree add --detach` of its own under build/bench-base, with
# its own CMake build dir; this tree with the release preset, target fireflies only, -j2), then
# runs, repeat by repeat, each program without and with checkpoints (--checkpoint-every EVERY,
# two checkpoints in DURATION simulated seconds), interleaved (base none, base ckpt, this none,
# this ckpt, then again), so that a slow spell of a shared machine spreads over all four. Prints
# one table: medians over the repeats (min-max) of the whole mpirun wall time and the program's
# own /attrs wall_time, the time the checkpoints add (paired within a repeat), the checkpoint
# file's size and, for this tree, rank 0's bytes for a checkpoint (the file's hub_bytes_*).
#
# Environment: FIREFLIES_BENCH_PYTHON (default /usr/bin/python3, with h5py), MPIRUN (default
# mpirun). As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,
# which this script sets, with oversubscription allowed (3 ranks on 2 cores).
set -Eeuo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${FIREFLIES_BENCH_PYTHON:-/usr/bin/python3}
base="" grid=4000x4000 ranks=3 repeats=3 duration=3 every=1 workdir="" keep=0
while (($#)); do
    case $1 in
    --base) base=$2; shift 2 ;;
    --grid) grid=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bench_checkpoint.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n $base ]] || base=$(git -C "$root" merge-base HEAD main)
base=$(git -C "$root" rev-parse --verify "$base^{commit}")

# The base: its own worktree and build dir (left in place for the next time, rebuilt only when
# the base changes).
base_tree=$root/build/bench-base/src
base_build=$root/build/bench-base/build
if [[ ! -d $base_tree ]] || [[ $(git -C "$base_tree" rev-parse HEAD 2>/dev/null) != "$base" ]]; then
    rm -rf "$root/build/bench-base"
    git -C "$root" worktree prune
    mkdir -p "$root/build/bench-base"
    git -C "$root" worktree add --detach "$base_tree" "$base" >&2
fi
echo "bench_checkpoint.sh: building the base $(git -C "$root" rev-parse --short "$base") in $base_build" >&2
cmake -S "$base_tree" -B "$base_build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" \
    -DFIREFLIES_BUILD_TESTS=OFF >"$root/build/bench-base/configure.log" 2>&1 ||
    { cat "$root/build/bench-base/configure.log" >&2; exit 1; }
cmake --build "$base_build" --target fireflies -j 2 >&2
echo "bench_checkpoint.sh: building this tree (release preset)" >&2
(cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target fireflies -j 2 >&2)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
exec "$python" - "$base_build/src/fireflies" "$root/build/release/src/fireflies" "$(git -C "$root" rev-parse --short "$base")" \
    "$(git -C "$root" describe --always --dirty)" "$grid" "$ranks" "$repeats" "$duration" "$every" "$workdir" "$keep" <<'PY'
import os, re, shutil, statistics, subprocess, sys, tempfile, time
import h5py

base_bin, this_bin, base_rev, this_rev, grid, ranks, repeats, duration, every, workdir, keep = sys.argv[1:]
width, height = (int(v) for v in grid.lower().split("x"))
ranks, repeats, keep = int(ranks), int(repeats), keep == "1"
mpirun = os.environ.get("MPIRUN", shutil.which("mpirun") or "mpirun")
work = workdir or tempfile.mkdtemp(prefix="fireflies-bench-ckpt-")
os.makedirs(work, exist_ok=True)
programs = [("before", base_rev, base_bin), ("now", this_rev, this_bin)]

def run(tag, binary, checkpoints, repeat):
    out = os.path.join(work, f"{tag}-{'ckpt' if checkpoints else 'none'}-{repeat}.h5")
    ckpt = out[:-3] + ".ckpt"
    for p in (out, ckpt):
        if os.path.exists(p):
            os.remove(p)
    argv = [mpirun, "-n", str(ranks), binary, "--width", str(width), "--height", str(height),
            "--duration", duration, "--seed", "1", "-o", out]
    if checkpoints:
        argv += ["--checkpoint", ckpt, "--checkpoint-every", every]
    t0 = time.monotonic()
    p = subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"bench_checkpoint: {' '.join(argv)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    with h5py.File(out, "r") as f:
        own = float(f.attrs["wall_time"])
    rec = {"wall": wall, "own": own, "written": p.stderr.count("checkpoint at t="),
           # this tree says how long each checkpoint took, from rank 0's start of it (its own part
           # of the file) to worker 0's answer
           "each": [float(m) for m in re.findall(r"checkpoint at t=\S+ s written to .* in ([0-9.]+) s", p.stderr)]}
    if checkpoints:
        rec["bytes"] = os.path.getsize(ckpt)
        with h5py.File(ckpt, "r") as f:
            rec["hub"] = (int(f.attrs["hub_bytes_sent"]), int(f.attrs["hub_bytes_received"])) \
                if "hub_bytes_sent" in f.attrs else None
        os.remove(ckpt)
    os.remove(out)
    print(f"  repeat {repeat + 1} {tag:6s} {'2 checkpoints' if checkpoints else 'none':13s} "
          f"wall {wall:7.2f} s (program {own:7.2f} s)", file=sys.stderr, flush=True)
    return rec

def load():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"

load_before = load()
print(f"bench_checkpoint: {width} x {height}, P = {ranks}, {duration} s simulated, checkpoint every "
      f"{every} s, {repeats} repeats, in {work}; load {load_before}", file=sys.stderr)
runs = {}
for r in range(repeats):
    for tag, _, binary in programs:
        for checkpoints in (False, True):
            runs.setdefault((tag, checkpoints), []).append(run(tag, binary, checkpoints, r))

def med(values):
    return f"{statistics.median(values):7.2f} ({min(values):.2f}-{max(values):.2f})"

print(f"\nCheckpoint cost, {width} x {height} fireflies, P = {ranks} ({ranks - 1} workers), {duration} s "
      f"simulated, --checkpoint-every {every}; median of {repeats} (min-max), seconds; load average "
      f"{load_before} before, {load()} after")
print(f"{'program':22s} {'without':>21s} {'with checkpoints':>21s} {'added':>21s} {'program-added':>21s} "
      f"{'ckpts':>5s} {'file MB':>8s} {'rank 0 bytes':>13s}")
added = {}
for tag, rev, _ in programs:
    none, ckpt = runs[(tag, False)], runs[(tag, True)]
    add = [c["wall"] - n["wall"] for n, c in zip(none, ckpt)]
    own_add = [c["own"] - n["own"] for n, c in zip(none, ckpt)]
    added[tag] = statistics.median(add)
    hub = ckpt[0].get("hub")
    print(f"{tag + ' ' + rev:22s} {med([n['wall'] for n in none]):>21s} {med([c['wall'] for c in ckpt]):>21s} "
          f"{med(add):>21s} {med(own_add):>21s} {ckpt[0]['written']:5d} {ckpt[0]['bytes'] / 1e6:8.1f} "
          f"{(f'{hub[0]} + {hub[1]}' if hub else 'O(N)'):>13s}")
each = [t for c in runs[("now", True)] for t in c["each"]]
if each:
    print(f"now: each checkpoint, from rank 0's start of it to worker 0's answer (the program's own figure): "
          f"median {statistics.median(each):.2f} s ({min(each):.2f}-{max(each):.2f}) over {len(each)}")
if added["before"] > 0:
    print(f"time added by the checkpoints, now / before: {added['now'] / added['before']:.2f} "
          f"(target <= 0.35); a shared machine: figures vary from run to run")
if not keep and not workdir:
    shutil.rmtree(work, ignore_errors=True)
PY
