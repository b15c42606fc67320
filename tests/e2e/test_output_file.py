"""The output file: valid HDF5, the documented root attributes, units, long names and
descriptions on every dataset, a `config` attribute that `fireflies --config` reads back into the same run, default
output names that never collide, and --force replacing an existing file.
"""
import os
import re
import subprocess
import unittest

import h5py

from e2e_common import E2ETestCase, run

H5DUMP = os.environ.get("H5DUMP", "h5dump")

ROOT_ATTRIBUTES = ("fireflies_version", "git_revision", "config", "mpi_size", "workers",
                   "process_grid", "seed", "created", "width", "height", "status",
                   # totals
                   "samples", "simulated_time", "wall_time", "flashes_emitted",
                   "flashes_received", "pulses_sent", "pulses_delivered", "pulses_in_flight",
                   "order_mismatches", "invariants_hold")

ARGS = ["--width", 37, "--height", 23, "--duration", 30, "--seed", 9]


class OutputFile(E2ETestCase):

    def test_valid_hdf5_with_documented_attributes(self):
        out = self.path("run.h5")
        _, a = self.run_ok(3, ARGS, out)

        dump = subprocess.run([H5DUMP, "-H", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(dump.returncode, 0, "h5dump -H failed:\n" + dump.stdout + dump.stderr)

        for key in ROOT_ATTRIBUTES:
            self.assertIn(key, a, "root attribute %r missing" % key)
        self.assertEqual(int(a["mpi_size"]), 3)
        self.assertEqual(int(a["workers"]), 2)
        self.assertRegex(str(a["process_grid"]), r"^\d+ x \d+$")
        self.assertEqual(int(a["seed"]), 9)
        self.assertEqual(int(a["width"]), 37)
        self.assertEqual(int(a["height"]), 23)
        self.assertEqual(a["status"], "complete")
        self.assertRegex(str(a["created"]), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(float(a["simulated_time"]), 30.0)
        self.assertEqual(int(a["samples"]), 61)

        version = run(1, ["--version"], self.dir, timeout=30)
        self.assertEqual(version.returncode, 0, version.describe())
        self.assertEqual(version.stdout.strip(),
                         "fireflies %s (git %s)" % (a["fireflies_version"], a["git_revision"]))

        missing = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                for key in ("units", "long_name", "description"):
                    value = obj.attrs.get(key)
                    if isinstance(value, bytes):
                        value = value.decode()
                    if not isinstance(value, str) or not value:
                        missing.append("/%s: %s" % (name, key))
        with h5py.File(out, "r") as f:
            f.visititems(visit)
            for name in ("t", "R", "R_state", "flashes", "pulse"):
                self.assertEqual(len(f["timeseries/" + name]), 61, name)
        self.assertEqual(missing, [], "datasets without a units, long_name or description attribute")

    def test_per_rank_timers(self):
        # /perf: one row per rank (the hub first), every timer measured where the rank spends
        # time on it, and no worker's timers adding up to more than the run's wall time (they
        # time disjoint parts of its loop).
        out = self.path("timers.h5")
        r, a = self.run_ok(3, ["--width", 60, "--height", 40, "--duration", 40, "--seed", 4,
                               "--record-flashes"], out)
        wall = float(a["wall_time"])
        with h5py.File(out, "r") as f:
            perf = {k: f["perf/" + k][()] for k in ("rank", "simulate", "exchange", "wait", "hub",
                                                    "output", "pace", "peak_rss", "epochs")}
        for k, v in perf.items():
            self.assertEqual(len(v), 3, "/perf/%s rows" % k)
        self.assertEqual(list(perf["rank"]), [0, 1, 2])
        # The hub absorbed every flash and wrote each one to /flashes.
        self.assertGreater(perf["hub"][0], 0)
        self.assertGreater(perf["output"][0], 0)
        self.assertLessEqual(perf["output"][0], wall)
        for w in (1, 2):
            for k in ("simulate", "exchange", "wait", "hub"):
                self.assertGreater(perf[k][w], 0, "/perf/%s of worker row %d" % (k, w))
            self.assertEqual(perf["output"][w], 0, "workers write nothing")
            self.assertEqual(perf["pace"][w], 0, "no --speed, no pacing")
            total = sum(perf[k][w] for k in ("simulate", "exchange", "wait", "hub", "pace"))
            self.assertLessEqual(total, wall, "worker row %d: timers add up to more than the wall time" % w)
        # The end-of-run summary line sums /perf up: min/mean/max over the workers, then the hub.
        lines = [l for l in r.stdout.splitlines() if l.startswith("fireflies: timers s (workers min/mean/max)")]
        self.assertEqual(len(lines), 1, r.describe())
        line = lines[0]
        for k in ("simulate", "exchange", "wait", "hub", "pace"):
            m = re.search(r" %s=([0-9.]+)/([0-9.]+)/([0-9.]+)" % k, line)
            self.assertIsNotNone(m, "%s missing in %r" % (k, line))
            workers = perf[k][1:]
            for got, want in zip(map(float, m.groups()), (min(workers), sum(workers) / len(workers), max(workers))):
                self.assertAlmostEqual(got, want, delta=0.0006, msg="%s in %r" % (k, line))
        m = re.search(r"\(hub rank\) hub=([0-9.]+) output=([0-9.]+)$", line)
        self.assertIsNotNone(m, line)
        self.assertAlmostEqual(float(m.group(1)), perf["hub"][0], delta=0.0006)
        self.assertAlmostEqual(float(m.group(2)), perf["output"][0], delta=0.0006)

    def test_config_attribute_reads_back(self):
        out = self.path("first.h5")
        _, a = self.run_ok(3, ARGS + ["--refractory-mode", "queue", "--telemetry", "summary"], out)
        toml = a["config"]
        self.assertIn("seed = 9", toml)
        cfg = self.path("run.toml")
        with open(cfg, "w") as f:
            f.write(toml)
        # The file names its own output (first.h5, without --force): -o overrides that.
        again = self.path("again.h5")
        _, b = self.run_ok(1, ["--config", cfg], again)
        self.assertSeriesEqual(out, again)
        self.assertEqual(b["refractory_mode"], "queue")
        self.assertEqual(int(b["seed"]), 9)
        # And --print-config of that file gives the same settings back (output aside).
        printed = run(1, ["--config", cfg, "--print-config"], self.dir, timeout=30)
        self.assertEqual(printed.returncode, 0, printed.describe())
        self.assertEqual(printed.stdout, toml)

    def test_default_names_differ(self):
        names = []
        for _ in range(2):
            r = run(1, ["--duration", 5], self.dir, timeout=60)
            self.assertEqual(r.returncode, 0, r.describe())
            new = sorted(set(os.listdir(self.dir)) - set(names))
            self.assertEqual(len(new), 1, "want one new file: %r\n%s" % (new, r.describe()))
            self.assertRegex(new[0], r"^fireflies-\d{8}-\d{6}-\d+\.h5$")
            self.assertIn("output=" + new[0], r.stdout)
            names.append(new[0])
            self.check_totals(self.path(new[0]))
        self.assertNotEqual(names[0], names[1])
        self.assertSeriesEqual(self.path(names[0]), self.path(names[1]))

    def test_force_replaces_existing(self):
        out = self.path("run.h5")
        self.run_ok(1, ["--duration", 10, "--seed", 1], out)
        reference = self.path("seed2.h5")
        self.run_ok(1, ["--duration", 10, "--seed", 2], reference)
        _, a = self.run_ok(3, ["--duration", 10, "--seed", 2, "--force"], out)
        self.assertEqual(int(a["seed"]), 2)
        self.assertSeriesEqual(reference, out)
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.h5", "seed2.h5"],
                         "temporary files left behind")


if __name__ == "__main__":
    unittest.main(verbosity=2)
