"""Shared helpers for the end-to-end tests of the real `fireflies` program.

CTest (tests/e2e/CMakeLists.txt) passes, in the environment:
  FIREFLIES_BIN         the fireflies executable
  MPIEXEC               mpiexec / mpirun
  MPIEXEC_NUMPROC_FLAG  usually -n or -np
  MPIEXEC_PREFLAGS      extra flags before the program (optional, ';'-separated as CMake lists)
and, for Open MPI as root on a small machine, OMPI_ALLOW_RUN_AS_ROOT=1,
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 and OMPI_MCA_rmaps_base_oversubscribe=1.

Every run that produces an output file goes through `check_totals` ("nothing lost"): the root
attributes flashes_emitted == flashes_received, pulses_sent == pulses_delivered +
pulses_in_flight, order_mismatches == 0, invariants_hold == 1, the expected status, and
sum(/timeseries/flashes) <= flashes_emitted.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

SERIES = ("t", "R", "R_state", "flashes", "pulse", "largest_volley")


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from launch import FIREFLIES, MPIEXEC_1, command, processes  # noqa: E402,F401  (one launcher for every suite)


class Result:
    def __init__(self, argv, returncode, stdout, stderr, wall, timed_out):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.wall = wall
        self.timed_out = timed_out

    def describe(self):
        return ("command: %s\nexit code: %s%s, wall %.2f s\n--- stdout ---\n%s--- stderr ---\n%s"
                % (" ".join(self.argv), self.returncode, " (TIMED OUT)" if self.timed_out else "",
                   self.wall, self.stdout, self.stderr))


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(ranks, args, cwd, timeout=60, preexec_fn=None):
    """Runs fireflies to the end (or kills its whole process group after `timeout` s)."""
    argv = command(ranks, args)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                         preexec_fn=preexec_fn)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(p)
        out, err = p.communicate()
    return Result(argv, p.returncode, out, err, time.monotonic() - t0, timed_out)


def read_series(path):
    """The /timeseries datasets as raw numpy arrays (dtype and bytes as stored)."""
    with h5py.File(path, "r") as f:
        return {name: f["timeseries/" + name][()] for name in SERIES}


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


class E2ETestCase(unittest.TestCase):
    """A test case with a fresh temporary working directory per test."""

    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fireflies-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_ok(self, np_, args, output, timeout=60, status="complete"):
        """Runs to completion, expects exit code 0 and a valid file; returns (result, attrs)."""
        r = run(np_, list(args) + ["-o", output], self.dir, timeout=timeout)
        self.assertFalse(r.timed_out, r.describe())
        self.assertEqual(r.returncode, 0, r.describe())
        return r, self.check_totals(output, status=status, context=r.describe())

    def check_totals(self, output, status="complete", context=""):
        """Nothing lost: the totals of the run balance (see the module docstring)."""
        a = attrs(output)
        where = "%s\n%s" % (output, context)
        for key in ("flashes_emitted", "flashes_received", "pulses_sent", "pulses_delivered",
                    "pulses_in_flight", "invariants_hold", "status", "order_mismatches"):
            self.assertIn(key, a, "root attribute %r missing in %s" % (key, where))
        self.assertEqual(a["status"], status, where)
        self.assertEqual(int(a["flashes_emitted"]), int(a["flashes_received"]),
                         "flashes_emitted != flashes_received in " + where)
        self.assertEqual(int(a["pulses_sent"]),
                         int(a["pulses_delivered"]) + int(a["pulses_in_flight"]),
                         "pulses_sent != pulses_delivered + pulses_in_flight in " + where)
        self.assertEqual(int(a["order_mismatches"]), 0, where)
        self.assertEqual(int(a["invariants_hold"]), 1, where)
        flashes = read_series(output)["flashes"]
        self.assertLessEqual(int(np.sum(flashes, dtype=np.int64)), int(a["flashes_emitted"]),
                             "sum(/timeseries/flashes) > flashes_emitted in " + where)
        return a

    def assertSeriesEqual(self, a_path, b_path, prefix=False, skip=()):
        """Bitwise identity of the /timeseries datasets (prefix: on the common length; `skip`:
        series left out) and, for whole runs, of the time_to_sync attribute."""
        a, b = read_series(a_path), read_series(b_path)
        if not prefix:
            ta, tb = attrs(a_path).get("time_to_sync"), attrs(b_path).get("time_to_sync")
            self.assertEqual(ta, tb, "time_to_sync differs between %s and %s" % (a_path, b_path))
        for name in (n for n in SERIES if n not in skip):
            x, y = a[name], b[name]
            self.assertEqual(x.dtype, y.dtype,
                             "%s dtype differs: %s vs %s" % (name, a_path, b_path))
            if prefix:
                n = min(len(x), len(y))
                x, y = x[:n], y[:n]
            else:
                self.assertEqual(x.shape, y.shape, "/timeseries/%s shape: %s vs %s"
                                 % (name, a_path, b_path))
            if not np.array_equal(x, y) or x.tobytes() != y.tobytes():
                diff = np.flatnonzero(x != y)
                first = int(diff[0]) if diff.size else -1
                shown = (x[first], y[first]) if first >= 0 else (None, None)
                self.fail("/timeseries/%s differs between %s and %s: %d of %d values differ, "
                          "first at index %d (%r vs %r)"
                          % ((name, a_path, b_path, diff.size, len(x), first) + shown))
