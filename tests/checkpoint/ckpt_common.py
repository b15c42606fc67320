"""Helpers for the checkpoint/restart tests of the real `fireflies` program.

CTest (tests/checkpoint/CMakeLists.txt) passes, in the environment:
  FIREFLIES_BIN         the fireflies executable
  MPIEXEC               mpiexec / mpirun
  MPIEXEC_NUMPROC_FLAG  usually -n or -np
  MPIEXEC_PREFLAGS      extra flags before the program (optional, ';'- or space-separated)
and, for Open MPI as root on a small machine, OMPI_ALLOW_RUN_AS_ROOT=1,
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 and OMPI_MCA_rmaps_base_oversubscribe=1.

Every comparison is bitwise (dtype, shape and bytes of each dataset), never h5diff: h5diff
exits 0 for datasets of different lengths ("not comparable").
"""
import glob
import hashlib
import os
import sys
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import h5py
import numpy as np

EXIT_CHECKPOINTED = 85
EXIT_USAGE = 2

# Root attributes that sum up a whole run; a restarted run must end with the same values.
TOTALS = ("flashes_emitted", "flashes_received", "pulses_sent", "pulses_delivered",
          "pulses_in_flight")


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from launch import FIREFLIES, command  # noqa: E402,F401  (one launcher for every suite)


def kill_group(p, sig=signal.SIGKILL):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


class Run:
    """A started program: stdout and stderr go to files in its directory."""

    def __init__(self, ranks, args, cwd, name, env=None):
        self.argv = command(ranks, args)
        self.cwd = cwd
        self.out_path = os.path.join(cwd, name + ".stdout")
        self.err_path = os.path.join(cwd, name + ".stderr")
        self.t0 = time.monotonic()
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.p = subprocess.Popen(self.argv, cwd=cwd, stdout=out, stderr=err, env=env,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.returncode = None
        self.wall = None
        self.timed_out = False

    @property
    def pid(self):
        return self.p.pid

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait(self, timeout=180):
        try:
            self.returncode = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            kill_group(self.p)
            self.returncode = self.p.wait()
        self.wall = time.monotonic() - self.t0
        return self.returncode

    def signal(self, sig):
        self.p.send_signal(sig)

    def describe(self):
        return ("command: %s\nexit code: %s%s, wall %s s\n--- stdout ---\n%s--- stderr ---\n%s"
                % (" ".join(self.argv), self.returncode, " (TIMED OUT)" if self.timed_out else "",
                   "%.2f" % self.wall if self.wall is not None else "?", self.stdout()[-4000:],
                   self.stderr()[-4000:]))


def slow_fsync_env(seconds):
    """The environment for a run whose fsync of a checkpoint's temporary file first sleeps
    `seconds` (tests/checkpoint/slow_fsync.c, LD_PRELOAD; CTest passes FIREFLIES_SLOW_FSYNC), or
    None when the shim is not there."""
    shim = os.environ.get("FIREFLIES_SLOW_FSYNC", "")
    if not shim or not os.path.exists(shim):
        return None
    return dict(os.environ, LD_PRELOAD=shim, FIREFLIES_TEST_FSYNC_DELAY=str(seconds))


def wait_until(predicate, timeout, step=0.005):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


def datasets(path, group):
    """{relative name: numpy array} of every dataset under `group` ({} if the group is absent)."""
    out = {}
    with h5py.File(path, "r") as f:
        if group not in f:
            return out
        f[group].visititems(lambda name, obj: out.__setitem__(name, obj[()])
                            if isinstance(obj, h5py.Dataset) else None)
    return out


def attrs(path, obj="/"):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f[obj].attrs.items()}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_state(directory):
    """{file name: sha256} of every file in `directory` (hidden ones too, not recursive)."""
    return {name: sha256(os.path.join(directory, name)) for name in sorted(os.listdir(directory))
            if os.path.isfile(os.path.join(directory, name))}


def temporaries(checkpoint):
    """The checkpoint writer's temporary files beside `checkpoint` (.NAME.tmp.PID)."""
    d, name = os.path.split(checkpoint)
    return glob.glob(os.path.join(d or ".", "." + glob.escape(name) + ".tmp.*"))


