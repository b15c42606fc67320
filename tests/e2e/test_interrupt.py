"""Interrupts: SIGTERM and SIGINT stop a run cleanly.

The signal goes to `fireflies` itself at P = 1 and to `mpiexec -n 3 fireflies` (which forwards it
to its ranks) once the run is going. Then:
  - the run stops within STOP_LIMIT seconds;
  - P = 1: the exit code is 128 + signal (143 for SIGTERM, 130 for SIGINT, 138 for SIGUSR1);
    mpiexec: whatever mpiexec gives is printed in the test log; it must not be 0, so that a job
    script can tell the run did not complete. Open MPI 4.1's mpirun does not forward SIGTERM or
    SIGINT: it sends the ranks SIGCONT, waits odls_base_sigkill_timeout (1 s), sends SIGTERM,
    waits 1 s more and sends SIGKILL, then exits 1. The ranks stop at that SIGTERM and rank 0
    completes the file (milliseconds at this size), but they are still in MPI teardown when the
    SIGKILL comes; so this test sees ~2 s to stop and exit code 1. SIGUSR1 is forwarded at once:
    exit code 138 through mpirun as well;
  - the output is a valid file with status "interrupted" and balanced totals;
  - its series are a prefix of an uninterrupted run's: bitwise equal on the common length, and
    the uninterrupted run (same settings, long enough) covers all of it.
"""
import math
import signal
import subprocess
import sys
import threading
import time
import unittest

from e2e_common import E2ETestCase, attrs, command, kill_group, read_series

STOP_LIMIT = 5.0
# Paced (--speed: simulated seconds per wall second, at most; the series do not depend on it), so
# that the run lasts at least LONG / SPEED = 10 s of wall time however fast the program gets,
# and the signal always lands mid-run.
SPEED = 500
ARGS = ["--width", 100, "--height", 100, "--seed", 6]
LONG = 5000  # simulated seconds


class Interrupt(E2ETestCase):

    def interrupt(self, np_, sig, expect_rc=None):
        out = self.path("interrupted.h5")
        argv = command(np_, ARGS + ["--speed", SPEED, "--duration", LONG, "-o", out])
        p = subprocess.Popen(argv, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self.addCleanup(kill_group, p)
        stdout, stderr, banner = [], [], threading.Event()

        def drain(stream, into, watch):
            for line in stream:
                into.append(line)
                if watch and line.lstrip().startswith("output"):
                    banner.set()
            if watch:
                banner.set()  # the run ended: stop waiting for a banner
            stream.close()

        readers = [threading.Thread(target=drain, args=(p.stdout, stdout, True), daemon=True),
                   threading.Thread(target=drain, args=(p.stderr, stderr, False), daemon=True)]
        for r in readers:
            r.start()

        def describe():
            return "command: %s\n--- stdout ---\n%s--- stderr ---\n%s" % (
                " ".join(argv), "".join(stdout), "".join(stderr))

        # The banner comes after the stop handlers are installed; then let it run a little.
        self.assertTrue(banner.wait(60), "no banner within 60 s\n" + describe())
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "the run ended before the signal\n" + describe())
        p.send_signal(sig)
        sent = time.monotonic()
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            kill_group(p)
            self.fail("still running 60 s after %s\n%s" % (sig.name, describe()))
        stopped = time.monotonic() - sent
        for r in readers:
            r.join(10)
        info = "%s after %.2f s, exit code %d\n%s" % (sig.name, stopped, rc, describe())
        print("\n  np=%d %s: exit code %d, stopped %.2f s after the signal"
              % (np_, sig.name, rc, stopped), file=sys.stderr)

        self.assertLess(stopped, STOP_LIMIT, "slow to stop: " + info)
        if np_ == 1:
            self.assertEqual(rc, 128 + sig.value, info)
        elif expect_rc is not None:
            self.assertEqual(rc, expect_rc, info)
        else:
            self.assertNotEqual(rc, 0, info)
        self.check_totals(out, status="interrupted", context=info)
        a = attrs(out)
        got = read_series(out)
        n = len(got["t"])
        self.assertGreater(n, 1, "no samples before the interrupt\n" + info)
        self.assertLess(float(got["t"][-1]), LONG, info)
        self.assertLess(float(a["simulated_time"]), LONG, info)

        # The uninterrupted run of the same settings, just long enough to cover the prefix.
        reference = self.path("reference.h5")
        self.run_ok(1, ARGS + ["--duration", math.ceil(float(got["t"][-1])) + 1], reference)
        self.assertGreaterEqual(len(read_series(reference)["t"]), n)
        self.assertSeriesEqual(reference, out, prefix=True)

    def test_sigterm_np1(self):
        self.interrupt(1, signal.SIGTERM)

    def test_sigint_np1(self):
        self.interrupt(1, signal.SIGINT)

    def test_sigterm_mpiexec_np3(self):
        self.interrupt(3, signal.SIGTERM)

    def test_sigint_mpiexec_np3(self):
        self.interrupt(3, signal.SIGINT)

    # SIGUSR1 also stops a run (src/runtime/signals.cpp), and unlike SIGTERM and SIGINT, Open MPI's
    # mpirun forwards it to the ranks at once: the exit code is 128 + SIGUSR1 through mpirun too.
    def test_sigusr1_np1(self):
        self.interrupt(1, signal.SIGUSR1)

    def test_sigusr1_mpiexec_np3(self):
        self.interrupt(3, signal.SIGUSR1, expect_rc=128 + signal.SIGUSR1.value)


if __name__ == "__main__":
    unittest.main(verbosity=2)
