"""Shared helpers for the fault tests (tests/faults): a `fireflies` job under mpiexec whose ranks
we can find, signal and watch, and checks of what it leaves on disk.

CTest (tests/faults/CMakeLists.txt) passes, in the environment:
  FIREFLIES_BIN         the fireflies executable
  MPIEXEC               mpiexec / mpirun (Open MPI 4.1 here)
  MPIEXEC_NUMPROC_FLAG  usually -n or -np
  MPIEXEC_PREFLAGS      extra flags before the program (optional, ';'- or space-separated)
  H5CLEAR               h5clear (optional; found on PATH otherwise)
and, for Open MPI as root on a small machine, OMPI_ALLOW_RUN_AS_ROOT=1,
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 and OMPI_MCA_rmaps_base_oversubscribe=1.

Other engineers' `fireflies` runs may share the machine: a job only ever looks at, signals and
cleans up the processes it started (mpiexec and its children), never at `fireflies` by name.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from launch import FIREFLIES, MPIEXEC_1, command, direct, processes  # noqa: E402,F401  (one launcher for every suite)
H5CLEAR = os.environ.get("H5CLEAR") or shutil.which("h5clear") or "h5clear"


def log(msg):
    """A line in the test log (CTest shows it on failure, and with -V)."""
    print("  " + msg, file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------------------------------

def _children(pid):
    """PIDs whose parent is `pid` (from /proc/*/stat)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry))
    return out


def _rank_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"OMPI_COMM_WORLD_RANK=") or item.startswith(b"PMIX_RANK="):
            try:
                return int(item.split(b"=", 1)[1])
            except ValueError:
                return None
    return None


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


class Job:
    """`mpiexec -n P fireflies ARGS` in its own session, output to files in `workdir`."""

    def __init__(self, np_, args, workdir, env=None, name="job"):
        self.np = processes(np_)
        self.direct = direct(np_)
        self.argv = command(np_, args)
        self.workdir = workdir
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv, cwd=workdir, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=full_env)
        self.ranks = {0: self.proc.pid} if self.direct else {}  # rank -> pid, as found
        self.ended = None

    def _note_ranks(self):
        if self.direct:
            return self.ranks
        for pid in _children(self.proc.pid):
            if pid not in self.ranks.values():
                r = _rank_of(pid)
                if r is not None:
                    self.ranks[r] = pid
        return self.ranks

    # -- finding the ranks
    def find_ranks(self, timeout=60):
        """Waits until all P ranks are running; returns {rank: pid}."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the job ended before all ranks were found\n" + self.describe())
            if len(self._note_ranks()) == self.np:
                return dict(self.ranks)
            time.sleep(0.1)
        raise AssertionError("not all %d ranks found within %g s\n%s" % (self.np, timeout, self.describe()))

    # -- waiting
    def wait(self, timeout):
        """Waits for mpiexec to end, noting the ranks it starts on the way; returns its exit code
        (for the program alone, negative: killed by that signal) or None on timeout."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() >= deadline:
                return None
            self._note_ranks()
            time.sleep(0.05)
        self.ended = time.monotonic()
        return self.proc.returncode

    def wait_ranks_gone(self, timeout):
        """Waits until none of the ranks found is alive; returns the ones still alive."""
        deadline = time.monotonic() + timeout
        while True:
            left = {r: p for r, p in self.ranks.items() if alive(p)}
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)

    def kill_everything(self):
        """Cleanup: SIGKILL mpiexec's session and every rank this job started."""
        for pid in list(self.ranks.values()):
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._out.close()
        self._err.close()

    # -- output
    def stdout(self):
        if not self._out.closed:
            self._out.flush()
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        if not self._err.closed:
            self._err.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def describe(self):
        return "command: %s\nexit code: %s\n--- stdout ---\n%s--- stderr ---\n%s" % (
            " ".join(self.argv), self.proc.poll(), self.stdout()[-6000:], self.stderr()[-6000:])


def run(np_, args, workdir, timeout=120, env=None, name="run"):
    """Runs a job to its end (killing it after `timeout` s); returns (rc or None, wall, job)."""
    job = Job(np_, args, workdir, env=env, name=name)
    try:
        rc = job.wait(timeout)
        wall = time.monotonic() - job.started
    finally:
        timed_out = job.proc.poll() is None
        job.kill_everything()
    return (None if timed_out else rc), wall, job


# ---- files -------------------------------------------------------------------------------------

def open_swmr(path):
    """The output as a reader that follows a live (or killed) writer sees it."""
    return h5py.File(path, "r", libver="latest", swmr=True)


def samples(path):
    """Number of samples in /timeseries/t right now, or -1 if the file cannot be read yet."""
    try:
        with open_swmr(path) as f:
            return len(f["timeseries/t"])
    except (OSError, KeyError):
        return -1


def attrs(f):
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def h5clear(path):
    """`h5clear -s PATH`: clears the 'open for (SWMR) write' flags a killed writer leaves."""
    r = subprocess.run([H5CLEAR, "-s", path], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("fireflies: error")]


class FaultTestCase(unittest.TestCase):
    """A test case with a fresh temporary working directory per test, and the checks of a run's
    totals ("nothing lost")."""

    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fireflies-faults-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, np_, args, env=None, name="job"):
        job = Job(np_, args, self.dir, env=env, name=name)
        self.addCleanup(job.kill_everything)
        return job

    def wait_for_samples(self, job, output, n, timeout=90):
        """Waits until the running job's output holds at least n samples; returns how many."""
        deadline = time.monotonic() + timeout
        while True:
            self.assertIsNone(job.proc.poll(), "the job ended early\n" + job.describe())
            got = samples(output) if os.path.exists(output) else -1
            if got >= n:
                return got
            self.assertLess(time.monotonic(), deadline,
                            "fewer than %d samples after %g s (%d)\n%s" % (n, timeout, got, job.describe()))
            time.sleep(0.1)

    def check_totals(self, a, status, where):
        for key in ("flashes_emitted", "flashes_received", "pulses_sent", "pulses_delivered",
                    "pulses_in_flight", "invariants_hold", "status"):
            self.assertIn(key, a, "root attribute %r missing\n%s" % (key, where))
        self.assertEqual(a["status"], status, where)
        self.assertEqual(int(a["flashes_emitted"]), int(a["flashes_received"]),
                         "flashes_emitted != flashes_received\n" + where)
        self.assertEqual(int(a["pulses_sent"]), int(a["pulses_delivered"]) + int(a["pulses_in_flight"]),
                         "pulses_sent != pulses_delivered + pulses_in_flight\n" + where)
        self.assertEqual(int(a["invariants_hold"]), 1, where)

    def check_series(self, f, where):
        """/timeseries is a consistent prefix: equal lengths, t strictly increasing, finite."""
        t = f["timeseries/t"][()]
        self.assertGreater(len(t), 0, "no samples\n" + where)
        for name in ("R", "R_state", "flashes", "pulse"):
            if name in f["timeseries"]:
                self.assertEqual(len(f["timeseries/" + name]), len(t),
                                 "/timeseries/%s and /timeseries/t differ in length\n%s" % (name, where))
        self.assertTrue(np.all(np.isfinite(t)), where)
        self.assertTrue(np.all(np.diff(t) > 0), "/timeseries/t not increasing\n" + where)
        return t
