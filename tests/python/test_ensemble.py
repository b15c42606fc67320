"""Tests of the ensemble and study tools (fireflies_analysis.stats, .ensemble, .ensemble_plots,
.study) on synthetic run files: the statistics against known values, the collector (one row per
file, refusals, 1,000 files in seconds), the summaries, the tables, the Slurm submission commands
and the study files. The real program runs them end to end in tests/studies (label studies).

Run: ``PYTHONPATH=scripts MPLBACKEND=Agg python3 -m unittest discover -s tests/python -v``
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import sys
import tempfile
import time
import unittest
from unittest import mock
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
try:
    import fireflies_analysis  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "scripts"))

from fireflies_analysis import ensemble, stats, study  # noqa: E402
from fireflies_analysis.__main__ import main as cli_main  # noqa: E402
from fireflies_analysis.convergence import time_to_sync  # noqa: E402


def write_output(path: Path, *, width=16, seed=1, time_to_sync_s=None, status="complete",
                 samples=400, threshold_in_config=True, R_state=None, extra_config="") -> Path:
    """A small run file in the program's layout: the root attributes the collector reads and a
    /timeseries group (samples every 0.5 s)."""
    t = np.arange(samples) * 0.5
    R_state = np.asarray(R_state if R_state is not None else np.linspace(0, 1, samples))
    config = (f"[fireflies]\nwidth = {width}\nheight = {width}\nperiod = 5.0\nnudge = 0.2\n"
              f"sample-every = 0.5\nseed = {seed}\nduration = {t[-1]!r}\n"
              f'refractory-mode = "drop"\noutput = "{path.name}"\n')
    if threshold_in_config:
        config += "sync-threshold = 0.99\nstop-when-synced = true\n"
    config += extra_config
    with h5py.File(path, "w") as f:
        a = f.attrs
        a["fireflies_version"] = "0.1.0"
        a["git_revision"] = "synthetic"
        a["config"] = config
        a["width"] = width
        a["height"] = width
        a["period"] = 5.0
        a["seed"] = np.uint64(seed)
        a["status"] = status
        a["mpi_size"] = 3
        a["workers"] = 2
        a["segments"] = 1
        a["created"] = "2025-01-01T00:00:00Z"
        if status != "running":
            a["simulated_time"] = float(t[-1])
            a["wall_time"] = 0.5
            a["samples"] = samples
            a["flashes_emitted"] = int(width * width * t[-1] / 5)
            a["invariants_hold"] = 1
            a["stopped_when_synced"] = 0
        if time_to_sync_s is not None:
            a["time_to_sync"] = float(time_to_sync_s)
        g = f.create_group("timeseries")
        g["t"] = t
        g["R"] = R_state
        g["R_state"] = R_state
        g["flashes"] = np.full(samples, width * width // 10, np.int64)
        g["pulse"] = np.cumsum(g["flashes"][()]) / (width * width)
    return path


class Statistics(unittest.TestCase):

    def test_t_quantiles_known_values(self):
        # Student's t table, two-sided 95 %.
        for df, value in ((1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423),
                          (1000, 1.9623)):
            self.assertAlmostEqual(stats.t_quantile(0.975, df), value, places=3, msg=f"df {df}")
        self.assertAlmostEqual(stats.t_quantile(0.025, 4), -2.7764, places=3)
        self.assertEqual(stats.t_quantile(0.5, 3), 0.0)

    def test_mean_ci(self):
        mean, low, high = stats.mean_ci([1.0, 2.0, 3.0, 4.0, float("nan")])
        self.assertEqual(mean, 2.5)
        half = 3.1824 * math.sqrt(np.var([1, 2, 3, 4], ddof=1)) / 2  # t(0.975, 3) s / sqrt(4)
        self.assertAlmostEqual(high - mean, half, places=3)
        self.assertAlmostEqual(mean - low, half, places=3)
        self.assertTrue(math.isnan(stats.mean_ci([5.0])[1]))
        self.assertTrue(all(math.isnan(v) for v in stats.mean_ci([])))

    def test_wilson_interval(self):
        low, high = stats.wilson_interval(3, 10)
        self.assertAlmostEqual(low, 0.1078, places=4)
        self.assertAlmostEqual(high, 0.6032, places=4)
        self.assertEqual(stats.wilson_interval(0, 10)[0], 0.0)
        self.assertEqual(stats.wilson_interval(10, 10)[1], 1.0)
        self.assertGreater(stats.wilson_interval(10, 10)[0], 0.69)
        self.assertTrue(math.isnan(stats.wilson_interval(0, 0)[0]))

    def test_power_law_recovers_the_exponent(self):
        rng = np.random.default_rng(3)
        x = np.repeat([16.0, 32, 64, 128, 256], 5)
        y = 3.0 * x ** 0.8 * np.exp(rng.normal(0, 0.05, x.size))
        fit = stats.fit_power_law(x, y, bootstrap=500)
        self.assertAlmostEqual(fit.exponent, 0.8, delta=0.05)
        self.assertLess(fit.exponent_ci[0], 0.8)
        self.assertGreater(fit.exponent_ci[1], 0.8)
        lo, hi = fit.exponent_ci_bootstrap
        self.assertLess(lo, fit.exponent)
        self.assertGreater(hi, fit.exponent)
        self.assertTrue(np.all(fit.band_low <= fit(fit.band_x) * 1.0001))
        self.assertTrue(np.all(fit.band_high >= fit(fit.band_x) * 0.9999))
        again = stats.fit_power_law(x, y, bootstrap=500)
        self.assertEqual(again.exponent_ci_bootstrap, fit.exponent_ci_bootstrap, "fixed seed")
        # A zero or NaN time has no logarithm: left out, not an error.
        with_bad = stats.fit_power_law(np.r_[x, 8.0, 8.0], np.r_[y, 0.0, np.nan], bootstrap=0)
        self.assertEqual(with_bad.n_runs, x.size)
        with self.assertRaises(ValueError):
            stats.fit_power_law([16, 16], [1.0, 2.0])


class TimeToSyncRule(unittest.TestCase):

    def test_rule_as_documented(self):
        r = np.r_[np.zeros(3), np.ones(10)]
        self.assertIsNone(time_to_sync(r, sample_every=0.5, period=5), "9 intervals < a period")
        self.assertEqual(time_to_sync(np.r_[r, 0.99], sample_every=0.5, period=5), 1.5)
        self.assertEqual(time_to_sync(np.ones(11), sample_every=0.5, period=5, threshold=1.0), 0.0)
        dip = np.r_[np.ones(10), 0.5, np.ones(11)]
        self.assertEqual(time_to_sync(dip, sample_every=0.5, period=5), 5.5)
        self.assertIsNone(time_to_sync(np.full(50, np.nan), sample_every=0.5, period=5))


class Collect(unittest.TestCase):

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fireflies-ensemble-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main([str(a) for a in argv])
        return code, out.getvalue(), err.getvalue()

    def test_one_row_per_run_with_every_setting(self):
        a = write_output(self.dir / "a.h5", width=16, seed=1, time_to_sync_s=42.5)
        b = write_output(self.dir / "b.h5", width=32, seed=2)  # not synchronised
        rows = ensemble.collect([a, b])
        self.assertEqual([r["file"] for r in rows], [str(a), str(b)])
        self.assertEqual(rows[0]["width"], 16)
        self.assertEqual(rows[0]["refractory-mode"], "drop")
        self.assertEqual(rows[0]["time_to_sync_s"], 42.5)
        self.assertTrue(rows[0]["synced"])
        self.assertEqual(rows[0]["time_to_sync_source"], "attribute")
        self.assertTrue(math.isnan(rows[1]["time_to_sync_s"]))
        self.assertFalse(rows[1]["synced"])
        self.assertEqual(rows[0]["final_R"], 1.0)
        self.assertAlmostEqual(rows[0]["flashes_per_firefly_per_s"], 0.2, places=2)
        self.assertEqual(rows[0]["fireflies"], 256)

    def test_a_file_from_before_the_attribute_is_read_from_its_series(self):
        r = np.r_[np.zeros(20), np.ones(30)]
        old = write_output(self.dir / "old.h5", samples=50, R_state=r, threshold_in_config=False)
        row = ensemble.read_run(old)
        self.assertEqual(row["time_to_sync_source"], "series")
        self.assertEqual(row["time_to_sync_s"], 10.0)

    def test_refuses_what_is_not_an_output_in_one_line_naming_it(self):
        good = write_output(self.dir / "good.h5")
        text = self.dir / "notes.txt"
        text.write_text("not HDF5\n")
        other = self.dir / "other.h5"
        with h5py.File(other, "w") as f:
            f["x"] = [1, 2, 3]
        for bad in (text, other, self.dir / "missing.h5"):
            with self.subTest(bad=bad.name):
                code, out, err = self.cli("ensemble", "collect", good, bad)
                self.assertEqual(code, 1)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertIn(str(bad), lines[0])
                self.assertIn("error", lines[0])
        code, out, err = self.cli("ensemble", "collect", good, other, "--skip-invalid")
        self.assertEqual(code, 0, err)
        self.assertIn("1 runs", out)
        self.assertIn("skipped", err)

    def test_summaries_per_point(self):
        files = []
        for width, times in ((16, [40.0, 50.0, 60.0]), (32, [90.0, None, 110.0])):
            for seed, tts in enumerate(times, start=1):
                files.append(write_output(self.dir / f"w{width}-s{seed}.h5", width=width, seed=seed,
                                          time_to_sync_s=tts))
        files.append(write_output(self.dir / "running.h5", width=32, seed=9, status="running"))
        rows = ensemble.collect(files)
        self.assertEqual(ensemble.parameter_columns(rows), ["width", "height"],
                         "seed, output and duration-free columns are not parameters")
        points = ensemble.summarise(rows)
        self.assertEqual([p["width"] for p in points], [16, 32])
        p16, p32 = points
        self.assertEqual((p16["runs"], p16["counted"], p16["synced"]), (3, 3, 3))
        self.assertEqual(p16["time_to_sync_s_mean"], 50.0)
        self.assertAlmostEqual(p16["time_to_sync_s_high"] - 50.0, 4.3027 * 10 / math.sqrt(3), places=2)
        self.assertEqual((p32["runs"], p32["counted"], p32["synced"]), (4, 3, 2),
                         "a run still going neither counts as synchronised nor as not")
        self.assertAlmostEqual(p32["fraction_synced"], 2 / 3)
        self.assertEqual((p32["fraction_synced_low"], p32["fraction_synced_high"]),
                         stats.wilson_interval(2, 3))

    def test_tables_round_trip(self):
        files = [write_output(self.dir / f"r{s}.h5", width=8 * s, seed=s, time_to_sync_s=10.0 * s)
                 for s in (1, 2, 3)]
        code, out, err = self.cli("ensemble", "collect", *files, "-o", self.dir / "t.csv",
                                  "-o", self.dir / "t.h5")
        self.assertEqual(code, 0, err)
        from_csv = ensemble.read_csv(self.dir / "t.csv")
        from_h5 = ensemble.read_h5(self.dir / "t.h5")
        direct = ensemble.collect(files)
        for rows in (from_csv, from_h5):
            self.assertEqual(len(rows), 3)
            for got, want in zip(rows, direct):
                for key in ("width", "seed", "time_to_sync_s", "synced", "final_R", "status"):
                    self.assertEqual(got[key], want[key], key)
        points = ensemble.read_csv(self.dir / "t.points.csv")
        self.assertEqual([p["width"] for p in points], [8, 16, 24])
        self.assertEqual(len(ensemble.read_h5(self.dir / "t.h5", "points")), 3)
        # pandas reads both (docs/studies.md says so).
        try:
            import pandas as pd
        except ImportError:
            return
        self.assertEqual(len(pd.read_csv(self.dir / "t.csv")), 3)

    def test_plots(self):
        files = [write_output(self.dir / f"p{w}-{s}.h5", width=w, seed=s,
                              time_to_sync_s=2.0 * w ** 1.2 * (1 + 0.05 * s) if w < 64 or s == 1 else None)
                 for w in (8, 16, 32, 64) for s in (1, 2, 3)]
        for kind in ("power-law", "fraction", "mean"):
            with self.subTest(kind=kind):
                png = self.dir / f"{kind}.png"
                code, out, err = self.cli("ensemble", "plot", *files, "--kind", kind, "--x", "width",
                                          "-o", png)
                self.assertEqual(code, 0, err)
                self.assertGreater(png.stat().st_size, 10000)
                if kind == "power-law":
                    self.assertIn("exponent 1.2", out)
                    self.assertIn("left out (not every run synchronised): width = 64", out)

    def test_a_thousand_files_in_seconds(self):
        # The promise of docs/analysis.md: only attributes and a few values are read.
        folder = self.dir / "many"
        folder.mkdir()
        for i in range(1000):
            write_output(folder / f"run-{i:04d}.h5", width=8 + i % 5, seed=i, samples=600,
                         time_to_sync_s=float(i % 50) if i % 7 else None)
        files = sorted(folder.glob("*.h5"))
        # What makes it seconds, counted rather than timed: the values read from datasets. Each
        # file gives its attributes and the last sample of R and R_state, never a series.
        read = []
        plain_getitem = h5py.Dataset.__getitem__

        def counting(dataset, key):
            value = plain_getitem(dataset, key)
            read.append((dataset.name, int(np.size(value))))
            return value
        started = time.perf_counter()
        with mock.patch.object(h5py.Dataset, "__getitem__", counting):
            rows = ensemble.collect(files)
        points = ensemble.summarise(rows)
        seconds = time.perf_counter() - started
        print(f"\ncollected {len(rows)} files into {len(points)} points in {seconds:.2f} s "
              f"({sum(n for _, n in read)} values read from datasets)", file=sys.stderr)
        self.assertEqual(len(rows), 1000)
        self.assertEqual(len(points), 5)
        self.assertEqual(sorted({name for name, _ in read}), ["/timeseries/R", "/timeseries/R_state"])
        self.assertEqual(sum(n for _, n in read), 2 * 1000, "one value of each per file")


class TablesAndSubmission(unittest.TestCase):

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fireflies-ensemble-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_table_seeds_and_runs(self):
        table = self.dir / "t.tsv"
        table.write_text("# sizes\nwidth\theight\tranks\n16\t16\t2\n\n32\t32\t3\n")
        header, rows = ensemble.read_table(table)
        self.assertEqual(header, ["width", "height", "ranks"])
        runs = ensemble.expand(header, rows, seeds=ensemble.parse_seeds("1-3"))
        self.assertEqual(len(runs), 6)
        self.assertEqual(runs[0].options, {"width": "16", "height": "16", "seed": "1"})
        self.assertEqual([r.ranks for r in runs], [2, 2, 2, 3, 3, 3])
        written = ensemble.write_runs_table(self.dir / "runs.tsv", runs)
        h2, r2 = ensemble.read_table(written)
        self.assertEqual(h2, ["width", "height", "seed", "ranks"])
        self.assertEqual(len(r2), 6)
        self.assertEqual(ensemble.parse_seeds("1-3,7, 2"), [1, 2, 3, 7])

    def test_table_mistakes(self):
        for text, needle in (("width\tseed\n1\t2\t3\n", "3 columns"),
                             ("Width\n1\n", "not an option name"),
                             ("output\nx.h5\n", "set by the runner"),
                             ("width\n", "no data rows")):
            path = self.dir / "bad.tsv"
            path.write_text(text)
            with self.subTest(text=text), self.assertRaisesRegex(ValueError, needle):
                ensemble.read_table(path)
        for bad in ("", "3-1", "x", "1-"):
            with self.subTest(seeds=bad), self.assertRaises(ValueError):
                ensemble.parse_seeds(bad)
        with self.assertRaisesRegex(ValueError, "seed column"):
            ensemble.expand(["seed"], [["1"]], seeds=[1, 2])

    def test_slurm_arrays_by_rank_count_in_chunks(self):
        runs = [ensemble.Run(i + 1, {"width": "8", "seed": str(i)}, 3 if i < 1500 else 5)
                for i in range(1700)]
        lines: list[str] = []
        ids = ensemble.submit_slurm(runs, self.dir, program="/opt/fireflies", dry_run=True,
                                    jobs_dir=ROOT / "jobs", extra=["--duration", "60"],
                                    sbatch_args=["--time=00:10:00"], report=lines.append)
        self.assertEqual(len(ids), 3, "1500 runs at 3 ranks in two arrays, 200 at 5 in one")
        self.assertIn("--array=1-1000", lines[0])
        self.assertIn("FIREFLIES_SWEEP_OFFSET=0 ", lines[0])
        self.assertIn("--array=1-500", lines[1])
        self.assertIn("FIREFLIES_SWEEP_OFFSET=1000 ", lines[1])
        self.assertIn("--ntasks=5", lines[2])
        self.assertIn("--time=00:10:00", lines[0])
        self.assertIn("FIREFLIES_ARGS='--duration 60'", lines[0])
        self.assertIn(str(ROOT / "jobs" / "sweep.sbatch"), lines[0])
        header, rows = ensemble.read_table(self.dir / "runs-3.tsv")
        self.assertEqual(len(rows), 1500)
        self.assertNotIn("ranks", header, "sweep.sbatch passes every column to the program")


class StudyFiles(unittest.TestCase):

    def test_shipped_study_profiles(self):
        spec = ROOT / "scripts" / "studies" / "time_to_sync_vs_size.toml"
        here = study.load_study(spec)
        self.assertEqual(here.profile, "here")
        runs = here.runs()
        self.assertEqual(len(runs), len(here.points["width"]) * len(here.seeds))
        self.assertTrue(all(r.options["width"] == r.options["height"] for r in runs))
        self.assertEqual(runs[0].options["stop-when-synced"], "true")
        quick = study.load_study(spec, "quick")
        self.assertEqual(quick.seeds, [1, 2])
        self.assertEqual(quick.options["duration"], 200.0)
        full = study.load_study(spec, "full")
        self.assertEqual(max(full.points["width"]), 1024)
        ranks = {int(r.options["width"]): r.ranks for r in full.runs()}
        self.assertEqual(ranks[16], 2)
        self.assertEqual(ranks[1024], 5, "1 + 4 workers of 512 x 512")
        cluster = study.load_study(spec, "cluster")
        self.assertEqual({int(r.options["width"]): r.ranks for r in cluster.runs()}[4096], 65)
        self.assertEqual(cluster.slurm_env, {"FIREFLIES_CHECKPOINT_EVERY": "50000"})
        self.assertEqual(here.slurm_env, {})
        with self.assertRaisesRegex(ValueError, "no profile"):
            study.load_study(spec, "nope")

    def test_phase_diagram(self):
        from fireflies_analysis.ensemble_plots import plot_phase_diagram
        points = [{"nudge": n, "delay": d, "refractory": r, "synced": 2 * int(d < 1), "counted": 2,
                   "fraction_synced": float(d < 1), "time_to_sync_s_median": 40.0 if d < 1 else math.nan,
                   "final_R_state_mean": 0.99 if d < 1 else 0.2}
                  for n in (0.2, -0.2) for d in (0.01, 0.1, 2.0) for r in (0.04, 0.4)]
        fig = plot_phase_diagram(points, "delay", "refractory", facet="nudge", log_x=True,
                                 facet_labels={"0.2": "excitatory", "-0.2": "inhibitory"},
                                 guides=[{"facet": 0.2, "label": "line", "x": [0.01, 0.1 ** 1.5, 2.0],
                                          "y": [0.04, 0.04, 0.4]}])
        axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
        self.assertEqual((len(axes), len(fig.axes)), (4, 6), "2 x 2 panels and 2 colour bars")
        self.assertTrue(axes[0].get_title().startswith("excitatory"), "the labels' order")
        texts = [t.get_text() for t in axes[0].texts]
        self.assertEqual(texts.count("0/2\n-"), 2)
        self.assertEqual(texts.count("2/2\n40 s"), 4)
        # The guide between the values, in the logarithm (log_x): 0.01 -> cell 0, 10^-1.5 -> 0.5,
        # 2.0 -> cell 2 (evenly spaced cells); linear in y.
        x, y = axes[0].lines[0].get_data()
        np.testing.assert_allclose(x, [0, 0.5, 2])
        np.testing.assert_allclose(y, [0, 0, 1])
        self.assertEqual(len(axes[1].lines), 0, "the inhibitory panel has no guide")

    def test_mean_by_series(self):
        from fireflies_analysis.ensemble_plots import plot_mean
        # Two series over B, the points out of order and one without a mean (none synchronised);
        # the lower end of an interval below 0 drawn at half the mean on the log axis.
        points = [{"width": w, "prc-dissipation": b, "time_to_sync_s_mean": m,
                   "time_to_sync_s_low": lo, "time_to_sync_s_high": hi}
                  for w, b, m, lo, hi in ((8, 3.0, 100.0, 80.0, 120.0), (4, 1.0, 600.0, -50.0, 900.0),
                                          (8, 1.0, 200.0, 150.0, 250.0), (4, 3.0, 300.0, 250.0, 350.0),
                                          (4, 0.0, math.nan, math.nan, math.nan), (8, 0.0, 400.0, 300.0, 500.0))]
        fig = plot_mean(points, "prc-dissipation", "time_to_sync_s", series="width", log_y=True)
        ax = fig.axes[0]
        self.assertEqual([t.get_text() for t in ax.get_legend().get_texts()], ["width = 8", "width = 4"])
        lines = [c for c in ax.containers]
        self.assertEqual(len(lines), 2, "one line per width")
        x8, y8 = lines[0].lines[0].get_data()
        np.testing.assert_allclose(x8, [0.0, 1.0, 3.0])
        np.testing.assert_allclose(y8, [400.0, 200.0, 100.0])
        x4, y4 = lines[1].lines[0].get_data()
        np.testing.assert_allclose(x4, [1.0, 3.0])
        bars = lines[1].lines[2][0].get_segments()
        np.testing.assert_allclose(bars[0][:, 1], [300.0, 900.0], err_msg="600 s: 300 (half) to 900")
        self.assertEqual(ax.get_yscale(), "log")

    def test_a_study_of_other_options_is_data(self):
        # What studies 2-4 will be once the model families' options exist: another file.
        spec = Path(tempfile.mkdtemp()) / "families.toml"
        self.addCleanup(shutil.rmtree, spec.parent, ignore_errors=True)
        spec.write_text('seeds = "1-4"\nranks = 3\n[options]\nwidth = 64\nheight = 64\n'
                        '[points]\nneighbourhood = ["moore", "von-neumann"]\n'
                        'period-spread = [0.0, 0.05, 0.1]\n'
                        '[[figures]]\nkind = "fraction"\nx = "period-spread"\nfile = "f.png"\n')
        s = study.load_study(spec)
        runs = s.runs()
        self.assertEqual(len(runs), 2 * 3 * 4)
        self.assertEqual(runs[0].options["neighbourhood"], "moore")
        self.assertEqual(runs[-1].options["period-spread"], "0.1")
        spec.write_text('[[figures]]\nkind = "phase_diagram"\nx = "a"\nfile = "f.png"\n')
        with self.assertRaisesRegex(ValueError, "phase_diagram figure needs y"):
            study.load_study(spec)
        spec.write_text('[[figures]]\nkind = "pie"\nx = "a"\nfile = "f.png"\n')
        with self.assertRaisesRegex(ValueError, "figure kind"):
            study.load_study(spec)


if __name__ == "__main__":
    unittest.main(verbosity=2)
