#!/usr/bin/python3
"""A deterministic model of parallel efficiency: the critical path of the epochs' dependencies
between neighbouring blocks, at 15, 63 and 1,023 workers, from work the program counts.

    scripts/efficiency_model.py [--fireflies BIN] [--duration 60] [--workers 15,63,1023]
                                [--halo 1,2,4,8] [--latency-us 2] [--json FILE] ...

What it does (docs/performance.md, "A model of the epoch dependencies", says why):

1. Samples. For each scenario (weak: one 1000 x 1000 block per worker; strong: a 2000 x 2000
   grid cut into as many blocks as workers) and worker count, it runs `fireflies --record-epochs`
   (drop mode, summary telemetry, --duration simulated seconds) on a 2 x 2 arrangement of blocks
   of that size (4 workers, P = 5): /perf/epoch_pulses and /perf/epoch_visits give each block's
   pulses applied and due-list visits in each epoch, deterministic counts.
2. Costs. A block's time in an epoch is c_event * events + c_epoch, events = pulses applied +
   due-list visits. c_event is the 16-core machine's: the simulate timer of one worker on one
   1000 x 1000 block for 60 s (2.93 s, docs/performance.md) over that block's events in the
   sample (deterministic). c_epoch comes from one-process runs of a 20 x 20 grid here, where
   the per-epoch cost dominates (the fastest of --repeats, less its events' cost).
   (--ns-per-event and --us-per-epoch set them instead.)
3. Blocks. The process grid is the one the decomposition gives an aligned grid (the layout with
   the least halo; weak: 15 workers as measured, one column of 15 blocks, which makes a ring on
   the torus; 63 = 9 x 7 and 1023 = 33 x 31 blocks of 1000 x 1000). Each of the B blocks gets
   the sample's common work m(e) (the mean of the 4 sampled blocks at epoch e: the grid-wide
   rhythm, which is the same everywhere) plus the deviation of one sampled block, chosen at
   random, from m, circularly shifted in time by a random number of epochs, clamped at 0: a
   block bootstrap that keeps each block's deviations' size and their correlation in time, and
   makes blocks independent of each other (neighbouring blocks' deviations are in fact
   positively correlated, which lessens waits: the model errs towards waiting).
4. Critical path. Block b starts epoch e once it finished e - 1, each torus neighbour n (up to 8)
   finished e - h plus the message latency, and every worker finished e - L (the stop consensus,
   finished L = 2 + ceil(log2 workers) boundaries after it starts); h = 1 is today's scheme, h > 1
   the relaxed one (halos h cells deep, or interior first: a cell k cells inside a block feels a
   neighbour's epoch e only at e + k), in which a block also simulates the h - 1 rows and columns
   of its neighbours next to it again (the extra work counted: --no-ghost-work leaves it out).
   Predicted efficiency = the blocks' mean work (the time one worker alone would take on its
   block) / the latest finish of the last epoch.

The measured column is docs/performance.md's 16-core table (summary telemetry, 15 workers): it
also holds what the model leaves out (cores sharing cache and memory bandwidth: the simulate time
of one 1000 x 1000 block grew x1.28 at 15 busy cores, of 2000 x 2000 / 15 blocks x1.04); the
column "x shared" divides the model's figure by that factor.

Needs numpy and h5py (Debian's /usr/bin/python3 with python3-numpy, python3-h5py) and, unless
--samples-from is given, mpirun.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# docs/performance.md, "Scaling measured on 16 cores" (summary telemetry, 15 workers): measured
# efficiency, and the growth of a worker's simulate time from 1 to 15 busy cores.
MEASURED = {("weak", 15): (0.521, 3.75 / 2.93), ("strong", 15): (0.634, 13.7 / 13.2)}
# The same table: one worker's simulate time on one 1000 x 1000 block, 60 s (summary telemetry).
MEASURED_SIMULATE = 2.93


# ---- the model -------------------------------------------------------------------------------

def torus_neighbours(px, py):
    """The distinct Moore neighbours of every block of a px x py process grid on a torus (the
    program's grids are tori), without the block itself: an array [px * py, 8] of block indices
    (row-major, block = y * px + x), padded with the block's own index (which never delays it)."""
    n = px * py
    out = np.empty((n, 8), dtype=np.int64)
    for y in range(py):
        for x in range(px):
            b = y * px + x
            seen = []
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    m = ((y + dy) % py) * px + (x + dx) % px
                    if m != b and m not in seen:
                        seen.append(m)
            out[b] = seen + [b] * (8 - len(seen))
    return out


def finish_times(work, neighbours, halo=1, consensus_lag=None, latency=0.0):
    """Finish time of every block's every epoch, [B, E], for work [B, E] (seconds per block and
    epoch): block b starts epoch e at the latest of its own finish of e - 1, each neighbour's
    finish of e - halo plus `latency`, and (consensus_lag L) every block's finish of e - L."""
    work = np.asarray(work, dtype=float)
    blocks, epochs = work.shape
    fin = np.zeros((blocks, epochs))
    nb = np.asarray(neighbours)
    own = nb == np.arange(blocks)[:, None]  # padding: no message, no latency
    for e in range(epochs):
        start = fin[:, e - 1].copy() if e >= 1 else np.zeros(blocks)
        if e - halo >= 0:
            ready = fin[nb, e - halo] + np.where(own, 0.0, latency)
            start = np.maximum(start, ready.max(axis=1))
        if consensus_lag is not None and e - consensus_lag >= 0:
            start = np.maximum(start, fin[:, e - consensus_lag].max())
        fin[:, e] = start + work[:, e]
    return fin


def efficiency(work, neighbours, **kw):
    """The blocks' mean total work over the critical path (the last epoch's latest finish)."""
    fin = finish_times(work, neighbours, **kw)
    return float(np.asarray(work, dtype=float).sum(axis=1).mean() / fin[:, -1].max())


def consensus_lag(workers):
    return 2 + math.ceil(math.log2(workers)) if workers > 1 else None


def synthesize(sample, blocks, rng):
    """Work [blocks, E] from a sample [S, E] of real blocks: the sample's mean at each epoch plus
    one sampled block's deviation from it, shifted in time by a random number of epochs (a block
    bootstrap; see the module's help), clamped at 0."""
    sample = np.asarray(sample, dtype=float)
    s, epochs = sample.shape
    mean = sample.mean(axis=0)
    dev = sample - mean
    pick = rng.integers(0, s, size=blocks)
    shift = rng.integers(0, epochs, size=blocks)
    idx = (np.arange(epochs)[None, :] + shift[:, None]) % epochs
    return np.maximum(0.0, mean[None, :] + dev[pick[:, None], idx])


def ghost_factor(bw, bh, halo, px, py):
    """Work of a block that also simulates its neighbours' halo - 1 cells next to it, over its
    own (only across the sides that have a neighbour: px or py of 1 has none left and right)."""
    gx = 2 * (halo - 1) if px > 1 else 0
    gy = 2 * (halo - 1) if py > 1 else 0
    return (bw + gx) * (bh + gy) / (bw * bh)


def squarest(workers):
    """px x py = workers with px >= py as close as can be."""
    py = max(d for d in range(1, int(math.isqrt(workers)) + 1) if workers % d == 0)
    return workers // py, py


def aligned_grid(width, height, workers):
    """The process grid (px, py) with the least halo (sum of block perimeters) among those that
    cut width x height into px x py equal-count blocks, as the program's decomposition chooses
    for an aligned layout."""
    best = None
    for py in range(1, workers + 1):
        if workers % py:
            continue
        px = workers // py
        if px > width or py > height:
            continue
        halo = workers * (width / px + height / py)
        if best is None or halo < best[0] - 1e-9:
            best = (halo, px, py)
    return best[1], best[2]


# ---- running the program ---------------------------------------------------------------------

def mpi_env():
    env = dict(os.environ)
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    return env


def run(args, width, height, ranks, out):
    cmd = ([args.mpirun, "-np", str(ranks)] + shlex.split(args.mpirun_args) if ranks > 1 else [])
    cmd += [args.fireflies, "--width", str(width), "--height", str(height), "--duration", repr(args.duration),
            "--refractory-mode", "drop", "--telemetry", "summary", "--seed", str(args.seed), "--record-epochs",
            "--output", out, "--force"]
    print(f"  {width} x {height}, P = {ranks}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, env=mpi_env(), capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"efficiency_model: {' '.join(cmd)} failed:\n{p.stderr}")
    return read(out)


def read(path):
    """A run's recorded work: per worker and epoch, and the workers' simulate timers."""
    with h5py.File(path, "r") as f:
        if "perf/epoch_pulses" not in f:
            sys.exit(f"efficiency_model: {path} has no /perf/epoch_pulses (run with --record-epochs)")
        return {k: f["perf/epoch_" + k][()].astype(np.int64) for k in ("flashes", "pulses", "arrivals", "visits")} | {
            "simulate": f["perf/simulate"][()][1:].astype(float) if f["perf/simulate"].shape[0] > 1
            else f["perf/simulate"][()].astype(float),
            "width": int(f.attrs["width"]) if "width" in f.attrs else None}


def events(rec):
    return rec["pulses"] + rec["visits"]


def calibrate(args, workdir, block_events):
    """Seconds per event and per block-epoch. An event costs what the 16-core machine measured:
    one worker's simulate time on a 1000 x 1000 block over 60 s (MEASURED_SIMULATE, summary
    telemetry) over the events of such a block in the sample (block_events, scaled to 60 s):
    the cost on the node the measured efficiencies come from, which a shared 2-core machine
    cannot give. An epoch's fixed cost comes from one-process runs of a 20 x 20 grid here (the
    fastest of --repeats, less its events' cost), where it dominates."""
    c_event = (args.ns_per_event * 1e-9 if args.ns_per_event is not None
               else MEASURED_SIMULATE * (args.duration / 60.0) / block_events)
    if args.us_per_epoch is not None:
        return c_event, args.us_per_epoch * 1e-6
    best = None
    for r in range(args.repeats):
        rec = run(args, 20, 20, 1, os.path.join(workdir, f"calibrate-20-{r}.h5"))
        left = float(rec["simulate"].max()) - c_event * float(events(rec).sum())
        best = left if best is None else min(best, left)
    return c_event, max(best, 0.0) / rec["pulses"].shape[1]


def scenarios(workers):
    """(mode, workers, block width, block height, px, py) for each point."""
    out = []
    for w in workers:
        if w == 15:
            px, py = 1, 15  # as measured: a 1000 x 15000 grid, one column of blocks
        else:
            px, py = squarest(w)  # a grid of px x py blocks of 1000 x 1000
        out.append(("weak", w, 1000, 1000, px, py))
    for w in workers:
        px, py = aligned_grid(2000, 2000, w)
        out.append(("strong", w, 2000 // px, 2000 // py, px, py))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fireflies", default=os.path.join(ROOT, "build", "release", "src", "fireflies"))
    ap.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    ap.add_argument("--mpirun-args", default="")
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds of each sample run (60)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default="15,63,1023")
    ap.add_argument("--halo", default="1,2,4,8", help="halo depths h to model; 1 is today's scheme")
    ap.add_argument("--latency-us", type=float, default=2.0,
                    help="microseconds from a neighbour's finish to the message's arrival (2)")
    ap.add_argument("--ns-per-event", type=float,
                    help="cost of a pulse applied or a due-list visit (default: from the 16-core measurement)")
    ap.add_argument("--us-per-epoch", type=float, help="a block's fixed cost per epoch")
    ap.add_argument("--repeats", type=int, default=3, help="calibration runs of the 20 x 20 grid (the fastest counts)")
    ap.add_argument("--reuse", action="store_true", help="read the samples already in --workdir instead of running them")
    ap.add_argument("--no-ghost-work", action="store_true", help="h > 1 without the redundant halo work")
    ap.add_argument("--no-consensus", action="store_true", help="leave the stop consensus out")
    ap.add_argument("--rng-seed", type=int, default=12345, help="seed of the block bootstrap")
    ap.add_argument("--json", help="also write the table here")
    ap.add_argument("--workdir", help="keep the runs' files here (default: a temporary folder)")
    args = ap.parse_args(argv)
    workers = [int(x) for x in args.workers.split(",")]
    halos = [int(x) for x in args.halo.split(",")]
    if any(w < 1 for w in workers) or any(h < 1 for h in halos):
        ap.error("--workers and --halo take positive integers")

    workdir = args.workdir or tempfile.mkdtemp(prefix="efficiency-model-")
    os.makedirs(workdir, exist_ok=True)
    rows, samples = [], {}
    print("sampling 2 x 2 blocks of each size (4 workers):", file=sys.stderr)
    for mode, w, bw, bh, px, py in scenarios(workers) + [("", 0, 1000, 1000, 1, 1)]:
        if (bw, bh) not in samples:
            out = os.path.join(workdir, f"sample-{bw}x{bh}.h5")
            samples[(bw, bh)] = read(out) if args.reuse and os.path.exists(out) else run(args, 2 * bw, 2 * bh, 5, out)
    print("calibrating the per-epoch cost (one process, 20 x 20):", file=sys.stderr)
    c_event, c_epoch = calibrate(args, workdir, float(events(samples[(1000, 1000)]).sum(axis=1).mean()))
    rng = np.random.default_rng(args.rng_seed)
    for mode, w, bw, bh, px, py in scenarios(workers):
        rec = samples[(bw, bh)]
        sample = c_event * events(rec) + c_epoch
        work = synthesize(sample, px * py, rng)
        nb = torus_neighbours(px, py)
        lag = None if args.no_consensus else consensus_lag(w)
        latency = args.latency_us * 1e-6
        ideal = work.sum(axis=1).mean()
        measured, shared = MEASURED.get((mode, w), (None, None))
        for h in halos:
            ghost = 1.0 if args.no_ghost_work else ghost_factor(bw, bh, h, px, py)
            fin = finish_times(work * ghost, nb, halo=h, consensus_lag=lag, latency=latency)
            eff = float(ideal / fin[:, -1].max())
            rows.append({"mode": mode, "workers": w, "block": f"{bw}x{bh}", "process_grid": f"{px}x{py}",
                         "halo": h, "scheme": "today" if h == 1 else f"halo {h}", "ghost_work": ghost,
                         "predicted": eff, "predicted_shared": eff / shared if shared else None,
                         "measured": measured if h == 1 else None,
                         "imbalance": float(work.sum(axis=1).max() / ideal),
                         "epoch_work_cv": float((work.std(axis=0) / np.maximum(work.mean(axis=0), 1e-30)).mean())})
    print(render(rows, c_event, c_epoch, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"schema": "fireflies-efficiency-model/1", "ns_per_event": c_event * 1e9,
                       "us_per_epoch": c_epoch * 1e6, "latency_us": args.latency_us,
                       "duration": args.duration, "rows": rows}, f, indent=1)
    return 0


def render(rows, c_event, c_epoch, args):
    lines = [f"fireflies efficiency model: {c_event * 1e9:.1f} ns per event, {c_epoch * 1e6:.3f} us per "
             f"block-epoch, latency {args.latency_us:g} us, {args.duration:g} s simulated "
             f"({int(round(args.duration / 0.01))} epochs)",
             f"{'mode':<7}{'workers':>8}  {'block':<10}{'grid':<7}{'scheme':<8}{'ghost':>7}{'imbal.':>8}"
             f"{'predicted':>10}{'x shared':>9}{'measured':>9}"]
    for r in rows:
        f = lambda x: "-" if x is None else f"{x:.3f}"
        lines.append(f"{r['mode']:<7}{r['workers']:>8}  {r['block']:<10}{r['process_grid']:<7}{r['scheme']:<8}"
                     f"{r['ghost_work']:>7.3f}{r['imbalance']:>8.3f}{f(r['predicted']):>10}"
                     f"{f(r['predicted_shared']):>9}{f(r['measured']):>9}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
