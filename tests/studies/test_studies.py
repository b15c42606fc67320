"""Studies and ensembles end to end, with the real program (label `studies`):

- every study file of scripts/studies/ has the profiles quick, full and cluster, a test class
  here that runs its quick profile, and a section in docs/studies.md (Profiles);
- the shipped study 1 (scripts/studies/time_to_sync_vs_size.toml) at its `quick` profile: every run
  stops when synchronised, each run's time_to_sync is the documented rule recomputed from its
  series, the tables, the fit and the figures are written, and report.md says what ran where;
- study 3 (delay_vs_refractory.toml) at its `quick` profile: every parameter point and seed in
  the table, time_to_sync (the rule recomputed) exactly where R_state reached the threshold for
  a period, the phase diagram's corners (excitatory: synchronised at a short delay, not at a long
  one, and at d = 0.1 s only with the longer refractory period; inhibitory: only at the long
  delay), the figure and the report;
- studies 2 and 4 (mirollo_strogatz.toml, neighbourhood_disorder.toml) at their `quick` profile,
  once the program has their options (--coupling; --neighbourhood and --radius): until then
  the case exits with SKIP_CODE (77, ctest's SKIP_RETURN_CODE) and says which option is missing;
- `ensemble run` of a table (a `ranks` column, seeds 1-2) locally, then again (every run is
  already complete and skipped), then `ensemble collect` into CSV and HDF5;
- `ensemble run --slurm` through jobs/sweep.sbatch, with an `sbatch` that runs each array task
  here (the script unchanged, its launcher mpirun): the same runs give bitwise the same series
  as the local ones, and a table cut into arrays (FIREFLIES_SWEEP_OFFSET) runs every row once;
- `ensemble collect` refuses a file that is not a fireflies output, in one line naming it.

CTest passes FIREFLIES_BIN, MPIEXEC, MPIEXEC_NUMPROC_FLAG, MPIEXEC_PREFLAGS and the Open MPI
settings for root and oversubscription.
"""
from __future__ import annotations

import csv
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
from fireflies_analysis import ensemble, load_run  # noqa: E402
from fireflies_analysis.convergence import time_to_sync  # noqa: E402
from launch import FIREFLIES, MPIEXEC, NP_FLAG, PREFLAGS  # noqa: E402

STUDIES = ROOT / "scripts" / "studies"
STUDY = STUDIES / "time_to_sync_vs_size.toml"
#: Each study file and the test class that runs its quick profile.
STUDY_TESTS = {
    "time_to_sync_vs_size.toml": "Study1",
    "mirollo_strogatz.toml": "Study2",
    "delay_vs_refractory.toml": "Study3",
    "neighbourhood_disorder.toml": "Study4",
}
#: Options a study needs that the program may not have yet, by test class.
NEEDS = {"Study2": ["--coupling"], "Study4": ["--neighbourhood", "--radius"]}
SKIP_CODE = 77
LAUNCHER = " ".join([shlex.quote(MPIEXEC), NP_FLAG, "{ranks}"] + [shlex.quote(p) for p in PREFLAGS])

# What `sbatch --array=1-N ... SCRIPT ARGS` does on a cluster, done here: each task in turn, with
# the variables Slurm sets, in the environment sbatch was given (the caller's plus --export's).
FAKE_SBATCH = r"""#!/bin/bash
set -Eeuo pipefail
array= ntasks=1 args=()
for a in "$@"; do
  case $a in
    --array=*) array=${a#--array=}; array=${array%%%*} ;;
    --ntasks=*) ntasks=${a#--ntasks=} ;;
    --parsable|--output=*|--time=*|--job-name=*) ;;
    *) args+=("$a") ;;
  esac
done
job=$((4242 + $(ls "$FAKE_SBATCH_DIR" | wc -l)))
touch "$FAKE_SBATCH_DIR/job-$job"
first=${array%-*} last=${array#*-}
for ((k = first; k <= last; k++)); do
  SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_JOB_ID=$job SLURM_JOB_ID=$job SLURM_NTASKS=$ntasks LAUNCHER=mpirun \
    bash "${args[@]}" >>"$FAKE_SBATCH_DIR/job-$job" 2>&1
done
echo "$job"
"""


def program_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "scripts"), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return env


def analysis(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fireflies_analysis", *map(str, args)],
                          capture_output=True, text=True, env=env or program_env(), timeout=timeout)


