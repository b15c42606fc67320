#!/usr/bin/python3
"""scaling_smoke: runs scripts/scaling.py on tiny grids (P = 2 and 3, both modes, both telemetry
modes, 2 repeats) and checks its JSON: one row per mode, telemetry and P, every figure a spread of
2 values, the weak grids growing with the workers, speed-up 1 at the first P and efficiency
derived from it as documented, and /timeseries equal wherever the script says it must be. The
expectations are written out here, apart from scaling.py, on purpose."""

import argparse
import json
import math
import os
import sys

from smoke_common import fresh_output, run_script, verdict

problems = []


def spread_ok(row, key, n, where):
    s = row.get(key)
    if not isinstance(s, dict) or s.get("n") != n:
        problems.append(f"{where}.{key}: expected a spread of {n} values, got {s}")
        return None
    if not all(isinstance(s[k], (int, float)) and math.isfinite(s[k]) for k in ("median", "min", "max")) \
            or not s["min"] <= s["median"] <= s["max"]:
        problems.append(f"{where}.{key}: bad spread {s}")
        return None
    return s["median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scaling", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    out = fresh_output(a.workdir, "scaling-smoke.json")
    repeats = 2
    cmd = [sys.executable, a.scaling, "--binary", a.binary, "--mpirun", a.mpirun, "--ranks", "2,3",
           "--strong-grid", "24x24", "--weak-block", "16x12", "--duration", "2", "--repeats",
           str(repeats), "--json", out, "--workdir", os.path.join(a.workdir, "runs")]
    stdout = run_script(cmd, "scaling_smoke")
    if stdout is None:
        return 1
    if "fireflies scaling" not in stdout or "effic." not in stdout:
        problems.append("no table on stdout")
    with open(out) as f:
        res = json.load(f)
    if res.get("schema") != "fireflies-scaling/1":
        problems.append(f"schema {res.get('schema')}")
    if res.get("failures"):
        problems.append(f"failed runs: {res['failures']}")
    rows = res.get("rows", [])
    keys = sorted((r.get("mode"), r.get("telemetry"), r.get("ranks")) for r in rows)
    want = sorted((m, t, p) for m in ("strong", "weak") for t in ("events", "summary") for p in (2, 3))
    if keys != want:
        problems.append(f"rows {keys}, expected {want}")
    walls = {}
    for r in rows:
        where = f"{r.get('mode')}/{r.get('telemetry')}/P={r.get('ranks')}"
        workers = r.get("ranks", 0) - 1
        grid = "24x24" if r.get("mode") == "strong" else f"16x{12 * workers}"
        if r.get("grid") != grid or r.get("workers") != workers:
            problems.append(f"{where}: grid {r.get('grid')} with {r.get('workers')} workers, expected {grid}")
        for k in ("wall_time", "firefly_seconds_per_core", "simulate", "exchange", "wait", "report", "imbalance",
                  "hub_busy_fraction"):
            spread_ok(r, k, repeats, where)
        if r.get("telemetry") == "events":
            spread_ok(r, "hub_events_per_busy_second", repeats, where)
        s = spread_ok(r, "speedup", repeats, where)
        e = spread_ok(r, "efficiency", repeats, where)
        walls[(r.get("mode"), r.get("telemetry"), r.get("ranks"))] = r.get("wall_time", {}).get("values")
        if s is not None and r.get("ranks") == 2 and abs(s - 1) > 1e-12:
            problems.append(f"{where}: speed-up {s} at the reference P")
        if s is not None and e is not None:
            expect = s / workers if r.get("mode") == "strong" else s
            if abs(e - expect) > 1e-9 * max(1, expect):
                problems.append(f"{where}: efficiency {e}, expected {expect}")
        if r.get("series") != "equal":
            problems.append(f"{where}: series {r.get('series')}")
    for (m, t, p), vals in walls.items():
        ref = walls.get((m, t, 2))
        if p == 3 and vals and ref:
            got = next(r for r in rows if (r["mode"], r["telemetry"], r["ranks"]) == (m, t, 3))["speedup"]
            want_values = sorted(a / b for a, b in zip(ref, vals))
            if sorted(got["values"]) != want_values:
                problems.append(f"{m}/{t}/P=3: speed-ups {got['values']}, walls give {want_values}")
    digests = {r["timeseries_sha256"] for r in res.get("runs", []) if r.get("mode") == "strong"}
    if len(digests) != 1:
        problems.append(f"strong runs wrote {len(digests)} different /timeseries")
    if len(res.get("runs", [])) != 8 * repeats:
        problems.append(f"{len(res.get('runs', []))} runs, expected {8 * repeats}")
    return verdict("scaling_smoke", problems)


if __name__ == "__main__":
    sys.exit(main())
