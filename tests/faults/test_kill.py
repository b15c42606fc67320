"""SIGKILL of one rank mid-run: a worker, or rank 0 (the hub), at P = 3 and P = 8.

The run is paced (--speed) so that it is mid-run for as long as the test needs, and writes a
checkpoint every few simulated seconds. Once it has a checkpoint and samples, one rank gets
SIGKILL. Then:
  - mpiexec ends within KILL_LIMIT seconds, with a non-zero exit code, and no rank of the job is
    left alive (the job's own ranks are watched by PID; other runs on the machine are ignored);
  - the output written so far is readable by an HDF5 SWMR reader (h5py swmr=True): a consistent
    /timeseries prefix, status "running" (nobody could write anything else);
  - after `h5clear -s` a plain reader opens it too;
  - at most one checkpoint temporary (.ck.h5.tmp.PID, the hub's, when it died mid-checkpoint) is
    left next to the checkpoint, and the last checkpoint is usable: --restart from it at
    P = 3 completes with balanced totals, and the restarted series repeats the killed run's
    samples up to the checkpoint bit for bit.
A restart straight after the kill, before h5clear, is tried first and its outcome logged: HDF5
refuses to open the killed output for writing until its flags are cleared.
"""
import glob
import os
import signal
import time
import unittest

import h5py
import numpy as np

from faults_common import (FaultTestCase, attrs, error_lines, h5clear, log, open_swmr, run)

KILL_LIMIT = 10.0
MODEL = ["--width", 60, "--height", 60, "--seed", 11]
RUN = MODEL + ["--duration", 100000, "--speed", 20, "--checkpoint", "ck.h5", "--checkpoint-every", 5,
               "-o", "out.h5"]
DELAY = 0.01  # the default --delay: a checkpoint's epoch * DELAY is its time


class Kill(FaultTestCase):

    def kill_rank(self, np_, victim):
        out, ck = self.path("out.h5"), self.path("ck.h5")
        job = self.start(np_, RUN)
        ranks = job.find_ranks()
        self.wait_for_samples(job, out, 40)
        deadline = time.monotonic() + 60
        while not os.path.exists(ck):
            self.assertLess(time.monotonic(), deadline, "no checkpoint after 60 s\n" + job.describe())
            time.sleep(0.1)
        time.sleep(0.5)

        os.kill(ranks[victim], signal.SIGKILL)
        killed = time.monotonic()
        rc = job.wait(KILL_LIMIT + 5)
        ended = time.monotonic() - killed
        left = job.wait_ranks_gone(max(0.0, KILL_LIMIT - (time.monotonic() - killed)))
        gone = time.monotonic() - killed
        info = "P=%d, SIGKILL to rank %d (pid %d): mpiexec %s after %.2f s, exit code %s\n%s" % (
            np_, victim, ranks[victim], "ended" if rc is not None else "STILL RUNNING", ended, rc, job.describe())
        log("P=%d SIGKILL rank %d: mpiexec ended after %.2f s with exit code %s; all ranks gone after %.2f s"
            % (np_, victim, ended, rc, gone))
        self.assertIsNotNone(rc, "mpiexec still running %g s after the kill: %s" % (KILL_LIMIT + 5, info))
        self.assertLess(ended, KILL_LIMIT, info)
        self.assertEqual(left, {}, "ranks still alive %g s after the kill: %s\n%s" % (KILL_LIMIT, left, info))
        self.assertNotEqual(rc, 0, info)

        # What the killed run left: readable by a SWMR reader, then, cleared, by anyone.
        with open_swmr(out) as f:
            a = attrs(f)
            t_killed = self.check_series(f, info)
            killed_series = {k: f["timeseries/" + k][()] for k in f["timeseries"]}
        self.assertEqual(a.get("status"), "running", info)
        log("output after the kill: %d samples up to t=%g s, status %r" % (len(t_killed), t_killed[-1], a.get("status")))
        temporaries = glob.glob(self.path(".ck.h5.tmp.*"))
        # The hub is often mid-checkpoint (one every 0.25 s of wall time here) when it dies, or is
        # killed by mpiexec while it waits for a dead worker's block: its temporary stays.
        self.assertLessEqual(len(temporaries), 1, "checkpoint temporaries left: %s\n%s" % (temporaries, info))
        if temporaries:
            log("NOTE: the killed hub left its checkpoint temporary %s (%d bytes) next to ck.h5"
                % (os.path.basename(temporaries[0]), os.path.getsize(temporaries[0])))
        with h5py.File(ck, "r") as c:
            t_ck = int(c.attrs["epoch"]) * DELAY
        self.assertLessEqual(t_ck, t_killed[-1] + 1, info)

        # The last checkpoint is usable: restart from it.
        duration = int(t_ck) + 6
        restart = MODEL + ["--duration", duration, "--restart", "ck.h5"]
        rc1, wall1, first = run(3, restart, self.dir, timeout=120, name="restart-before-h5clear")
        if rc1 == 0:
            log("restart straight after the kill (no h5clear) worked: exit 0 after %.1f s" % wall1)
        else:
            lines = error_lines(first.stderr())
            log("NOTE: restart straight after the kill fails (exit %s, %.1f s): %s"
                % (rc1, wall1, lines[0] if lines else first.stderr()[-400:]))
            code, text = h5clear(out)
            self.assertEqual(code, 0, "h5clear -s %s failed: %s" % (out, text))
            with h5py.File(out, "r") as f:  # a plain reader now
                self.check_series(f, info)
            rc2, wall2, second = run(3, restart, self.dir, timeout=120, name="restart")
            self.assertEqual(rc2, 0, "restart after h5clear -s failed\n" + second.describe())
            log("restart after h5clear -s: exit 0 after %.1f s" % wall2)
        with h5py.File(out, "r") as f:
            a = attrs(f)
            t = self.check_series(f, "restarted output")
            self.check_totals(a, "complete", "restarted output %s" % out)
            self.assertEqual(int(a.get("segments", 0)), 2, "segments after one restart")
            self.assertAlmostEqual(float(t[-1]), float(duration), places=6)
            upto = np.searchsorted(t_killed, t_ck, side="right")
            for name, values in killed_series.items():
                now = f["timeseries/" + name][()]
                self.assertTrue(np.array_equal(now[:upto], values[:upto]),
                                "/timeseries/%s up to the checkpoint (t=%g s) differs between the killed "
                                "and the restarted run" % (name, t_ck))

    def test_sigkill_worker_np3(self):
        self.kill_rank(3, 2)

    def test_sigkill_worker_np8(self):
        self.kill_rank(8, 5)

    def test_sigkill_rank0_np3(self):
        self.kill_rank(3, 0)

    def test_sigkill_rank0_np8(self):
        self.kill_rank(8, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