class StudiesTestCase(unittest.TestCase):

    def setUp(self):
        if not FIREFLIES:
            self.skipTest("FIREFLIES_BIN is not set (run through ctest)")
        self.dir = Path(tempfile.mkdtemp(prefix="fireflies-studies-"))
        if not os.environ.get("KEEP"):
            self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def ok(self, done: subprocess.CompletedProcess) -> str:
        self.assertEqual(done.returncode, 0, f"{done.args}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
        return done.stdout


class Study1(StudiesTestCase):

    def test_reduced_study_end_to_end(self):
        out = self.dir / "study"
        stdout = self.ok(analysis("study", STUDY, "--profile", "quick", "--out", out, "--jobs", 2,
                                  "--fireflies", FIREFLIES, "--launcher", LAUNCHER))
        self.assertIn("exponent", stdout)
        rows = ensemble.read_csv(out / "runs.csv")
        self.assertEqual(len(rows), 6, "3 sizes x 2 seeds")
        self.assertEqual(sorted({r["width"] for r in rows}), [4, 8, 16])
        for r in rows:
            with self.subTest(run=r["file"]):
                self.assertEqual(r["status"], "complete")
                self.assertTrue(r["synced"])
                self.assertTrue(r["stopped_when_synced"])
                self.assertLess(r["simulated_time_s"], 200)
                with h5py.File(r["file"], "r") as f:
                    expected = time_to_sync(f["timeseries/R_state"][()], sample_every=0.5, period=5.0)
                    self.assertEqual(float(f.attrs["time_to_sync"]), expected)
                    self.assertEqual(r["time_to_sync_s"], expected)
                    self.assertEqual(int(f.attrs["invariants_hold"]), 1)
                run = load_run(r["file"], flashes=False, snapshots=False)
                self.assertEqual(run.largest_volley.size, run.n_samples)
                self.assertEqual(int(run.largest_volley.max()), r["width"] * r["height"],
                                 "synchronised: one volley holds every firefly")
                self.assertEqual(run.unit("timeseries/largest_volley"), "flashes")
        points = ensemble.read_csv(out / "points.csv")
        self.assertEqual([p["width"] for p in points], [4, 8, 16])
        self.assertTrue(all(p["fraction_synced"] == 1.0 for p in points))
        report = (out / "report.md").read_text()
        self.assertIn("**Fit over every width**", report)
        self.assertRegex(report, r"exponent -?[0-9.]+ \+- [0-9.]+")
        self.assertIn("- cpus: ", report)
        self.assertIn("--profile quick", report)
        for png in ("time_to_sync_vs_L.png", "synchronised_vs_L.png"):
            data = (out / png).read_bytes()
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", png)
            self.assertGreater(len(data), 10_000, png)
        with h5py.File(out / "study.h5", "r") as f:
            self.assertEqual(f["runs/width"].shape, (6,))
            self.assertEqual(f["points/width"].shape, (3,))
        # Once more: every run is complete with the same settings, so none runs again.
        stdout = self.ok(analysis("study", STUDY, "--profile", "quick", "--out", out,
                                  "--fireflies", FIREFLIES, "--launcher", LAUNCHER))
        self.assertEqual(stdout.count("already complete, skipped"), 6, stdout)


    def test_cluster_submission_dry_run(self):
        # scripts/studies/submit_cluster.sh: 3 sizes x 3 seeds, each a jobs/fireflies.sbatch job
        # of 1 + one worker per 512 x 512 cells, checkpointing every 50,000 s.
        out = self.dir / "cluster"
        env = dict(program_env(), DRY_RUN="1", FIREFLIES_BIN=FIREFLIES, PYTHON=sys.executable,
                   SBATCH_ARGS="--time=12:00:00 --partition=big")
        done = subprocess.run(["bash", str(ROOT / "scripts" / "studies" / "submit_cluster.sh"), str(out)],
                              capture_output=True, text=True, env=env, timeout=300)
        self.ok(done)
        submits = [line for line in done.stdout.splitlines() if line.startswith("$ ")]
        self.assertEqual(len(submits), 9, done.stdout)
        ranks = sorted(int(line.split("--ntasks=")[1].split()[0]) for line in submits)
        self.assertEqual(ranks, [17] * 3 + [65] * 3 + [257] * 3)
        for line in submits:
            self.assertIn("FIREFLIES_CHECKPOINT_EVERY=50000", line)
            self.assertIn("--partition=big", line)
            self.assertIn(str(ROOT / "jobs" / "fireflies.sbatch"), line)
        config = (out / "run-0005.toml").read_text()
        self.assertRegex(config, r"(?m)^width = 4096\b")
        self.assertRegex(config, r"(?m)^stop-when-synced = true\b")
        self.assertIn("--report-only", done.stderr)


def program_lacks(options) -> list[str]:
    """Those of ``options`` that ``fireflies --help`` does not list."""
    done = subprocess.run([FIREFLIES, "--help"], capture_output=True, text=True, timeout=60)
    return [o for o in options if o not in done.stdout.split() and f"{o}=" not in done.stdout]


class QuickStudy(StudiesTestCase):
    """Runs a study file's quick profile and checks what every study must give."""

    study_file: str = ""

    def run_quick(self) -> tuple[Path, list[dict], list[dict]]:
        sys.path.insert(0, str(ROOT / "scripts"))
        from fireflies_analysis.study import load_study
        study = load_study(STUDIES / self.study_file, "quick")
        out = self.dir / "study"
        self.ok(analysis("study", STUDIES / self.study_file, "--profile", "quick", "--out", out,
                         "--jobs", 2, "--fireflies", FIREFLIES, "--launcher", LAUNCHER))
        rows = ensemble.read_csv(out / "runs.csv")
        points = ensemble.read_csv(out / "points.csv")
        # Every parameter point, every seed: once each.
        names = list(study.points) + list(study.tie)
        expected = sorted((tuple(_value(o[n]) for n in names), int(o["seed"]))
                          for o in (r.options for r in study.runs()))
        got = sorted((tuple(_value(r[n]) for n in names), int(r["seed"])) for r in rows)
        self.assertEqual(got, expected)
        self.assertEqual(len(points), len(study.runs()) // len(study.seeds))
        threshold = float(study.options.get("sync-threshold", 0.99))
        for r in rows:
            with self.subTest(run=Path(r["file"]).name):
                self.assertEqual(r["status"], "complete")
                with h5py.File(r["file"], "r") as f:
                    rule = time_to_sync(f["timeseries/R_state"][()], sample_every=0.5,
                                        period=float(f.attrs["period"]), threshold=threshold)
                    # time_to_sync exactly where R_state stayed at the threshold for a period.
                    self.assertEqual(f.attrs.get("time_to_sync"), rule)
                self.assertEqual(r["synced"], rule is not None)
                self.assertEqual(r["stopped_when_synced"], rule is not None)
                if rule is None:
                    self.assertEqual(r["simulated_time_s"], float(study.options["duration"]))
                    self.assertIsNone(r["time_to_sync_s"])
                else:
                    self.assertEqual(r["time_to_sync_s"], rule)
                    self.assertLess(r["simulated_time_s"], float(study.options["duration"]))
        for figure in study.figures:
            data = (out / figure["file"]).read_bytes()
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", figure["file"])
            self.assertGreater(len(data), 10_000, figure["file"])
        report = (out / "report.md").read_text()
        self.assertIn("--profile quick", report)
        self.assertEqual(report.count("\n| "), 1 + len(points), "a row per point under its header")
        return out, rows, points


def _value(value):
    """An option's value, as its command-line text or as the collected table gives it back."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def by_point(points, *names):
    return {tuple(p[n] for n in names): p for p in points}


class Study3(QuickStudy):
    study_file = "delay_vs_refractory.toml"

    def test_quick_profile(self):
        _, rows, points = self.run_quick()
        self.assertEqual(len(rows), 2 * 2 * 3 * 2, "2 signs x 2 refractory x 3 delays x 2 seeds")
        p = by_point(points, "nudge", "refractory", "delay")
        synced = {k: (v["synced"], v["counted"]) for k, v in p.items()}
        # Excitatory: synchronised at d = 0.01 s whatever r; at d = 0.1 s only where the volley's
        # returning pulses (2d + j = 0.21 s) fall into the refractory period (r T = 2 s, not
        # 0.2 s); never at d = 2 s.
        for r in (0.04, 0.4):
            self.assertEqual(synced[(0.2, r, 0.01)], (2, 2), r)
            self.assertEqual(synced[(0.2, r, 2.0)], (0, 2), r)
        self.assertEqual(synced[(0.2, 0.4, 0.1)], (2, 2))
        self.assertEqual(synced[(0.2, 0.04, 0.1)], (0, 2))
        # Inhibitory: not at the short delays, at the long one.
        for r in (0.04, 0.4):
            for d in (0.01, 0.1):
                self.assertEqual(synced[(-0.2, r, d)], (0, 2), (r, d))
        self.assertEqual(synced[(-0.2, 0.4, 2.0)], (2, 2))
        self.assertGreater(p[(0.2, 0.4, 0.01)]["final_R_state_mean"], 0.99)
        self.assertLess(p[(0.2, 0.4, 2.0)]["final_R_state_mean"], 0.5)


class Study2(QuickStudy):
    study_file = "mirollo_strogatz.toml"

    def test_quick_profile(self):
        _, rows, points = self.run_quick()
        # The theorem: with dissipation every run synchronises.
        for p in points:
            if p["prc-dissipation"] > 0:
                self.assertEqual(p["synced"], p["counted"], p)


class Study4(QuickStudy):
    study_file = "neighbourhood_disorder.toml"

    def test_quick_profile(self):
        _, rows, points = self.run_quick()
        # Moore at radius 1 without spread is study 1's model: a 16 x 16 torus synchronises
        # within 300 s (study 1: about 60-190 s).
        p = by_point(points, "neighbourhood", "radius", "period-spread")
        self.assertEqual(p[("moore", 1, 0.0)]["synced"], 2)
        # The full profile's corners (docs/studies.md, study 4), on 16 x 16: identical fireflies
        # with 4 neighbours stay stuck (phase defects), radius 2 synchronises both lattices, and
        # Moore radius 2 (24 neighbours) every run faster than any Moore radius 1 run.
        self.assertEqual(p[("von-neumann", 1, 0.0)]["synced"], 0)
        self.assertLess(p[("von-neumann", 1, 0.0)]["final_R_state_mean"], 0.5)
        for lattice in ("moore", "von-neumann"):
            for spread in (0.0, 0.1):
                self.assertEqual(p[(lattice, 2, spread)]["synced"], 2, (lattice, spread))
        def times(radius):
            return [r["time_to_sync_s"] for r in rows if r["neighbourhood"] == "moore"
                    and r["radius"] == radius and r["period-spread"] == 0.0]
        self.assertEqual(len(times(1)), 2)
        self.assertLess(max(times(2)), min(times(1)))


class Profiles(unittest.TestCase):

    def test_every_study_has_its_profiles_test_and_docs(self):
        from fireflies_analysis.study import load_study
        files = sorted(p.name for p in STUDIES.glob("*.toml"))
        self.assertEqual(files, sorted(STUDY_TESTS), "a study file without a test (STUDY_TESTS)")
        docs = (ROOT / "docs" / "studies.md").read_text()
        for name in files:
            with self.subTest(study=name):
                sizes = {}
                for profile in ("quick", "full", "cluster"):
                    sizes[profile] = len(load_study(STUDIES / name, profile).runs())
                self.assertLess(sizes["quick"], sizes["full"])
                self.assertTrue(issubclass(globals()[STUDY_TESTS[name]], StudiesTestCase))
                self.assertIn(f"scripts/studies/{name}", docs)


class Ensemble(StudiesTestCase):

    def write_table(self) -> Path:
        table = self.dir / "table.tsv"
        table.write_text("# two sizes, the second on 3 ranks\n"
                         "width\theight\tduration\tstop-when-synced\tranks\n"
                         "6\t6\t150\ttrue\t1\n"
                         "10\t10\t150\ttrue\t3\n")
        return table

    def test_local_then_slurm_arrays(self):
        table = self.write_table()
        local = self.dir / "local"
        stdout = self.ok(analysis("ensemble", "run", table, "--seeds", "1-2", "--out", local,
                                  "--fireflies", FIREFLIES, "--launcher", LAUNCHER, "--jobs", 2))
        self.assertIn("4 runs (2 rows x 2 seeds)", stdout)
        self.assertEqual(len(list(local.glob("run-*.h5"))), 4)
        again = self.ok(analysis("ensemble", "run", table, "--seeds", "1-2", "--out", local,
                                 "--fireflies", FIREFLIES, "--launcher", LAUNCHER))
        self.assertEqual(again.count("already complete, skipped"), 4, again)
        with h5py.File(local / "run-0004.h5", "r") as f:
            self.assertEqual(int(f.attrs["mpi_size"]), 3, "the ranks column")
            self.assertEqual(int(f.attrs["seed"]), 2)

        # The same table through jobs/sweep.sbatch, as Slurm would run it.
        bindir = self.dir / "bin"
        bindir.mkdir()
        sbatch = bindir / "sbatch"
        sbatch.write_text(FAKE_SBATCH)
        sbatch.chmod(sbatch.stat().st_mode | stat.S_IEXEC)
        jobs = self.dir / "jobs-run"
        jobs.mkdir()
        env = program_env()
        env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", FAKE_SBATCH_DIR=str(jobs))
        slurm = self.dir / "slurm"
        stdout = self.ok(analysis("ensemble", "run", table, "--seeds", "1-2", "--out", slurm, "--slurm",
                                  "--fireflies", FIREFLIES, "--sbatch-args", "--time=00:05:00", env=env))
        self.assertIn("submitted:", stdout)
        outputs = sorted(slurm.glob("sweep-*.h5"))
        self.assertEqual(len(outputs), 4, "\n".join(p.read_text() for p in jobs.iterdir()))
        # Rows of the same options and seed: bitwise the same series, whichever way they ran.
        local_rows = {(r["width"], r["seed"]): r for r in ensemble.collect(sorted(local.glob("run-*.h5")))}
        for row in ensemble.collect(outputs):
            with self.subTest(slurm=row["file"]):
                twin = local_rows[(row["width"], row["seed"])]
                self.assertEqual(row["mpi_size"], twin["mpi_size"])
                with h5py.File(row["file"], "r") as a, h5py.File(twin["file"], "r") as b:
                    for name in ("t", "R", "R_state", "flashes", "largest_volley"):
                        self.assertTrue(np.array_equal(a["timeseries/" + name][()], b["timeseries/" + name][()]),
                                        name)
                    self.assertEqual(a.attrs.get("time_to_sync"), b.attrs.get("time_to_sync"))

        # Collected: one row per run, every setting, CSV and HDF5; a file that is not an output
        # is refused in one line naming it.
        files = sorted(local.glob("run-*.h5")) + outputs
        csv_path, h5_path = self.dir / "all.csv", self.dir / "all.h5"
        stdout = self.ok(analysis("ensemble", "collect", *files, "-o", csv_path, "-o", h5_path))
        self.assertIn("8 runs, 2 points (by width, height)", stdout)
        with open(csv_path, newline="") as f:
            got = list(csv.DictReader(f))
        self.assertEqual(len(got), 8)
        for column in ("width", "seed", "nudge", "refractory-mode", "sync-threshold", "time_to_sync_s",
                       "final_R", "flashes_per_firefly_per_s", "status"):
            self.assertIn(column, got[0])
        self.assertEqual(len(ensemble.read_h5(h5_path)), 8)
        log = sorted(local.glob("run-*.log"))[0]
        bad = analysis("ensemble", "collect", *files, log)
        self.assertEqual(bad.returncode, 1)
        lines = bad.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, bad.stderr)
        self.assertIn(str(log), lines[0])

    def test_arrays_cut_by_offset_run_every_row_once(self):
        # jobs/sweep.sbatch with FIREFLIES_SWEEP_OFFSET: two arrays over one table.
        table = self.dir / "rows.tsv"
        table.write_text("width\theight\tduration\tseed\n4\t4\t20\t1\n4\t4\t20\t2\n4\t4\t20\t3\n")
        out = self.dir / "offset"
        env = dict(os.environ, FIREFLIES_BIN=FIREFLIES, FIREFLIES_SWEEP_DIR=str(out), LAUNCHER="mpirun",
                   SLURM_NTASKS="1", SLURM_ARRAY_JOB_ID="77")
        for offset, tasks in ((0, (1, 2)), (2, (1,))):
            for task in tasks:
                done = subprocess.run(["bash", str(ROOT / "jobs" / "sweep.sbatch"), str(table)],
                                      env=dict(env, FIREFLIES_SWEEP_OFFSET=str(offset),
                                               SLURM_ARRAY_TASK_ID=str(task)),
                                      capture_output=True, text=True, timeout=120)
                self.assertEqual(done.returncode, 0, done.stderr)
        seeds = sorted(int(h5py.File(p, "r").attrs["seed"]) for p in out.glob("sweep-77-*.h5"))
        self.assertEqual(seeds, [1, 2, 3])
        done = subprocess.run(["bash", str(ROOT / "jobs" / "sweep.sbatch"), str(table)],
                              env=dict(env, FIREFLIES_SWEEP_OFFSET="3", SLURM_ARRAY_TASK_ID="1"),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 2, "row 4 of a 3-row table")
        self.assertIn("outside rows 1..3", done.stderr)


if __name__ == "__main__":
    lacking = [o for case in sys.argv[1:] for o in NEEDS.get(case, [])]
    if lacking and FIREFLIES:
        missing = program_lacks(lacking)
        if missing:
            print(f"SKIP: {FIREFLIES} has no {', '.join(missing)} yet (fireflies --help); this "
                  "study runs once it has")
            sys.exit(SKIP_CODE)
    unittest.main(verbosity=2)
