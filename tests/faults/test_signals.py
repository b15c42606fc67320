"""SIGINT and SIGTERM to mpiexec mid-run: the clean stop must complete.

`fireflies` stops cleanly on SIGINT/SIGTERM: every rank stops at the next epoch boundary after a
sample, rank 0 writes status "interrupted" and the totals, and closes the file. Under mpiexec the
signal goes to mpiexec, and what the ranks get is up to Open MPI. Open MPI 4.1's mpirun, on
SIGINT or SIGTERM, sends the ranks SIGCONT at once, SIGTERM after odls_base_sigkill_timeout
(default 1 s) and SIGKILL after another such timeout, whether or not they have finished: a rank
has about one second to complete its clean stop.

Each test records the exit code and the stop time (printed in the log) and requires:
  - mpiexec ends within STOP_LIMIT seconds, with a non-zero exit code, no rank left alive;
  - the output opens with a plain HDF5 reader (closed properly), status "interrupted", balanced
    totals, invariants_hold == 1, a consistent /timeseries.
quick_*: a run whose clean stop takes a few milliseconds (the next sample is 25 ms of wall time
  away: --speed 20, samples every 0.5 s simulated).
slow_stop_*: a run whose clean stop needs more than Open MPI's one second (--speed 1, a sample
  every 5 s simulated, the signal sent just after a sample): the same requirements. These fail
  while mpiexec SIGKILLs ranks that are still stopping (the output is left with status "running"
  and its SWMR flags set); the failure message gives the timeline.
slow_stop_longer_sigkill_timeout: the same with OMPI_MCA_odls_base_sigkill_timeout=8, the
  workaround a job script can use today.
"""
import os
import signal
import time
import unittest

import h5py

from faults_common import FaultTestCase, alive, attrs, log, open_swmr, samples

STOP_LIMIT = 10.0
QUICK = ["--width", 40, "--height", 40, "--seed", 5, "--duration", 100000, "--speed", 20]
SLOW = ["--width", 40, "--height", 40, "--seed", 5, "--duration", 100000, "--speed", 1,
        "--sample-every", 5]


class Signals(FaultTestCase):

    def interrupt(self, np_, sig, args, env=None, limit=STOP_LIMIT, after_sample=False):
        out = self.path("out.h5")
        job = self.start(np_, args + ["-o", out], env=env)
        ranks = job.find_ranks()
        n = self.wait_for_samples(job, out, 3 if after_sample else 20)
        if after_sample:  # just after a new sample: the next one is a whole interval away
            while samples(out) <= n:
                self.assertIsNone(job.proc.poll(), job.describe())
                time.sleep(0.02)
        else:
            time.sleep(0.5)

        os.kill(job.proc.pid, sig)
        sent = time.monotonic()
        # Watch each rank: when does it go?
        gone_at = {}
        deadline = sent + limit + 10
        while time.monotonic() < deadline and (len(gone_at) < len(ranks) or job.proc.poll() is None):
            for r, pid in ranks.items():
                if r not in gone_at and not alive(pid):
                    gone_at[r] = time.monotonic() - sent
            time.sleep(0.02)
        rc = job.wait(0.1)
        ended = time.monotonic() - sent
        done_line = [line for line in (job.stdout() + job.stderr()).splitlines() if "done status=" in line]
        timeline = ("%s to mpiexec (P=%d): ranks gone after %s s; mpiexec %s after %.2f s with exit code %s; "
                    "rank 0 %s" % (sig.name, np_, ", ".join("%d: %.2f" % (r, gone_at.get(r, float("nan")))
                                                            for r in sorted(ranks)),
                                   "ended" if rc is not None else "STILL RUNNING", ended, rc,
                                   "printed '%s'" % done_line[0].strip() if done_line
                                   else "printed no 'done' line (it did not finish its clean stop)"))
        log(timeline)
        info = timeline + "\n" + job.describe()
        self.assertIsNotNone(rc, "mpiexec still running: " + info)
        self.assertLess(ended, limit, "slow to stop: " + info)
        self.assertEqual(len(gone_at), len(ranks), "ranks left alive: " + info)
        self.assertNotEqual(rc, 0, "exit code 0 after an interrupt: " + info)
        try:
            f = h5py.File(out, "r")
        except OSError as e:
            with open_swmr(out) as g:
                status = attrs(g).get("status")
                n_now = len(g["timeseries/t"])
            self.fail("the output was not closed (%s); a SWMR reader sees status %r and %d samples. %s"
                      % (e, status, n_now, info))
        with f:
            a = attrs(f)
            self.check_totals(a, "interrupted", info)
            t = self.check_series(f, info)
            log("output: status %r, %d samples up to t=%g s, flashes_emitted=%d"
                % (a["status"], len(t), t[-1], int(a["flashes_emitted"])))

    def test_quick_sigint_np3(self):
        self.interrupt(3, signal.SIGINT, QUICK)

    def test_quick_sigterm_np3(self):
        self.interrupt(3, signal.SIGTERM, QUICK)

    def test_quick_sigint_np8(self):
        self.interrupt(8, signal.SIGINT, QUICK)

    def test_quick_sigterm_np8(self):
        self.interrupt(8, signal.SIGTERM, QUICK)

    def test_slow_stop_sigint_np3(self):
        self.interrupt(3, signal.SIGINT, SLOW, after_sample=True)

    def test_slow_stop_sigterm_np8(self):
        self.interrupt(8, signal.SIGTERM, SLOW, after_sample=True)

    def test_slow_stop_longer_sigkill_timeout(self):
        self.interrupt(3, signal.SIGTERM, SLOW, env={"OMPI_MCA_odls_base_sigkill_timeout": "8"},
                       limit=25, after_sample=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
