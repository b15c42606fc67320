#!/usr/bin/python3
"""bench_smoke: runs scripts/bench.py --smoke (tiny grids, a few seconds of simulated time) and
checks that the JSON it writes has every field the benchmark promises, that every run finished,
and that the coroutine and flat engines, every P and both telemetry modes gave bitwise the same
/timeseries. The field list is written out here, apart from bench.py, on purpose."""

import argparse
import json
import math
import os
import sys
import time

from smoke_common import fresh_output, run_script, verdict

SPREAD = ("median", "min", "max", "n")
ROW = ("grid", "cells", "ranks", "workers", "engine", "telemetry", "duration", "runs",
       "wall_time", "process_wall", "firefly_seconds_per_core", "pulses_per_second_per_core",
       "ns_per_event", "peak_rss_worker_mib", "peak_rss_hub_mib", "hub_busy_fraction",
       "hub_events_per_busy_second")
ROW_SPREADS = ROW[8:]
TOP = ("schema", "machine", "program", "settings", "durations", "duration_plan", "formulas", "rows",
       "flat", "identical_across_ranks", "speedup", "summary_telemetry", "memory", "hub_microbench",
       "targets", "runs", "started", "total_wall_s", "failures", "command", "invocation", "table")
MACHINE = ("cpu_model", "cores", "cpus_online", "mpi", "loadavg_start", "loadavg_end")
FLAT = ("grid", "ranks", "identical", "compared", "coroutine_over_flat")
SPEEDUP = ("grid", "from_ranks", "to_ranks", "workers", "speedup")
SUMMARY = ("grid", "ranks", "events_wall_time", "summary_wall_time", "summary_over_events",
           "events_hub_busy_fraction", "summary_hub_busy_fraction", "identical")
MEMORY = ("grid", "tiny_grid", "ranks", "duration", "worker_peak_rss_mib", "tiny_worker_peak_rss_mib",
          "hub_peak_rss_mib", "bytes_per_firefly", "hub_bytes_per_firefly")
HUB = ("grid", "workers", "events", "ran", "events_per_second", "ns_per_event", "runs")
TARGET = ("name", "quantity", "where", "measured", "op", "target", "met")
TARGET_NAMES = {"firefly_seconds_per_core", "coroutine_over_flat", "bytes_per_firefly",
                "speedup_p3_over_p2", "hub_events_per_second"}

problems = []


def need(obj, keys, where):
    for k in keys:
        if k not in obj:
            problems.append(f"{where}: no '{k}'")


def need_spread(obj, key, where, repeats):
    s = obj.get(key)
    if not isinstance(s, dict):
        problems.append(f"{where}.{key}: not a spread object")
        return
    need(s, SPREAD, f"{where}.{key}")
    if s.get("n") != repeats:
        problems.append(f"{where}.{key}: {s.get('n')} values, expected {repeats}")
        return
    med, lo, hi = s.get("median"), s.get("min"), s.get("max")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (med, lo, hi)):
        problems.append(f"{where}.{key}: non-numeric median/min/max {med}, {lo}, {hi}")
    elif not lo <= med <= hi:
        problems.append(f"{where}.{key}: median {med} outside [{lo}, {hi}]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--hub-bench", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    out = fresh_output(a.workdir, "bench-smoke.json")
    repeats = 2
    cmd = [sys.executable, a.bench, "--smoke", "--repeats", str(repeats), "--binary", a.binary,
           "--hub-bench", a.hub_bench, "--mpirun", a.mpirun, "--json", out,
           "--workdir", os.path.join(a.workdir, "runs")]
    start = time.monotonic()
    stdout = run_script(cmd, "bench_smoke")
    took = time.monotonic() - start
    if stdout is None:
        return 1
    if "fireflies benchmark" not in stdout or "ff-s/s/core" not in stdout:
        problems.append("no table on stdout")
    with open(out) as f:
        res = json.load(f)

    need(res, TOP, "top")
    if res.get("schema") != "fireflies-bench/1":
        problems.append(f"schema {res.get('schema')}")
    need(res.get("machine", {}), MACHINE, "machine")
    need(res.get("program", {}), ("binary", "version", "git_revision"), "program")
    if res.get("failures"):
        problems.append(f"failed runs: {res['failures']}")
    rows = res.get("rows", [])
    # 2 grids x 2 P x 2 engines, plus the summary-telemetry row.
    if len(rows) != 9:
        problems.append(f"{len(rows)} rows, expected 9")
    for i, r in enumerate(rows):
        need(r, ROW, f"rows[{i}]")
        for k in ROW_SPREADS:
            if k == "hub_events_per_busy_second" and r.get("telemetry") == "summary":
                continue
            need_spread(r, k, f"rows[{i}]", repeats)
    engines = {(r.get("engine"), r.get("telemetry")) for r in rows}
    if engines != {("coroutine", "events"), ("flat", "events"), ("coroutine", "summary")}:
        problems.append(f"engines/telemetry in rows: {sorted(engines)}")
    flat = res.get("flat", [])
    if len(flat) != 4:
        problems.append(f"{len(flat)} flat comparisons, expected 4")
    for i, c in enumerate(flat):
        need(c, FLAT, f"flat[{i}]")
        need_spread(c, "coroutine_over_flat", f"flat[{i}]", repeats)
        if c.get("identical") != "OK":
            problems.append(f"flat[{i}] {c.get('grid')} P={c.get('ranks')}: /timeseries {c.get('identical')}")
    for i, c in enumerate(res.get("identical_across_ranks", [])):
        if c.get("identical") != "OK":
            problems.append(f"identical_across_ranks[{i}]: {c}")
    need(res.get("speedup", {}), SPEEDUP, "speedup")
    need_spread(res.get("speedup", {}), "speedup", "speedup", repeats)
    st = res.get("summary_telemetry", {})
    need(st, SUMMARY, "summary_telemetry")
    for k in SUMMARY[2:7]:
        need_spread(st, k, "summary_telemetry", repeats)
    if st.get("identical") != "OK":
        problems.append(f"summary vs events /timeseries: {st.get('identical')}")
    mem = res.get("memory", {})
    need(mem, MEMORY, "memory")
    for k in MEMORY[4:]:
        need_spread(mem, k, "memory", repeats)
    hub = res.get("hub_microbench", {})
    need(hub, HUB, "hub_microbench")
    need_spread(hub, "events_per_second", "hub_microbench", repeats)
    need_spread(hub, "ns_per_event", "hub_microbench", repeats)
    names = set()
    for i, t in enumerate(res.get("targets", [])):
        need(t, TARGET, f"targets[{i}]")
        names.add(t.get("name"))
        if t.get("met") not in (True, False):
            problems.append(f"targets[{i}] {t.get('name')}: no verdict")
    if names != TARGET_NAMES:
        problems.append(f"targets: {sorted(names)}, expected {sorted(TARGET_NAMES)}")
    for i, r in enumerate(res.get("runs", [])):
        need(r, ("grid", "ranks", "engine", "telemetry", "wall_time", "process_wall", "simulated_time",
                 "flashes_emitted", "pulses_delivered", "hub_busy_s", "peak_rss_worker_mib",
                 "peak_rss_hub_mib", "timeseries_sha256", "command", "ok"), f"runs[{i}]")

    print(f"bench_smoke: bench.py took {took:.1f} s")
    return verdict("bench_smoke", problems, "OK, every field present")


if __name__ == "__main__":
    sys.exit(main())
