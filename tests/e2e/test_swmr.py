"""SWMR: a reader follows the output while the run writes it.

A 200 x 200 run at P = 3 runs in the background for several seconds; an h5py reader opens the
file with swmr=True, reads /timeseries/t, waits, refreshes and reads it again: it has grown while
the writer still runs, and what it read is a prefix of the final series. Then the run completes
normally.
"""
import os
import subprocess
import time
import unittest

import h5py
import numpy as np

from e2e_common import E2ETestCase, command, kill_group

# Paced (--speed 60: 450 simulated s take 7.5 wall s, however fast the machine), so that the
# reader always has time for two reads while the writer runs.
ARGS = ["--width", 200, "--height", 200, "--duration", 450, "--seed", 4, "--speed", 60]
GAP = 2.5  # seconds between the two reads (the writer flushes about once a second)


class Swmr(E2ETestCase):

    def test_reader_sees_growth(self):
        out = self.path("live.h5")
        argv = command(3, ARGS + ["-o", out])
        log = open(self.path("run.log"), "w+")
        self.addCleanup(log.close)
        p = subprocess.Popen(argv, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(kill_group, p)

        def output():
            log.flush()
            log.seek(0)
            return "command: %s\n%s" % (" ".join(argv), log.read())

        # Wait for the file to be open for SWMR writing with at least one sample in it.
        deadline = time.monotonic() + 60
        f = None
        while f is None:
            self.assertIsNone(p.poll(),
                              "the run ended before a reader could follow it\n" + output())
            self.assertLess(time.monotonic(), deadline,
                            "no readable samples after 60 s\n" + output())
            if os.path.exists(out):
                try:
                    g = h5py.File(out, "r", libver="latest", swmr=True)
                    if len(g["timeseries/t"]) > 0:
                        f = g
                    else:
                        g.close()
                except (OSError, KeyError):
                    pass
            if f is None:
                time.sleep(0.2)
        with f:
            t = f["timeseries/t"]
            first = t[()]
            time.sleep(GAP)
            t.refresh()
            second = t[()]
            still_running = p.poll() is None
        self.assertTrue(still_running, "the run ended before the second read; make it longer\n"
                        + output())
        self.assertGreater(len(second), len(first),
                           "/timeseries/t did not grow in %g s while the run went on (%d then %d "
                           "samples)\n%s" % (GAP, len(first), len(second), output()))

        try:
            rc = p.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.fail("the run did not finish within 180 s\n" + output())
        self.assertEqual(rc, 0, output())
        self.check_totals(out, context=output())
        with h5py.File(out, "r") as g:
            final = g["timeseries/t"][()]
        self.assertEqual(float(final[-1]), 450.0)
        self.assertTrue(np.array_equal(second, final[:len(second)]),
                        "what the reader saw is not a prefix of the final series")


if __name__ == "__main__":
    unittest.main(verbosity=2)
