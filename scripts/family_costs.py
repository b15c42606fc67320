#!/usr/bin/env python3
"""What each model family costs per flash: one table.

    scripts/family_costs.py [--fireflies BIN] [--baseline BIN] [--width 300] [--height 300]
                            [--duration 60] [--repeats 3] [--no-callgrind]

Runs one process of `fireflies` (BIN, default build/release/src/fireflies) per variant: the
default model, --prc-dissipation, an inhibitory nudge, --period-spread, --boundary open,
--radius 2 (moore and von-neumann), one --pacemaker, --coupling all-to-all (on grids of its own,
30 x 30 and 60 x 60: every flash reaches every firefly, so its cost per flash grows with N; with a
nudge of about 0.2 s / N, so that one flash of everybody else adds about the lattice's 0.2 s)
(and, with --baseline, the default model on another build, for an A/B of the default's speed),
and prints for each:
  - flashes and pulses delivered (the run's root attributes);
  - wall seconds of the worker's `simulate` timer (/perf), the median of --repeats runs taken in
    turn (variant by variant, round by round: an interleaved A/B on a shared machine), and
    nanoseconds per flash;
  - instructions of the event loop (callgrind, deterministic): inclusive counts of
    event_loop::begin_epoch (src/scheduler), every build of process_interval (the default
    model's AVX2 build process_interval_avx2 among them) and process_interval_all_to_all (the
    pulses, the turns, filing), draw_pending (the default model's jitter draws, made in a
    batch after each interval) and record_flashes (the interval's flashes into the reports and
    the totals), per flash. The HDF5 writing, whose flushes follow the wall
    clock, is left out, so that the count is the same run after run.
Needs h5py (FIREFLIES_COSTS_PYTHON picks the interpreter in scripts/ users' hands; this script
itself runs under any python3 that imports h5py) and valgrind for the instruction counts.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VARIANTS = [
    ("default", []),
    ("prc-dissipation 3", ["--prc-dissipation", "3"]),
    ("inhibitory nudge -0.1", ["--nudge", "-0.1"]),
    ("period-spread 0.2", ["--period-spread", "0.2"]),
    ("boundary open", ["--boundary", "open"]),
    ("radius 2 (moore)", ["--radius", "2"]),
    ("von-neumann radius 2", ["--neighbourhood", "von-neumann", "--radius", "2"]),
    ("pacemaker", ["--pacemaker", "150,150,4.5"]),
    # (name, options, grid: W x H instead of --width x --height)
    ("all-to-all 30 x 30", ["--coupling", "all-to-all", "--nudge", "0.0002"], (30, 30)),
    ("all-to-all 60 x 60", ["--coupling", "all-to-all", "--nudge", "0.00005"], (60, 60)),
]
# (callgrind toggles collection on entering each: none of them may call another, or the inner
# one would toggle it off; the families' process_interval_family calls process_interval<...>)
LOOP = ["fireflies::event_loop::begin_epoch*",
        "void fireflies::event_loop::process_interval<*",
        "void fireflies::event_loop::process_interval_avx2<*",
        "void fireflies::event_loop::process_interval_all_to_all<*",
        "fireflies::event_loop::draw_pending*",
        "fireflies::event_loop::record_flashes*"]


def run_once(binary, args, out):
    argv = [binary] + args + ["-o", out, "--force", "--telemetry", "events"]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s\n%s" % (" ".join(argv), p.stderr))
    with h5py.File(out, "r") as f:
        a = f.attrs
        simulate = float(f["perf/simulate"][()].max()) if "perf/simulate" in f else float("nan")
        return int(a["flashes_emitted"]), int(a["pulses_delivered"]), simulate


def instructions(binary, args, out):
    cg = out + ".callgrind"
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg] + \
        ["--toggle-collect=" + f for f in LOOP] + [binary] + args + ["-o", out, "--force", "--telemetry", "events"]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s\n%s" % (" ".join(argv), p.stderr))
    text = subprocess.run(["callgrind_annotate", cg], capture_output=True, text=True).stdout
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            return int(line.split()[0].replace(",", ""))
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fireflies", default=os.path.join(ROOT, "build", "release", "src", "fireflies"))
    ap.add_argument("--baseline", help="another build of fireflies: the default model on it too (A/B)")
    ap.add_argument("--width", type=int, default=300)
    ap.add_argument("--height", type=int, default=300)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-callgrind", action="store_true")
    o = ap.parse_args()
    grid = ["--width", str(o.width), "--height", str(o.height), "--duration", str(o.duration)]
    def on_grid(variant):
        name, extra = variant[0], variant[1]
        w, h = variant[2] if len(variant) > 2 else (o.width, o.height)
        return name, o.fireflies, ["--width", str(w), "--height", str(h), "--duration", str(o.duration)] + extra

    runs = [on_grid(v) for v in VARIANTS]
    if o.baseline:
        runs.insert(0, ("default (baseline build)", o.baseline, grid))
    with tempfile.TemporaryDirectory(prefix="fireflies-costs-") as tmp:
        out = os.path.join(tmp, "run.h5")
        walls = {name: [] for name, _, _ in runs}
        counts = {}
        for _ in range(o.repeats):  # interleaved: every variant once per round
            for name, binary, args in runs:
                flashes, pulses, simulate = run_once(binary, args, out)
                counts[name] = (flashes, pulses)
                walls[name].append(simulate)
        print("%d x %d, %g s simulated, one process; simulate: median of %d interleaved runs"
              % (o.width, o.height, o.duration, o.repeats))
        print("%-26s %12s %12s %10s %9s %16s %9s" % ("variant", "flashes", "pulses", "simulate s",
                                                      "ns/flash", "loop instr", "instr/flash"))
        for name, binary, args in runs:
            flashes, pulses = counts[name]
            wall = statistics.median(walls[name])
            ins = -1 if o.no_callgrind else instructions(binary, args, out)
            print("%-26s %12d %12d %10.3f %9.1f %16s %9s"
                  % (name, flashes, pulses, wall, 1e9 * wall / max(flashes, 1),
                     "-" if ins < 0 else "{:,}".format(ins), "-" if ins < 0 else "%.1f" % (ins / max(flashes, 1))))


if __name__ == "__main__":
    main()
