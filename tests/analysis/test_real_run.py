"""The analysis side against a file the program writes in this test (issue 5):

* report.sh writes non-empty PNGs, the GIF and summary.txt, whose settings (refractory_mode,
  partitioned) are the run's, read from the stored config's [fireflies] table;
* the data behind the plots is the run's: the raster has as many points as the run's flash total,
  and each snapshot's phases give back the order parameter the program sampled at that time
  (R_state from the snapshot's phases equals /timeseries/R_state to float32 precision);
* the walkthrough notebook executes end to end (nbconvert) on this file;
* a --record-region run (summary telemetry) reads back with its region and each flash's cell:
  exactly the whole-grid recording's flashes in that rectangle.
Environment: FIREFLIES_BIN, FIREFLIES_REPORT (scripts/report.sh), FIREFLIES_NOTEBOOK.
"""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from fireflies_analysis import load_run
from fireflies_analysis.plots import raster_points, snapshot_frame


class RealRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="fireflies-analysis-")
        cls.dir = Path(cls.tmp.name)
        cls.h5 = cls.dir / "run.h5"
        subprocess.run([os.environ["FIREFLIES_BIN"], "--width", "40", "--height", "32", "--duration", "30",
                        "--snapshot-every", "5", "--record-flashes", "-o", str(cls.h5)],
                       check=True, capture_output=True, timeout=120)
        cls.data = load_run(cls.h5)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_stored_setting_reads_back(self):
        """Run.setting finds every option the program stored, under the name --help gives it (the
        stored config keeps them in a [fireflies] table), and the summary shows them."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python < 3.11
            self.skipTest("no tomllib")
        stored = tomllib.loads(self.data.attrs["config"])["fireflies"]
        self.assertGreater(len(stored), 10)
        for key, value in stored.items():
            self.assertEqual(self.data.setting(key), value, key)
            self.assertEqual(self.data.setting(key.replace("-", "_")), value, key)
        self.assertEqual(self.data.setting("refractory-mode"), "drop")
        self.assertIs(self.data.setting("partitioned"), False)
        self.assertEqual(self.data.setting("no-such-option", "absent"), "absent")
        from fireflies_analysis.convergence import summary
        facts = summary(self.data)
        self.assertEqual(facts["refractory_mode"], "drop")
        self.assertIs(facts["partitioned"], False)

    def test_region_flashes_read_with_their_cells(self):
        region = (5, 4, 12, 10)
        h5 = self.dir / "region.h5"
        subprocess.run([os.environ["FIREFLIES_BIN"], "--width", "40", "--height", "32", "--duration", "30",
                        "--record-flashes", "--record-region", ",".join(map(str, region)),
                        "--telemetry", "summary", "-o", str(h5)], check=True, capture_output=True, timeout=120)
        run = load_run(h5)
        self.assertEqual(run.flash_region, region)
        self.assertFalse(run.flashes_of_whole_grid)
        self.assertEqual(self.data.flash_region, (0, 0, 40, 32))
        self.assertTrue(self.data.flashes_of_whole_grid)
        x, y = run.flash_xy
        self.assertGreater(x.size, 100)
        self.assertTrue(np.all((x >= 5) & (x < 17) & (y >= 4) & (y < 14)))
        wx, wy = self.data.flash_xy
        inside = (wx >= 5) & (wx < 17) & (wy >= 4) & (wy < 14)
        np.testing.assert_array_equal(run.flash_t, self.data.flash_t[inside])
        np.testing.assert_array_equal(run.flash_agent, self.data.flash_agent[inside])
        from fireflies_analysis.convergence import summary
        facts = summary(run)
        self.assertTrue(facts["totals_consistent"], facts.get("totals_problems"))
        self.assertLess(facts["flashes_recorded"], facts["flashes_in_timeseries"])

    def test_raster_holds_every_flash(self):
        t, agent = raster_points(self.data)
        self.assertEqual(len(t), int(self.data.attrs["flashes_emitted"]))
        self.assertEqual(len(t), int(np.sum(self.data.flashes)))
        self.assertTrue(np.all((agent >= 0) & (agent < 40 * 32)))

    def test_snapshots_are_the_sampled_phases(self):
        self.assertEqual(self.data.snapshot_phase.shape, (7, 32, 40))
        for k in range(self.data.snapshot_phase.shape[0]):
            t, phase = snapshot_frame(self.data, k)
            self.assertTrue(np.all((phase >= 0) & (phase < 1)))
            i = int(np.argmin(np.abs(self.data.t - t)))
            self.assertAlmostEqual(self.data.t[i], t)
            r_state = abs(np.mean(np.exp(2j * np.pi * phase.astype(np.float64))))
            self.assertAlmostEqual(r_state, self.data.R_state[i], delta=1e-5, msg=f"snapshot at t={t}")

    def test_report_writes_pictures_and_summary(self):
        out = self.dir / "report"
        subprocess.run(["bash", os.environ["FIREFLIES_REPORT"], str(self.h5), str(out)],
                       check=True, capture_output=True, timeout=600)
        pngs = sorted(out.glob("*.png"))
        self.assertGreaterEqual(len(pngs), 3, [p.name for p in pngs])
        for p in pngs:
            self.assertGreater(p.stat().st_size, 5000, p.name)
        self.assertTrue(any(out.glob("*.gif")))
        # The summary's settings come from the stored config's [fireflies] table: no "-" for a
        # setting the run has.
        table = (out / "summary.txt").read_text().split("\n\n")[0]
        lines = dict(line.split(None, 1) for line in table.splitlines())
        self.assertEqual(lines.get("refractory_mode"), "drop", lines)
        self.assertEqual(lines.get("partitioned"), "no", lines)
        self.assertTrue(lines.get("final_R", "").strip(), lines)

    def test_notebook_runs_on_this_file(self):
        env = dict(os.environ, FIREFLIES_NOTEBOOK_INPUT=str(self.h5), MPLBACKEND="Agg")
        out = self.dir / "walkthrough.out.ipynb"
        r = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                            "--ExecutePreprocessor.timeout=300", "--output", str(out),
                            os.environ["FIREFLIES_NOTEBOOK"]], env=env, capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertTrue(out.exists())


if __name__ == "__main__":
    unittest.main()
