#!/usr/bin/python3
"""Strong and weak scaling of fireflies on one machine: one table, also written as JSON.

Run it through `scripts/bench.sh --scaling [options]`, which builds the release preset first; run
directly, it needs --binary. Debian's /usr/bin/python3 with h5py and numpy; nothing else. On a
cluster, jobs/scaling.sbatch runs strong and weak scaling across nodes with srun (wall time
only, the best of its repeats).

For every rank count P in --ranks (P = hub + P-1 workers; default: 1, 2, 4, 8, ... workers and
one per core but the hub's, at least 2 workers) and every --telemetry mode:
  strong  the same grid (--strong-grid, default 2000x2000) at every P;
  weak    the same block per worker (--weak-block, default 1000x1000): a grid of W x (H * workers),
          which the program cuts into one W x H block per worker.
Drop mode, --duration simulated seconds (default 60), --repeats runs per point (default 3; the
repeats are the outer loop, so that a slow spell of a shared machine spreads over every point).

Per row, each figure the median over the repeats (wall time with its spread, min-max):
  wall        the program's /attrs wall_time (MPI start-up excluded), seconds
  speed-up    wall(first P of the row's mode and telemetry) / wall(P), paired by repeat
  efficiency  strong: speed-up x workers(first P) / workers(P); weak: speed-up (1 is perfect)
  ff-s/s/core cells x simulated seconds / wall / workers (firefly-seconds per wall-second per
              worker)
  simulate, exchange, wait, report   the workers' /perf timers simulate, exchange, wait and hub
              (handing reports to the hub), each the median over the workers, seconds
  imbalance   the slowest worker's simulate time over the workers' mean
  hub busy    /perf/hub of the hub over wall time; hub Mev/s: flash events per second of hub
              busy time (events telemetry)
  series      strong: every P and telemetry mode must write bitwise the same /timeseries (the
              result does not depend on the decomposition); weak: summary must equal events at
              each P. "equal" or "MISMATCH" (exit status 1).
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the runner, file reading and number formatting are shared)
from bench import fmt, fmt_range, grid_name, log, parse_grid, parse_list, spread  # noqa: E402


def default_ranks(cores):
    """1, 2, 4, ... workers and one per core but the hub's (at least 2 workers: on 2 cores the
    issue's P = 2 and P = 3)."""
    most = max(2, cores - 1)
    workers = []
    w = 1
    while w <= most:
        workers.append(w)
        w *= 2
    if most > workers[-1]:
        workers.append(most)
    return [w + 1 for w in workers]


def worker_timers(rec):
    """Median over the workers (rows 1..) of each /perf timer, and simulate's max/mean."""
    perf = rec.get("perf") or {}
    out = {}
    for name in ("simulate", "exchange", "wait", "hub"):
        rows = perf.get(name) or []
        vals = rows[1:] if len(rows) > 1 else rows
        out["report" if name == "hub" else name] = statistics.median(vals) if vals else None
        if name == "simulate" and vals:
            mean = sum(vals) / len(vals)
            out["imbalance"] = max(vals) / mean if mean > 0 else None
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="the fireflies executable")
    ap.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun", help="the MPI launcher")
    ap.add_argument("--mpirun-args", default="", help="extra mpirun arguments, one string")
    ap.add_argument("--json", default="scaling-results.json", help="where to write the results")
    ap.add_argument("--ranks", type=lambda s: parse_list(s, int), default=None,
                    help="rank counts, comma-separated (default: 1, 2, 4, ... workers and one per core)")
    ap.add_argument("--modes", type=lambda s: parse_list(s, str), default=["strong", "weak"],
                    help="strong,weak (default both)")
    ap.add_argument("--telemetry", type=lambda s: parse_list(s, str), default=["events", "summary"],
                    help="events,summary (default both)")
    ap.add_argument("--strong-grid", type=parse_grid, default=(2000, 2000), help="strong scaling grid")
    ap.add_argument("--weak-block", type=parse_grid, default=(1000, 1000), help="weak scaling block per worker")
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds (default 60)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per point (median, min-max)")
    ap.add_argument("--seed", type=int, default=1, help="the program's --seed")
    ap.add_argument("--run-timeout", type=float, default=1800.0, help="seconds before a run is killed")
    ap.add_argument("--workdir", default="", help="where run files go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the run files")
    args = ap.parse_args(argv)

    machine = bench.machine_facts(args.mpirun)
    cores = machine["cores"]
    if args.ranks is None:
        args.ranks = default_ranks(cores)
    if args.repeats < 1 or not args.ranks or min(args.ranks) < 2 or args.duration <= 0:
        ap.error("need --repeats >= 1, --ranks values >= 2 and a positive --duration")
    for m in args.modes:
        if m not in ("strong", "weak"):
            ap.error(f"--modes: '{m}' is not strong or weak")
    for t in args.telemetry:
        if t not in ("events", "summary"):
            ap.error(f"--telemetry: '{t}' is not events or summary")
    args.binary = os.path.abspath(args.binary)
    json_path = os.path.abspath(args.json)
    own_workdir = not args.workdir
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="fireflies-scaling-"))
    os.makedirs(args.workdir, exist_ok=True)

    t_start = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    runner = bench.Runner(args, cores)
    runs = []

    def report(final):
        """Summarise the runs so far and write the JSON (after every repeat, so that a run cut
        short by a time limit leaves the repeats it finished)."""
        rows, mismatch = summarise(args, runs)
        results = {"schema": "fireflies-scaling/1", "started": started, "machine": machine,
                   "args": dict(vars(args)), "rows": rows, "runs": runs, "complete": final,
                   "total_wall_s": time.monotonic() - t_start,
                   "failures": [{"command": f["command"], "error": f.get("error")}
                                for f in runner.failures]}
        results["machine"]["loadavg_end"] = list(os.getloadavg())
        results["table"] = render(results)
        with open(json_path + ".tmp", "w") as f:
            json.dump(results, f, indent=1, default=str)
            f.write("\n")
        os.replace(json_path + ".tmp", json_path)
        return results, mismatch

    for rep in range(args.repeats):
        for mode in args.modes:
            for telemetry in args.telemetry:
                for p in args.ranks:
                    workers = p - 1
                    grid = args.strong_grid if mode == "strong" else \
                        (args.weak_block[0], args.weak_block[1] * workers)
                    r = runner.run(grid, p, args.duration, "coroutine", telemetry,
                                   label=f"repeat {rep + 1}/{args.repeats} {mode}")
                    r.update(repeat=rep, mode=mode, workers=workers)
                    if r.get("ok"):
                        r.update(worker_timers(r))
                        # ff-s/s/core with every worker counted (Runner caps at the cores)
                        r["firefly_seconds_per_core"] = \
                            r["cells"] * r["simulated_time"] / r["wall_time"] / workers
                    runs.append(r)
        results, mismatch = report(rep + 1 == args.repeats)
        log(f"repeat {rep + 1}/{args.repeats} done: {json_path}")

    print(results["table"])
    print(f"(JSON: {json_path})")
    if own_workdir and not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 1 if runner.failures or mismatch else 0