def read_checkpoint_fully(path):
    """Opens a checkpoint with h5py and reads every dataset (Fletcher32 checksums are verified
    on read); returns its root attributes."""
    with h5py.File(path, "r") as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
    return a


class CheckpointTestCase(unittest.TestCase):
    """A test case with a fresh temporary working directory per test."""

    maxDiff = None
    KEEP = os.environ.get("KEEP", "0") == "1"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fireflies-ckpt-")
        if not self.KEEP:
            self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self._runs = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, ranks, args, name=None, env=None):
        self._runs += 1
        return Run(ranks, args, self.dir, name or "run%d" % self._runs, env)

    def run_to_end(self, ranks, args, expect=0, timeout=180, name=None):
        r = self.start(ranks, args, name)
        r.wait(timeout)
        self.assertFalse(r.timed_out, r.describe())
        if expect is not None:
            self.assertEqual(r.returncode, expect, r.describe())
        return r

    def interrupt(self, ranks, args, after=1.0, sig=signal.SIGUSR1, name=None):
        """Starts a paced run, sends `sig` `after` seconds after its banner, expects exit 85."""
        r = self.start(ranks, args, name)
        # The banner is printed once rank 0 has installed its handlers and opened the output;
        # the other ranks install theirs right after the broadcast, well within `after`.
        started = wait_until(lambda: "  output " in r.stdout() or r.p.poll() is not None, 120, 0.02)
        self.assertTrue(started and r.p.poll() is None, "run did not start:\n" + r.describe())
        time.sleep(after)
        self.assertIsNone(r.p.poll(), "run ended before the signal (pace it slower):\n" + r.describe())
        r.signal(sig)
        r.wait(120)
        self.assertFalse(r.timed_out, r.describe())
        self.assertEqual(r.returncode, EXIT_CHECKPOINTED,
                         "expected exit %d (checkpointed) after %s:\n%s"
                         % (EXIT_CHECKPOINTED, signal.Signals(sig).name, r.describe()))
        return r

    # ---- checks --------------------------------------------------------------------------
    def check_balanced(self, output, status, context=""):
        a = attrs(output)
        where = "%s\n%s" % (output, context)
        self.assertEqual(a.get("status"), status, where)
        self.assertEqual(int(a["flashes_emitted"]), int(a["flashes_received"]), where)
        self.assertEqual(int(a["pulses_sent"]), int(a["pulses_delivered"]) + int(a["pulses_in_flight"]),
                         where)
        self.assertEqual(int(a["invariants_hold"]), 1, where)
        return a

    def assertSameData(self, ref, out, groups, context=""):
        """Every dataset under each group: the same names, dtypes, shapes and bytes."""
        for group in groups:
            a, b = datasets(ref, group), datasets(out, group)
            self.assertTrue(a, "reference %s has no %s" % (ref, group))
            self.assertEqual(sorted(a), sorted(b), "datasets under %s: %s vs %s\n%s"
                             % (group, ref, out, context))
            for name in a:
                x, y = a[name], b[name]
                what = "%s/%s" % (group, name)
                self.assertEqual(x.dtype, y.dtype, "%s dtype: %s vs %s" % (what, ref, out))
                self.assertEqual(x.shape, y.shape, "%s shape: %s in %s vs %s in %s\n%s"
                                 % (what, x.shape, ref, y.shape, out, context))
                if x.tobytes() != y.tobytes():
                    diff = np.flatnonzero(x.reshape(-1).view(np.uint8) != y.reshape(-1).view(np.uint8))
                    self.fail("%s differs bitwise between %s and %s (%d bytes differ, first at byte "
                              "%d)\n%s" % (what, ref, out, diff.size, int(diff[0]), context))

    def assertSameTotals(self, ref, out, context=""):
        a, b = attrs(ref), attrs(out)
        for key in TOTALS:
            self.assertEqual(int(a[key]), int(b[key]), "root attribute %s: %s in %s, %s in %s\n%s"
                             % (key, a[key], ref, b[key], out, context))
