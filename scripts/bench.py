#!/usr/bin/python3
"""The fireflies benchmark (issue 3): runs the program, prints one table, writes JSON.

Run it through scripts/bench.sh, which builds the release preset first; run directly, it needs
--binary (and --hub-bench for the hub microbenchmark). Debian's /usr/bin/python3 with h5py and
numpy; nothing else.

Every figure is the median of --repeats runs with its spread (min-max), all measured in this one
invocation. The repeats are the outer loop (repeat 1 of every workload, then repeat 2, ...), so
that a slow spell of a shared machine spreads over all workloads instead of spoiling one, and a
ratio (coroutine / flat, P=3 / P=2, summary / events) is taken between runs of the same repeat.

What is measured (W x H grid, drop mode, P ranks = hub + P-1 workers):
  wall        the program's own /attrs wall_time (from the recorder's start to the end of the run,
              MPI start-up excluded); "process" is the whole mpirun, start-up included
  workers     min(P - 1, cores this process may run on)
  ff-s/s/core W * H * simulated_time / wall_time / workers
  pulses/s/c  pulses_delivered / wall_time / workers
  ns/event    wall_time * workers / (pulses_delivered + flashes_emitted) * 1e9
  RSS         /perf/peak_rss: max over the workers' rows, and the hub's row 0 (MiB)
  hub busy    /perf/hub[0] / wall_time
  bytes/firefly  (worker peak RSS at 4000x4000 on one worker - the same at a tiny grid) / cells
  flat        the same workloads with --engine flat: /timeseries bitwise equal? and the ratio
              coroutine wall / flat wall
  speed-up    wall(P=2) / wall(P=3) on the largest grid (2000x2000 by default)
  summary     --telemetry summary against events at 1000x1000: time and bitwise-equal series
  hub         hub_bench (tests/bench/hub_bench.cpp): synthetic reports into fireflies::hub, only
              absorb() timed, flash events per second

Durations: every workload simulates --duration seconds (default 60, the issue's). Unless
--budget 0, two short calibration runs first measure this machine's rate (the faster counts) and, when the plan would
take longer than --budget seconds of wall time (default 900; the prediction is multiplied by
--safety 1.4 first, as the load of a shared machine changes between the calibration and the
runs), the largest grids are shortened (each run is held to the same number of firefly-seconds,
so the 100x100 and then the 1000x1000 runs keep the full duration longest); the table header
then says so.
"""

import argparse
import datetime
import getpass
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover
    sys.exit(f"bench.py: needs h5py and numpy ({e}); run it with /usr/bin/python3 "
             "(apt-get install python3-h5py python3-numpy)")

SCHEMA = "fireflies-bench/1"

TARGETS = {
    "firefly_seconds_per_core": 2e7,   # >= at 1000x1000
    "coroutine_over_flat": 1.5,        # <= at 1000x1000
    "bytes_per_firefly": 200.0,        # <=
    "speedup_p3_over_p2": 1.8,         # >= at 2000x2000
    "hub_events_per_second": 5e7,      # >=
}


# ---- small helpers -----------------------------------------------------------------------------

def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def parse_grid(text):
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a grid like 1000x1000")
    return int(m.group(1)), int(m.group(2))


def grid_name(g):
    return f"{g[0]}x{g[1]}"


def parse_list(text, kind):
    return [kind(x) for x in text.split(",") if x.strip()]