def summarise(args, runs):
    rows = []
    mismatch = False
    ok = [r for r in runs if r.get("ok")]
    for mode in args.modes:
        if mode == "strong":
            digests = {r["timeseries_sha256"] for r in ok if r["mode"] == mode}
            strong_series = "equal" if len(digests) == 1 else ("MISMATCH" if digests else "-")
            mismatch |= strong_series == "MISMATCH"
        for telemetry in args.telemetry:
            ref = None
            for p in args.ranks:
                mine = [r for r in ok if r["mode"] == mode and r["telemetry"] == telemetry and r["ranks"] == p]
                if not mine:
                    rows.append({"mode": mode, "telemetry": telemetry, "ranks": p, "workers": p - 1,
                                 "failed": True})
                    continue
                row = {"mode": mode, "telemetry": telemetry, "ranks": p, "workers": p - 1,
                       "grid": mine[0]["grid"], "runs": len(mine)}
                for field in ("wall_time", "firefly_seconds_per_core", "simulate", "exchange", "wait",
                              "report", "imbalance", "hub_busy_fraction", "hub_events_per_busy_second"):
                    row[field] = spread([r.get(field) for r in mine])
                if ref is None:
                    ref = (p, {r["repeat"]: r["wall_time"] for r in mine})
                speedups = [ref[1][r["repeat"]] / r["wall_time"] for r in mine if r["repeat"] in ref[1]]
                row["speedup"] = spread(speedups)
                scale = (ref[0] - 1) / (p - 1) if mode == "strong" else 1.0
                row["efficiency"] = spread([s * scale for s in speedups])
                if mode == "strong":
                    row["series"] = strong_series
                else:
                    others = [r for r in ok if r["mode"] == mode and r["ranks"] == p]
                    digests = {r["timeseries_sha256"] for r in others}
                    row["series"] = "equal" if len(digests) == 1 else "MISMATCH"
                    mismatch |= row["series"] == "MISMATCH"
                rows.append(row)
    return rows, mismatch


def render(res):
    m = res["machine"]
    a = res["args"]
    partial = "" if res["complete"] else " (PARTIAL: cut short)"
    lines = [f"fireflies scaling{partial}, {res['started']}: {m['cpu_model']}, {m['cores']} cores, "
             f"{m['memory_gib']:.0f} GiB, {m['mpi']}",
             f"drop mode, {a['duration']:g} s simulated, median of {a['repeats']} (spread min-max); "
             f"strong: {grid_name(a['strong_grid'])}; weak: {grid_name(a['weak_block'])} per worker; "
             f"load average {m['loadavg_start'][0]:.2f} -> {m['loadavg_end'][0]:.2f}; "
             f"{res['total_wall_s'] / 60:.1f} min",
             ""]
    head = ("mode", "telem", "P", "wkr", "grid", "wall s", "spread", "speed-up", "effic.",
            "ff-s/s/core", "sim s", "exch s", "wait s", "report s", "imbal.", "hub busy", "hub Mev/s", "series")
    body = []
    for r in res["rows"]:
        if r.get("failed"):
            body.append((r["mode"], r["telemetry"], str(r["ranks"]), str(r["workers"])) + ("FAILED",)
                        + ("",) * (len(head) - 5))
            continue
        hub_ev = r["hub_events_per_busy_second"]["median"]
        body.append((r["mode"], r["telemetry"], str(r["ranks"]), str(r["workers"]), r["grid"],
                     fmt(r["wall_time"]["median"]), fmt_range(r["wall_time"]),
                     fmt(r["speedup"]["median"]), fmt(r["efficiency"]["median"]),
                     fmt(r["firefly_seconds_per_core"]["median"]), fmt(r["simulate"]["median"]),
                     fmt(r["exchange"]["median"]), fmt(r["wait"]["median"]), fmt(r["report"]["median"]),
                     fmt(r["imbalance"]["median"]),
                     f"{100 * r['hub_busy_fraction']['median']:.1f}%" if r["hub_busy_fraction"]["median"]
                     is not None else "-",
                     fmt(hub_ev / 1e6) if hub_ev else "-", r["series"]))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip())
    if res["failures"]:
        lines += ["", f"{len(res['failures'])} run(s) FAILED:"] + \
                 [f"  {f['command']}: {f['error']}" for f in res["failures"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
