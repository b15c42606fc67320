"""--initial-phases FILE: start phases from HDF5 (docs/model.md, "Initial phases").

- a /phase dataset [height, width] in seconds: the run starts there, the same at P = 1, 3 and 8
  (each worker gets its block from rank 0, as on a restart);
- the last frame of an earlier run's /snapshots/phase (unsubsampled): R_state of the new run's
  sample 0 is the earlier run's last R_state (to the 32-bit floats the snapshot keeps);
- refused, with one error line naming --initial-phases and exit code 2, before any output is
  created: a missing file, a file that is not HDF5, a /phase of the wrong shape, a phase out of
  [0, period), a NaN, a subsampled snapshot, a file with neither dataset.
"""
import os
import unittest

import h5py
import numpy as np

from e2e_common import E2ETestCase, run

GRID = ["--width", 12, "--height", 7, "--duration", 30, "--seed", 4]


class InitialPhases(E2ETestCase):

    def phase_file(self, name, phase):
        path = self.path(name)
        with h5py.File(path, "w") as f:
            f["phase"] = phase
        return path

    def test_phase_dataset_same_at_every_rank_count(self):
        rng = np.random.default_rng(3)
        phases = self.phase_file("p.h5", rng.uniform(0, 5, size=(7, 12)))
        files = []
        for p in (1, 3, 8):
            out = self.path("np%d.h5" % p)
            r, _ = self.run_ok(p, GRID + ["--initial-phases", phases], out)
            self.assertIn("start     phases from %s, /phase" % phases, r.stdout, r.describe())
            files.append(out)
        for f in files[1:]:
            self.assertSeriesEqual(files[0], f)
        # Sample 0 is the file's phases: R_state of exp(2 pi i phase / T).
        with h5py.File(files[0], "r") as f, h5py.File(phases, "r") as g:
            z = np.exp(2j * np.pi * g["phase"][()] / 5.0)
            self.assertAlmostEqual(float(f["timeseries/R_state"][0]), abs(z.mean()), delta=1e-7)
        # ... and not the random start.
        plain = self.path("plain.h5")
        self.run_ok(1, GRID, plain)
        with h5py.File(plain, "r") as a, h5py.File(files[0], "r") as b:
            self.assertNotEqual(float(a["timeseries/R_state"][0]), float(b["timeseries/R_state"][0]))

    def test_last_snapshot_of_an_earlier_run(self):
        first = self.path("first.h5")
        self.run_ok(1, GRID + ["--snapshot-every", 5], first)
        second = self.path("second.h5")
        r, _ = self.run_ok(3, GRID + ["--initial-phases", first], second)
        self.assertIn("/snapshots/phase frame 6 (t = 30 s)", r.stdout, r.describe())
        with h5py.File(first, "r") as a, h5py.File(second, "r") as b:
            self.assertAlmostEqual(float(b["timeseries/R_state"][0]), float(a["timeseries/R_state"][-1]),
                                   delta=1e-5)

    def refused(self, args, *, contains):
        before = sorted(os.listdir(self.dir))
        r = run(1, GRID + ["-o", self.path("out.h5")] + args, self.dir, timeout=30)
        self.assertEqual(r.returncode, 2, r.describe())
        lines = [l for l in r.stderr.splitlines() if "error" in l.lower()]
        self.assertEqual(len(lines), 1, r.describe())
        self.assertIn("--initial-phases", lines[0])
        self.assertIn(contains, lines[0])
        self.assertEqual(sorted(os.listdir(self.dir)), before, "a refused run created a file")

    def test_refusals(self):
        self.refused(["--initial-phases", self.path("missing.h5")], contains="no such file")
        with open(self.path("text.h5"), "w") as f:
            f.write("not hdf5\n")
        self.refused(["--initial-phases", self.path("text.h5")], contains="not an HDF5 file")
        self.refused(["--initial-phases", self.phase_file("shape.h5", np.zeros((12, 7)))],
                     contains="/phase is 12 x 7")
        bad = np.zeros((7, 12))
        bad[2, 5] = 5.0
        self.refused(["--initial-phases", self.phase_file("range.h5", bad)],
                     contains="at x = 5, y = 2 is 5 s, not in [0, 5)")
        bad[2, 5] = -0.1
        self.refused(["--initial-phases", self.phase_file("negative.h5", bad)], contains="is -0.1 s")
        bad[2, 5] = np.nan
        self.refused(["--initial-phases", self.phase_file("nan.h5", bad)], contains="not a finite number")
        with h5py.File(self.path("neither.h5"), "w") as f:
            f["something"] = np.zeros(3)
        self.refused(["--initial-phases", self.path("neither.h5")], contains="has neither")
        # A subsampled snapshot: a 12 x 7 grid drawn at most 4 pixels a side.
        sub = self.path("sub.h5")
        self.run_ok(1, GRID + ["--snapshot-every", 10, "--snapshot-max", 4], sub)
        os.rename(sub, self.path("sub-run.h5"))
        self.refused(["--initial-phases", self.path("sub-run.h5")], contains="subsampled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