def spread(values):
    """median, min, max (None where there are no values)."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals),
            "values": vals}


def fmt(x, sig=3):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        m, e = f"{x:.{sig - 1}e}".split("e")
        return f"{m}e{int(e)}"
    digits = max(0, sig - 1 - int(math.floor(math.log10(a))))
    return f"{x:.{digits}f}"


def fmt_range(s, scale=1.0):
    if not s or s.get("median") is None:
        return "-"
    if s["n"] == 1:
        return ""
    return f"{fmt(s['min'] * scale)}-{fmt(s['max'] * scale)}"


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(mpirun):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mpi = "unknown"
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
        mpi = (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"cpu_model": cpu_model(), "cpus_online": os.cpu_count(), "cores": cores,
            "memory_gib": mem, "hostname": platform.node(), "kernel": platform.release(),
            "mpi": mpi, "python": sys.version.split()[0], "loadavg_start": list(os.getloadavg())}


# Series only events telemetry can compute (summary writes -1): left out of the digest that
# compares telemetry modes.
EVENTS_ONLY = ("largest_volley",)


def timeseries_digest(f):
    """sha256 over /timeseries: every dataset's name, dtype, shape and raw bytes, by name (but
    EVENTS_ONLY, which summary telemetry cannot compute)."""
    h = hashlib.sha256()
    if "timeseries" not in f:
        return None
    names = []
    f["timeseries"].visit(lambda n: names.append(n) if isinstance(f["timeseries"][n], h5py.Dataset) else None)
    for n in sorted(x for x in names if x not in EVENTS_ONLY):
        d = f["timeseries"][n][()]
        a = np.ascontiguousarray(d)
        h.update(n.encode() + b"\0" + str(a.dtype).encode() + b"\0" + repr(a.shape).encode() + b"\0")
        h.update(a.tobytes())
    return h.hexdigest()


# ---- running the program -----------------------------------------------------------------------

class Runner:
    def __init__(self, args, cores):
        self.args = args
        self.cores = cores
        self.workdir = args.workdir
        self.count = 0
        self.failures = []

    def env(self, ranks):
        env = dict(os.environ)
        # Only what this machine needs: Open MPI refuses root without being told, and refuses
        # more ranks than cores unless oversubscription is allowed.
        if os.geteuid() == 0:
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        if ranks > self.cores:
            env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        return env

    def command(self, grid, ranks, duration, engine="coroutine", telemetry="events", out="run.h5"):
        cmd = [self.args.mpirun, "-np", str(ranks)] + shlex.split(self.args.mpirun_args)
        cmd += [self.args.binary, "--width", str(grid[0]), "--height", str(grid[1]),
                "--duration", repr(float(duration)), "--refractory-mode", "drop",
                "--engine", engine, "--telemetry", telemetry, "--seed", str(self.args.seed),
                "--output", out, "--force"]
        return cmd

    def run(self, grid, ranks, duration, engine="coroutine", telemetry="events", label=""):
        self.count += 1
        out = os.path.join(self.workdir, f"run{self.count:04d}.h5")
        cmd = self.command(grid, ranks, duration, engine, telemetry, out)
        rec = {"grid": grid_name(grid), "cells": grid[0] * grid[1], "ranks": ranks,
               "workers": max(1, min(ranks - 1, self.cores)), "engine": engine,
               "telemetry": telemetry, "duration": duration, "label": label,
               "command": " ".join(shlex.quote(c) for c in cmd), "ok": False}
        log(f"{label or 'run'}: {grid_name(grid)} P={ranks} {engine} {telemetry} {duration:g} s")
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, env=self.env(ranks), capture_output=True, text=True,
                               timeout=self.args.run_timeout, cwd=self.workdir)
            rc, stdout, stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
            if isinstance(stdout, bytes):
                stdout = stdout.decode(errors="replace")
            if isinstance(stderr, bytes):
                stderr = stderr.decode(errors="replace")
        rec["process_wall"] = time.monotonic() - start
        rec["returncode"] = rc
        done = [l for l in stdout.splitlines() if l.startswith("fireflies: done")]
        rec["done_line"] = done[-1] if done else None
        try:
            self.read_file(out, rec)
        except (OSError, KeyError) as e:
            rec["error"] = f"cannot read {out}: {e}"
        if rc != 0 or rec.get("status") != "complete" or not rec.get("invariants_hold"):
            rec["ok"] = False
            tail = "\n".join((stderr or stdout).strip().splitlines()[-8:])
            rec.setdefault("error", f"exit {rc}, status {rec.get('status')}, invariants "
                                    f"{rec.get('invariants_hold')}: {tail}")
            self.failures.append(rec)
            log(f"  FAILED: {rec['error']}")
        else:
            rec["ok"] = True
            log(f"  wall {rec['wall_time']:.3f} s (process {rec['process_wall']:.2f} s), "
                f"{rec['firefly_seconds_per_core']:.3g} firefly-s/s/core")
        if not self.args.keep:
            for path in (out,):
                try:
                    os.remove(path)
                except OSError:
                    pass
        return rec

    def read_file(self, path, rec):
        with h5py.File(path, "r") as f:
            a = f.attrs

            def attr(name, kind=float):
                v = a.get(name)
                if v is None:
                    return None
                if isinstance(v, bytes):
                    v = v.decode()
                return kind(v) if kind is not str else str(v)

            rec["status"] = attr("status", str)
            rec["invariants_hold"] = bool(attr("invariants_hold", int))
            rec["wall_time"] = attr("wall_time")
            rec["simulated_time"] = attr("simulated_time")
            rec["flashes_emitted"] = attr("flashes_emitted", int)
            rec["flashes_received"] = attr("flashes_received", int)
            rec["pulses_delivered"] = attr("pulses_delivered", int)
            rec["git_revision"] = attr("git_revision", str)
            rec["fireflies_version"] = attr("fireflies_version", str)
            rss = f["/perf/peak_rss"][()].astype(float).tolist()
            hub = f["/perf/hub"][()].astype(float).tolist()
            rec["perf"] = {k: f["/perf"][k][()].tolist() for k in f["/perf"]}
            rec["peak_rss_hub_mib"] = rss[0]
            rec["peak_rss_worker_mib"] = max(rss[1:]) if len(rss) > 1 else rss[0]
            rec["hub_busy_s"] = hub[0]
            rec["timeseries_sha256"] = timeseries_digest(f)
        wall = rec["wall_time"]
        w = rec["workers"]
        events = (rec["pulses_delivered"] or 0) + (rec["flashes_emitted"] or 0)
        rec["events"] = events
        if wall and wall > 0:
            rec["firefly_seconds_per_core"] = rec["cells"] * rec["simulated_time"] / wall / w
            rec["pulses_per_second_per_core"] = rec["pulses_delivered"] / wall / w
            rec["ns_per_event"] = wall * w / events * 1e9 if events else None
            rec["hub_busy_fraction"] = rec["hub_busy_s"] / wall
        rec["hub_events_per_busy_second"] = (rec["flashes_received"] / rec["hub_busy_s"]
                                             if rec["telemetry"] == "events" and rec["hub_busy_s"] > 0
                                             else None)


def run_hub_bench(args, label):
    cmd = [args.hub_bench, "--width", str(args.hub_grid[0]), "--height", str(args.hub_grid[1]),
           "--workers", str(args.hub_workers), "--events", str(int(args.hub_events))]
    log(f"{label}: {' '.join(cmd)}")
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.run_timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "timeout", "command": " ".join(cmd)}
    rec = {"command": " ".join(cmd), "process_wall": time.monotonic() - start,
           "returncode": p.returncode}
    try:
        rec.update(json.loads(p.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        rec["error"] = (p.stderr or p.stdout).strip()[-400:]
    rec["ok"] = p.returncode == 0 and bool(rec.get("ok"))
    if rec["ok"]:
        log(f"  {rec['events_per_second']:.3g} events/s")
    else:
        log(f"  FAILED: {rec.get('error') or p.stderr.strip()[-400:]}")
    return rec


# ---- the plan ----------------------------------------------------------------------------------

def pick(grids, wanted):
    """`wanted` if it is one of the grids, else the largest grid."""
    if wanted in grids:
        return wanted
    return max(grids, key=lambda g: g[0] * g[1])


def nice_duration(d, full):
    if d >= full:
        return full
    if d >= 10:
        return float(math.floor(d))
    return max(0.5, math.floor(d * 2) / 2)  # whole samples (0.5 s) below 10 s


def plan_durations(args, runner, cores):
    """Durations per grid; shortened from args.duration to fit args.budget when needed."""
    full = args.duration
    durations = {g: full for g in args.grids}
    info = {"requested": full, "budget_s": args.budget, "safety": args.safety, "shortened": False}
    if args.budget <= 0:
        return durations, info
    # Calibration: start-up overhead (tiny grid) and the rate on one worker (the mid-size grid).
    tiny = runner.run(args.memory_tiny, 2, 1.0, label="calibrate start-up")
    cal_grid = min(args.grids, key=lambda g: abs(g[0] * g[1] - 1_000_000))
    cal_dur = max(0.5, min(full, args.calibration_firefly_seconds / (cal_grid[0] * cal_grid[1])))
    # Twice, keeping the faster: one run easily lands in a busy moment of a shared machine (the
    # --safety factor is there for the load rising later).
    cals = [runner.run(cal_grid, 2, cal_dur, label=f"calibrate rate {i + 1}/2") for i in range(2)]
    cals = [c for c in cals if c["ok"]]
    if not (tiny["ok"] and cals):
        log("calibration failed: keeping the requested duration")
        return durations, info
    overhead = tiny["process_wall"] + 0.2
    # One worker's rate; conservative: a run with more ranks is assumed no faster.
    rate = max(c["cells"] * c["simulated_time"] / c["wall_time"] for c in cals)
    info.update({"calibration_rate": rate, "calibration_grid": grid_name(cal_grid),
                 "calibration_duration": cal_dur, "start_up_s": overhead})
    n_ranks = len(args.ranks)
    engines = 1 if args.no_flat else 2

    def predict(cap):
        ds = {g: nice_duration(min(full, cap / (g[0] * g[1])), full) for g in args.grids}
        per_rep = 0.0
        for g in args.grids:
            n = n_ranks * engines + (1 if g == args.summary_grid else 0)
            per_rep += n * (overhead + g[0] * g[1] * ds[g] / rate)
        mem_cells = args.memory_grid[0] * args.memory_grid[1]
        per_rep += 2 * overhead + mem_cells * args.memory_duration / rate + mem_cells * 2e-7
        per_rep += 1.0 + args.hub_events * 3e-7
        return ds, per_rep * args.repeats * args.safety

    ds, total = predict(float("inf"))
    info["predicted_full_s"] = total
    if total > args.budget:
        lo, hi = 1.0, max(g[0] * g[1] for g in args.grids) * full
        for _ in range(60):
            mid = math.sqrt(lo * hi)
            if predict(mid)[1] > args.budget:
                hi = mid
            else:
                lo = mid
        ds, total = predict(lo)
        info["shortened"] = any(d < full for d in ds.values())
        info["firefly_seconds_cap"] = lo
    info["predicted_s"] = total
    return ds, info


# ---- the benchmark -----------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--binary", required=True, help="the fireflies executable")
    ap.add_argument("--hub-bench", default="", help="the hub_bench executable (empty: skip)")
    ap.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun", help="the MPI launcher")
    ap.add_argument("--mpirun-args", default="", help="extra mpirun arguments, one string")
    ap.add_argument("--json", default="bench-results.json", help="where to write the results")
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (median, min-max)")
    ap.add_argument("--ranks", type=lambda s: parse_list(s, int), default=[2, 3],
                    help="comma-separated P values (ranks incl. the hub), default 2,3")
    ap.add_argument("--grids", type=lambda s: parse_list(s, parse_grid),
                    default=[(100, 100), (1000, 1000), (2000, 2000)],
                    help="comma-separated WxH workloads (default 100x100,1000x1000,2000x2000)")
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds (default 60)")
    ap.add_argument("--budget", type=float, default=900.0,
                    help="wall seconds the runs may take; longer plans shorten the largest grids "
                         "(default 900; 0: never shorten)")
    ap.add_argument("--safety", type=float, default=1.4,
                    help="factor on the predicted time before it is held to --budget (default 1.4: "
                         "a shared machine's load changes between the calibration and the runs)")
    ap.add_argument("--calibration-firefly-seconds", type=float, default=3e6,
                    help="size of the calibration run (default 3e6: 3 s of 1000x1000)")
    ap.add_argument("--memory-grid", type=parse_grid, default=(4000, 4000),
                    help="grid for bytes per firefly, one worker (default 4000x4000)")
    ap.add_argument("--memory-tiny", type=parse_grid, default=(10, 10),
                    help="the baseline grid subtracted from it (default 10x10)")
    ap.add_argument("--memory-duration", type=float, default=1.0, help="simulated s of the memory runs")
    ap.add_argument("--summary-grid", type=parse_grid, default=(1000, 1000),
                    help="grid of the --telemetry summary comparison (default 1000x1000)")
    ap.add_argument("--summary-ranks", type=int, default=0, help="default: the largest --ranks")
    ap.add_argument("--speedup-grid", type=parse_grid, default=(2000, 2000),
                    help="grid of the speed-up min(--ranks) -> max(--ranks) (default 2000x2000)")
    ap.add_argument("--target-grid", type=parse_grid, default=(1000, 1000),
                    help="grid the rate and coroutine/flat targets are judged on (default 1000x1000)")
    ap.add_argument("--hub-grid", type=parse_grid, default=(1000, 1000), help="hub_bench grid")
    ap.add_argument("--hub-workers", type=int, default=2, help="hub_bench workers")
    ap.add_argument("--hub-events", type=float, default=1e7, help="hub_bench flash events per run")
    ap.add_argument("--no-flat", action="store_true", help="skip the --engine flat runs")
    ap.add_argument("--seed", type=int, default=1, help="the program's --seed")
    ap.add_argument("--run-timeout", type=float, default=1800.0, help="seconds before a run is killed")
    ap.add_argument("--workdir", default="", help="where run files go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the run files")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny everything (grids 12x12,24x24, 2 s, 2 repeats, memory 200x200): "
                         "checks the bench itself in well under a minute")
    args = ap.parse_args(argv)

    if args.smoke:
        given = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
        defaults = {"--grids": ("grids", [(12, 12), (24, 24)]), "--duration": ("duration", 2.0),
                    "--repeats": ("repeats", 2), "--memory-grid": ("memory_grid", (200, 200)),
                    "--memory-tiny": ("memory_tiny", (8, 8)), "--budget": ("budget", 0.0),
                    "--hub-grid": ("hub_grid", (100, 100)), "--hub-events": ("hub_events", 2e5),
                    "--memory-duration": ("memory_duration", 0.5)}
        for opt, (name, value) in defaults.items():
            if opt not in given:
                setattr(args, name, value)
    if args.repeats < 1 or not args.ranks or not args.grids or min(args.ranks) < 2:
        ap.error("need --repeats >= 1, a non-empty --grids and --ranks values >= 2")
    if args.duration <= 0:
        ap.error("--duration must be positive")
    args.binary = os.path.abspath(args.binary)
    if args.hub_bench:
        args.hub_bench = os.path.abspath(args.hub_bench)
    args.summary_grid = pick(args.grids, args.summary_grid)
    args.speedup_grid = pick(args.grids, args.speedup_grid)
    args.target_grid = pick(args.grids, args.target_grid)
    if not args.summary_ranks:
        args.summary_ranks = max(args.ranks)
    json_path = os.path.abspath(args.json)

    own_workdir = not args.workdir
    if own_workdir:
        args.workdir = tempfile.mkdtemp(prefix="fireflies-bench-")
    os.makedirs(args.workdir, exist_ok=True)
    args.workdir = os.path.abspath(args.workdir)

    t_start = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    machine = machine_facts(args.mpirun)
    cores = machine["cores"]
    runner = Runner(args, cores)

    durations, dinfo = plan_durations(args, runner, cores)
    calibration_s = time.monotonic() - t_start
    log("durations: " + ", ".join(f"{grid_name(g)} {d:g} s" for g, d in durations.items())
        + (f" (predicted {dinfo['predicted_s']:.0f} s)" if "predicted_s" in dinfo else ""))

    runs = []
    hub_runs = []
    for rep in range(args.repeats):
        for g in args.grids:
            for p in args.ranks:
                for engine in (["coroutine"] if args.no_flat else ["coroutine", "flat"]):
                    r = runner.run(g, p, durations[g], engine, "events",
                                   label=f"repeat {rep + 1}/{args.repeats}")
                    r.update(repeat=rep, kind="workload")
                    runs.append(r)
                if g == args.summary_grid and p == args.summary_ranks:
                    r = runner.run(g, p, durations[g], "coroutine", "summary",
                                   label=f"repeat {rep + 1}/{args.repeats}")
                    r.update(repeat=rep, kind="summary")
                    runs.append(r)
        if args.summary_ranks not in args.ranks:
            for telemetry in ("events", "summary"):
                r = runner.run(args.summary_grid, args.summary_ranks, durations[args.summary_grid],
                               "coroutine", telemetry, label=f"repeat {rep + 1}/{args.repeats}")
                r.update(repeat=rep, kind="summary" if telemetry == "summary" else "summary-events")
                runs.append(r)
        for g, kind in ((args.memory_tiny, "memory-tiny"), (args.memory_grid, "memory")):
            r = runner.run(g, 2, args.memory_duration, "coroutine", "events",
                           label=f"repeat {rep + 1}/{args.repeats} memory")
            r.update(repeat=rep, kind=kind)
            runs.append(r)
        if args.hub_bench:
            h = run_hub_bench(args, f"repeat {rep + 1}/{args.repeats} hub")
            h["repeat"] = rep
            hub_runs.append(h)

    results = summarise(args, machine, durations, dinfo, runs, hub_runs, cores)
    results["started"] = started
    results["total_wall_s"] = time.monotonic() - t_start
    results["calibration_wall_s"] = calibration_s
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["failures"] = [{"command": f["command"], "error": f.get("error")} for f in runner.failures]
    results["command"] = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv))
    results["invocation"] = os.environ.get("FIREFLIES_BENCH_INVOCATION") or results["command"]

    table = render(results)
    results["table"] = table
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1, default=float)
        f.write("\n")
    print(table)
    print(f"(JSON: {json_path})")
    if own_workdir and not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    bad = runner.failures or any(not h.get("ok") for h in hub_runs)
    mismatch = any(c["identical"] == "MISMATCH" for c in results["flat"]) or \
        results["summary_telemetry"].get("identical") == "MISMATCH"
    return 1 if bad or mismatch else 0


# ---- turning runs into figures -----------------------------------------------------------------

ROW_FIELDS = ("wall_time", "process_wall", "firefly_seconds_per_core", "pulses_per_second_per_core",
              "ns_per_event", "peak_rss_worker_mib", "peak_rss_hub_mib", "hub_busy_fraction",
              "hub_events_per_busy_second")


def select(runs, **kw):
    return [r for r in runs if r.get("ok") and all(r.get(k) == v for k, v in kw.items())]


def by_repeat(runs):
    return {r["repeat"]: r for r in runs}


def paired_ratio(num, den, field="wall_time"):
    a, b = by_repeat(num), by_repeat(den)
    return spread([a[k][field] / b[k][field] for k in sorted(set(a) & set(b)) if b[k][field]])


def identity(a_runs, b_runs):
    a = {r["timeseries_sha256"] for r in a_runs}
    b = {r["timeseries_sha256"] for r in b_runs}
    if not a_runs or not b_runs:
        return "n/a"
    return "OK" if len(a | b) == 1 and None not in a else "MISMATCH"


def summarise(args, machine, durations, dinfo, runs, hub_runs, cores):
    first = next((r for r in runs if r.get("ok")), {})
    rows = []
    for g in args.grids:
        for p in args.ranks:
            for engine in (["coroutine"] if args.no_flat else ["coroutine", "flat"]):
                sel = select(runs, grid=grid_name(g), ranks=p, engine=engine, telemetry="events",
                             kind="workload")
                row = {"grid": grid_name(g), "cells": g[0] * g[1], "ranks": p,
                       "workers": max(1, min(p - 1, cores)), "engine": engine, "telemetry": "events",
                       "duration": durations[g], "runs": len(sel)}
                for k in ROW_FIELDS:
                    row[k] = spread([r.get(k) for r in sel])
                rows.append(row)
            if g == args.summary_grid and p == args.summary_ranks:
                sel = select(runs, grid=grid_name(g), ranks=p, kind="summary")
                row = {"grid": grid_name(g), "cells": g[0] * g[1], "ranks": p,
                       "workers": max(1, min(p - 1, cores)), "engine": "coroutine",
                       "telemetry": "summary", "duration": durations[g], "runs": len(sel)}
                for k in ROW_FIELDS:
                    row[k] = spread([r.get(k) for r in sel])
                rows.append(row)

    flat = []
    if not args.no_flat:
        for g in args.grids:
            for p in args.ranks:
                co = select(runs, grid=grid_name(g), ranks=p, engine="coroutine", kind="workload")
                fl = select(runs, grid=grid_name(g), ranks=p, engine="flat", kind="workload")
                flat.append({"grid": grid_name(g), "ranks": p, "identical": identity(co, fl),
                             "compared": min(len(co), len(fl)),
                             "coroutine_over_flat": paired_ratio(co, fl)})
    across_p = []
    for g in args.grids:
        sel = select(runs, grid=grid_name(g), kind="workload")
        if len({r["ranks"] for r in sel}) > 1:
            across_p.append({"grid": grid_name(g), "ranks": sorted({r["ranks"] for r in sel}),
                             "identical": identity(sel, sel[:1])})

    lo_p, hi_p = min(args.ranks), max(args.ranks)
    sg = grid_name(args.speedup_grid)
    speedup = {"grid": sg, "from_ranks": lo_p, "to_ranks": hi_p,
               "workers": [max(1, min(lo_p - 1, cores)), max(1, min(hi_p - 1, cores))],
               "speedup": paired_ratio(select(runs, grid=sg, ranks=lo_p, engine="coroutine", kind="workload"),
                                       select(runs, grid=sg, ranks=hi_p, engine="coroutine", kind="workload"))}

    sm = grid_name(args.summary_grid)
    ev_kind = "workload" if args.summary_ranks in args.ranks else "summary-events"
    ev = select(runs, grid=sm, ranks=args.summary_ranks, engine="coroutine", telemetry="events", kind=ev_kind)
    su = select(runs, grid=sm, ranks=args.summary_ranks, kind="summary")
    summary_tel = {"grid": sm, "ranks": args.summary_ranks,
                   "events_wall_time": spread([r["wall_time"] for r in ev]),
                   "summary_wall_time": spread([r["wall_time"] for r in su]),
                   "summary_over_events": paired_ratio(su, ev),
                   "events_hub_busy_fraction": spread([r["hub_busy_fraction"] for r in ev]),
                   "summary_hub_busy_fraction": spread([r["hub_busy_fraction"] for r in su]),
                   "identical": identity(ev, su)}

    big = by_repeat(select(runs, kind="memory"))
    tiny = by_repeat(select(runs, kind="memory-tiny"))
    cells = args.memory_grid[0] * args.memory_grid[1]
    memory = {"grid": grid_name(args.memory_grid), "tiny_grid": grid_name(args.memory_tiny),
              "ranks": 2, "duration": args.memory_duration,
              "worker_peak_rss_mib": spread([r["peak_rss_worker_mib"] for r in big.values()]),
              "tiny_worker_peak_rss_mib": spread([r["peak_rss_worker_mib"] for r in tiny.values()]),
              "hub_peak_rss_mib": spread([r["peak_rss_hub_mib"] for r in big.values()]),
              "bytes_per_firefly": spread([(big[k]["peak_rss_worker_mib"] - tiny[k]["peak_rss_worker_mib"])
                                           * 1048576.0 / cells for k in sorted(set(big) & set(tiny))]),
              "hub_bytes_per_firefly": spread([(big[k]["peak_rss_hub_mib"] - tiny[k]["peak_rss_hub_mib"])
                                               * 1048576.0 / cells for k in sorted(set(big) & set(tiny))])}

    hub = {"grid": grid_name(args.hub_grid), "workers": args.hub_workers, "events": int(args.hub_events),
           "ran": bool(args.hub_bench),
           "events_per_second": spread([h.get("events_per_second") for h in hub_runs if h.get("ok")]),
           "ns_per_event": spread([h.get("ns_per_event") for h in hub_runs if h.get("ok")]),
           "runs": hub_runs}

    def row_of(g, p, engine="coroutine", telemetry="events"):
        for r in rows:
            if r["grid"] == grid_name(g) and r["ranks"] == p and r["engine"] == engine and r["telemetry"] == telemetry:
                return r
        return None

    targets = []

    def target(name, quantity, where, measured, op, value):
        med = measured.get("median") if measured else None
        met = None if med is None else (med >= value if op == ">=" else med <= value)
        targets.append({"name": name, "quantity": quantity, "where": where, "measured": measured,
                        "op": op, "target": value, "met": met})

    tg = args.target_grid
    for p in args.ranks:
        r = row_of(tg, p)
        target("firefly_seconds_per_core", "firefly-s per wall-s per worker core",
               f"{grid_name(tg)} P={p}", r["firefly_seconds_per_core"] if r else None, ">=",
               TARGETS["firefly_seconds_per_core"])
    for c in flat:
        if c["grid"] == grid_name(tg):
            target("coroutine_over_flat", "coroutine / flat wall time", f"{c['grid']} P={c['ranks']}",
                   c["coroutine_over_flat"], "<=", TARGETS["coroutine_over_flat"])
    target("bytes_per_firefly", "bytes per firefly (worker RSS)", f"{memory['grid']} P=2",
           memory["bytes_per_firefly"], "<=", TARGETS["bytes_per_firefly"])
    target("speedup_p3_over_p2", f"speed-up P={hi_p} over P={lo_p}", f"{sg}", speedup["speedup"], ">=",
           TARGETS["speedup_p3_over_p2"])
    target("hub_events_per_second", "hub absorb() flash events/s (hub_bench)",
           f"{hub['grid']}, {hub['workers']} workers", hub["events_per_second"], ">=",
           TARGETS["hub_events_per_second"])

    settings = {k: (grid_name(v) if isinstance(v, tuple) else
                    [grid_name(x) for x in v] if k == "grids" else v)
                for k, v in vars(args).items()}
    return {"schema": SCHEMA, "machine": machine,
            "program": {"binary": args.binary, "version": first.get("fireflies_version"),
                        "git_revision": first.get("git_revision")},
            "settings": settings,
            "durations": {grid_name(g): d for g, d in durations.items()}, "duration_plan": dinfo,
            "formulas": FORMULAS, "rows": rows, "flat": flat, "identical_across_ranks": across_p,
            "speedup": speedup, "summary_telemetry": summary_tel, "memory": memory,
            "hub_microbench": hub, "targets": targets, "runs": runs}


FORMULAS = {
    "workers": "min(P - 1, cores available to this process)",
    "wall": "the run file's wall_time attribute (MPI start-up excluded); process = whole mpirun",
    "firefly_seconds_per_core": "W * H * simulated_time / wall_time / workers",
    "pulses_per_second_per_core": "pulses_delivered / wall_time / workers",
    "ns_per_event": "wall_time * workers / (pulses_delivered + flashes_emitted) * 1e9",
    "peak_rss": "/perf/peak_rss: max over the workers, and the hub (row 0), MiB",
    "hub_busy_fraction": "/perf/hub[0] / wall_time",
    "hub_events_per_busy_second": "flashes_received / /perf/hub[0] (events telemetry)",
    "bytes_per_firefly": "(worker peak RSS at the memory grid - the same at the tiny grid) / cells",
    "coroutine_over_flat": "wall_time(coroutine) / wall_time(flat), same repeat",
    "speedup": "wall_time(P small) / wall_time(P large), same repeat",
}


# ---- the table ---------------------------------------------------------------------------------

def render(res):
    m = res["machine"]
    s = res["settings"]
    lines = []
    out = lines.append
    durs = res["durations"]
    dp = res["duration_plan"]
    full = dp["requested"]
    dur_text = ", ".join(f"{g} {d:g} s" for g, d in durs.items())
    if all(d == full for d in durs.values()):
        dur_text = f"{full:g} s simulated on every grid"
        if full != 60:
            dur_text += f" (shortened from the issue's 60 s by --duration {full:g})"
    else:
        dur_text = (f"simulated {dur_text}: SHORTENED from {full:g} s to fit --budget {dp['budget_s']:g} s "
                    f"(calibrated {dp.get('calibration_rate', 0):.3g} firefly-s/s on one worker, predictions "
                    f"x {dp.get('safety', 1):g}; the full "
                    f"plan was predicted at {dp.get('predicted_full_s', 0) / dp.get('safety', 1) / 60:.0f} min)")
    header = [
        f"fireflies benchmark  {res['started']}  fireflies {res['program'].get('version')} "
        f"(git {res['program'].get('git_revision')})",
        f"machine: {m['cpu_model']}, {m['cores']} cores usable ({m['cpus_online']} online), "
        f"{(m['memory_gib'] or 0):.0f} GiB, {m['mpi']}, load average at start "
        f"{m['loadavg_start'][0]:.2f}, at end {m.get('loadavg_end', [0])[0]:.2f}",
        f"drop mode, seed {s['seed']}; {dur_text}",
        f"each figure: median of {s['repeats']} runs, spread (min-max) on the line below; "
        f"P = ranks (hub + P-1 workers); workers = min(P-1, {m['cores']} cores)"
        + ("; SMOKE MODE (tiny grids, not a measurement)" if s.get("smoke") else ""),
    ]
    # Main rows: medians, and the spread on the line below each.
    heads = ["grid", "P", "engine", "telem", "wall s", "process s", "ff-s/s/core", "pulses/s/core",
             "ns/event", "RSS wkr MiB", "RSS hub MiB", "hub busy", "hub ev/busy-s"]
    body = []
    for r in res["rows"]:
        fields = ("wall_time", "process_wall", "firefly_seconds_per_core", "pulses_per_second_per_core",
                  "ns_per_event", "peak_rss_worker_mib", "peak_rss_hub_mib")
        med = [fmt(r[k]["median"]) for k in fields]
        rng = [fmt_range(r[k]) for k in fields]
        hb = r["hub_busy_fraction"]
        med.append("-" if hb["median"] is None else f"{100 * hb['median']:.1f}%")
        rng.append("" if hb["median"] is None or hb["n"] < 2 else f"{100 * hb['min']:.1f}-{100 * hb['max']:.1f}")
        he = r["hub_events_per_busy_second"]
        med.append(fmt(he["median"]))
        rng.append(fmt_range(he) if he["median"] is not None else "")
        if r["runs"] == 0:
            med = ["FAILED"] + [""] * (len(med) - 1)
            rng = [""] * len(rng)
        body.append([r["grid"], str(r["ranks"]), r["engine"], r["telemetry"]] + med)
        if any(rng):
            body.append(["", "", "", ""] + rng)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]

    def cells(values):
        return "  ".join(v.rjust(w) if i > 3 else v.ljust(w)
                         for i, (w, v) in enumerate(zip(widths, values))).rstrip()

    # Derived figures and targets.
    targets = {(t["name"], t["where"]): t for t in res["targets"]}
    derived = []

    def verdict(name, where):
        t = targets.get((name, where))
        if not t:
            return "", ""
        v = "-" if t["met"] is None else ("met" if t["met"] else "NOT MET")
        return f"{t['op']} {fmt(t['target'])}", v

    def drow(figure, where, sp, name=None, scale=1.0):
        tv = verdict(name, where) if name else ("", "")
        med = "-" if not sp or sp.get("median") is None else fmt(sp["median"] * scale)
        derived.append([figure, where, med, fmt_range(sp, scale) if sp else "", tv[0], tv[1]])

    tg = s["target_grid"]
    for r in res["rows"]:
        if r["grid"] == tg and r["engine"] == "coroutine" and r["telemetry"] == "events":
            drow("firefly-s per wall-s per worker core", f"{tg} P={r['ranks']}",
                 r["firefly_seconds_per_core"], "firefly_seconds_per_core")
    for c in res["flat"]:
        drow("coroutine / flat wall time", f"{c['grid']} P={c['ranks']}", c["coroutine_over_flat"],
             "coroutine_over_flat" if c["grid"] == tg else None)
    for c in res["flat"]:
        derived.append(["/timeseries coroutine == flat (bitwise)", f"{c['grid']} P={c['ranks']}",
                        c["identical"], f"{c['compared']} run pairs", "equal",
                        "ok" if c["identical"] == "OK" else c["identical"]])
    for c in res["identical_across_ranks"]:
        derived.append(["/timeseries the same for every P (bitwise)",
                        f"{c['grid']} P={','.join(map(str, c['ranks']))}", c["identical"], "", "equal",
                        "ok" if c["identical"] == "OK" else c["identical"]])
    sp = res["speedup"]
    drow(f"speed-up P={sp['from_ranks']} -> P={sp['to_ranks']} "
         f"({sp['workers'][0]} -> {sp['workers'][1]} workers)", sp["grid"], sp["speedup"], "speedup_p3_over_p2")
    mem = res["memory"]
    drow(f"bytes per firefly, worker RSS ({mem['grid']} - {mem['tiny_grid']})", f"{mem['grid']} P=2",
         mem["bytes_per_firefly"], "bytes_per_firefly")
    drow("  worker peak RSS MiB", f"{mem['grid']} P=2", mem["worker_peak_rss_mib"])
    drow("  worker peak RSS MiB, tiny grid", f"{mem['tiny_grid']} P=2", mem["tiny_worker_peak_rss_mib"])
    drow("  hub peak RSS MiB", f"{mem['grid']} P=2", mem["hub_peak_rss_mib"])
    drow("  hub bytes per firefly (hub RSS big - tiny)", f"{mem['grid']} P=2", mem["hub_bytes_per_firefly"])
    st = res["summary_telemetry"]
    where = f"{st['grid']} P={st['ranks']}"
    drow("telemetry summary: wall s", where, st["summary_wall_time"])
    drow("telemetry events:  wall s", where, st["events_wall_time"])
    drow("summary / events wall time", where, st["summary_over_events"])
    drow("hub busy % (summary)", where, st["summary_hub_busy_fraction"], scale=100)
    drow("hub busy % (events)", where, st["events_hub_busy_fraction"], scale=100)
    derived.append(["/timeseries summary == events (bitwise)", where, st["identical"], "", "equal",
                    "ok" if st["identical"] == "OK" else st["identical"]])
    hub = res["hub_microbench"]
    hw = f"{hub['grid']}, {hub['workers']} workers"
    if hub["ran"]:
        drow("hub absorb() flash events/s (hub_bench)", hw, hub["events_per_second"], "hub_events_per_second")
        drow("  hub ns per flash event (hub_bench)", hw, hub["ns_per_event"])
    else:
        derived.append(["hub absorb() flash events/s (hub_bench)", "not run (no --hub-bench)", "-", "", "", ""])
    dheads = ["figure", "where", "median", "spread", "target", "verdict"]
    dwidths = [max(len(h), *(len(d[i]) for d in derived)) for i, h in enumerate(dheads)]

    def dcells(values):
        return "  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                         for i, (w, v) in enumerate(zip(dwidths, values))).rstrip()

    width = max(sum(widths) + 2 * (len(widths) - 1), sum(dwidths) + 2 * (len(dwidths) - 1))
    rule = "-" * width
    out("=" * width)
    for h in header:
        out(h)
    out(rule)
    out(cells(heads))
    out(rule)
    for b in body:
        out(cells(b))
    out(rule)
    out(dcells(dheads))
    out(rule)
    for d in derived:
        out(dcells(d))
    out(rule)
    foot = [
        "wall = the run file's wall_time (MPI start-up excluded); process = the whole mpirun; "
        "workers = min(P-1, cores usable)",
        "ff-s/s/core = W*H*simulated_time / wall_time / workers;  pulses/s/core = pulses_delivered "
        "/ wall_time / workers",
        "ns/event = wall_time * workers / (pulses_delivered + flashes_emitted) * 1e9;  RSS = "
        "/perf/peak_rss (max over workers; hub = row 0)",
        "hub busy = /perf/hub[0] / wall_time;  hub ev/busy-s = flashes_received / /perf/hub[0];  "
        "bytes/firefly = (worker RSS big - tiny) / cells",
        "ratios and the speed-up are taken run against run within one repeat; hub_bench times only "
        "hub::absorb() on synthetic reports",
        f"bench wall time {res['total_wall_s'] / 60:.1f} min (calibration {res['calibration_wall_s']:.0f} s)"
        + (f"; {len(res['failures'])} FAILED runs, see JSON 'failures'" if res["failures"] else ""),
    ]
    for f in foot:
        out(f)
    out("=" * width)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
