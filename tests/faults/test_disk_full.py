"""A full disk while writing the output or a checkpoint, on a small tmpfs (1 MiB).

Needs `mount -t tmpfs` (root, or CAP_SYS_ADMIN): without it every test here is skipped, saying so.

output_full_*: -o on the tmpfs, a run whose output (every flash recorded) outgrows it, the program
  alone and under mpiexec at P = 1, 3, 8 (and on a 16 KiB tmpfs, where the first flush fails).
  The run must end within LIMIT seconds with an error exit code (non-zero, and not a crash: no
  signal), no rank left alive, and exactly one error line ("fireflies: error: ...") that names
  the file (or its option, --output or --checkpoint) and says the device is full.
checkpoint_full_*: a previous checkpoint is on the tmpfs, and the space left is less than a
  checkpoint. A run that writes its next checkpoint there (a fresh run overwriting it; a restart
  from it) must fail the same way, and the previous checkpoint must be intact: the same bytes,
  no temporary left beside it, and usable (a restart from it, with space again, completes with
  balanced totals).
"""
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import h5py

from faults_common import MPIEXEC_1, FaultTestCase, alive, attrs, error_lines, h5clear, log, open_swmr, run

LIMIT = 60.0
SIZE = "1m"
MODEL = ["--width", 100, "--height", 100, "--seed", 2]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class DiskFull(FaultTestCase):

    def mount(self, size=SIZE):
        """A fresh tmpfs of `size`, unmounted at the end of the test."""
        self.full = tempfile.mkdtemp(prefix="fireflies-tmpfs-")
        self.addCleanup(shutil.rmtree, self.full, ignore_errors=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", self.full],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs (mount -t tmpfs -o size=%s tmpfs %s: %s); needs root"
                          % (size, self.full, (r.stderr or r.stdout).strip()))
        self.addCleanup(subprocess.run, ["umount", "-l", self.full], capture_output=True)

    def expect_disk_full_failure(self, rc, wall, job, path):
        info = "exit code %s after %.1f s\n%s" % (rc, wall, job.describe())
        self.assertIsNotNone(rc, "still running after %g s (killed): %s" % (LIMIT, info))
        self.assertNotEqual(rc, 0, info)
        self.assertLess(wall, LIMIT, info)
        # An error exit, not a crash: the program alone gives rc < 0 when a signal killed it,
        # mpiexec gives 128 + the signal, or says so.
        crashed = rc < 0 or rc >= 128 or "exited on signal" in job.stderr() or \
            "Segmentation fault" in job.stderr()
        self.assertFalse(crashed, "the run crashed after the error (exit code %s): %s" % (rc, info))
        self.assertEqual(job.wait_ranks_gone(5), {}, "ranks left alive: " + info)
        lines = error_lines(job.stderr())
        self.assertEqual(len(lines), 1, "expected exactly one 'fireflies: error' line: " + info)
        line = lines[0]
        self.assertTrue("No space left on device" in line or "ENOSPC" in line or "disk full" in line.lower(),
                        "the error does not say the device is full: " + info)
        self.assertTrue(os.path.basename(path) in line or "--output" in line or "--checkpoint" in line,
                        "the error names neither the file nor its option: " + info)
        log("exit code %s after %.1f s; the error line (%d characters): %s" % (rc, wall, len(line), line))
        return line

    def output_full(self, np_, size=SIZE):
        self.mount(size)
        out = os.path.join(self.full, "out.h5")
        rc, wall, job = run(np_, MODEL + ["--duration", 600, "--record-flashes", "-o", out], self.dir,
                            timeout=LIMIT + 30, name="full")
        self.expect_disk_full_failure(rc, wall, job, out)
        if os.path.exists(out):
            try:
                with open_swmr(out) as f:
                    log("what is left of the output: status %r, %d samples"
                        % (attrs(f).get("status"), len(f["timeseries/t"])))
            except OSError as e:
                log("what is left of the output cannot be read (%s)" % e)

    def test_output_full_alone(self):
        self.output_full(1)

    def test_output_full_mpiexec_np1(self):
        self.output_full(MPIEXEC_1)

    def test_output_full_alone_tiny_disk(self):
        # 16 KiB: the very first flush of the output fails (the file's metadata is not all
        # written yet), a different path out of the run than a disk that fills later.
        self.output_full(1, "16k")

    def test_output_full_np3_tiny_disk(self):
        self.output_full(3, "16k")

    def test_output_full_np3(self):
        self.output_full(3)

    def test_output_full_np8(self):
        self.output_full(8)

    # ---- checkpoints

    def previous_checkpoint(self):
        """A first run writes a checkpoint onto the tmpfs; then the tmpfs is filled to leave
        less than a third of a checkpoint free. Returns (path, its sha256)."""
        self.mount()
        ck = os.path.join(self.full, "ck.h5")
        rc, wall, job = run(3, MODEL + ["--duration", 20, "--checkpoint", ck, "--checkpoint-every", 10,
                                        "-o", self.path("first.h5")], self.dir, timeout=120, name="first")
        self.assertEqual(rc, 0, job.describe())
        self.assertTrue(os.path.exists(ck), "the first run wrote no checkpoint\n" + job.describe())
        size = os.path.getsize(ck)
        st = os.statvfs(self.full)
        free = st.f_bavail * st.f_frsize
        self.assertGreater(free, size // 3, "the tmpfs is too small for this test")
        with open(os.path.join(self.full, "filler"), "wb") as f:
            f.write(b"\0" * (free - size // 3))
        st = os.statvfs(self.full)
        log("previous checkpoint: %d bytes; %d bytes left on the tmpfs" % (size, st.f_bavail * st.f_frsize))
        return ck, sha256(ck)

    def check_intact_and_usable(self, ck, digest, output, restart_args):
        self.assertEqual(sha256(ck), digest, "the previous checkpoint was modified")
        left = [p for p in glob.glob(os.path.join(self.full, ".*")) if ".tmp." in p]
        self.assertEqual(left, [], "checkpoint temporaries left on the full disk")
        os.remove(os.path.join(self.full, "filler"))
        rc, wall, job = run(3, restart_args, self.dir, timeout=120, name="restart")
        self.assertEqual(rc, 0, "restart from the previous checkpoint failed\n" + job.describe())
        with h5py.File(output, "r") as f:
            self.check_totals(attrs(f), "complete", "restarted output\n" + job.describe())
            self.check_series(f, job.describe())
        log("restart from the previous checkpoint: exit 0 after %.1f s" % wall)

    def test_checkpoint_full_fresh_run(self):
        ck, digest = self.previous_checkpoint()
        out = self.path("second.h5")
        # Another run's checkpoint is replaced only with --force (without it: refused at the start).
        rc, wall, job = run(3, MODEL + ["--duration", 40, "--checkpoint", ck, "--checkpoint-every", 5, "-o", out,
                                        "--force"], self.dir, timeout=LIMIT + 30, name="second")
        self.expect_disk_full_failure(rc, wall, job, ck)
        # The previous checkpoint belongs to the first run (first.h5): restart that.
        self.check_intact_and_usable(ck, digest, self.path("first.h5"),
                                     MODEL + ["--duration", 30, "--restart", ck])

    def test_checkpoint_full_restart(self):
        ck, digest = self.previous_checkpoint()
        first = self.path("first.h5")
        shutil.copyfile(first, self.path("first.before-restart.h5"))
        rc, wall, job = run(3, MODEL + ["--duration", 40, "--restart", ck, "--checkpoint", ck,
                                        "--checkpoint-every", 5], self.dir, timeout=LIMIT + 30, name="restart-full")
        self.expect_disk_full_failure(rc, wall, job, ck)
        # What the failed restart did to the output it was continuing.
        try:
            with h5py.File(first, "r") as f:
                log("the output after the failed restart: status %r, %d samples (plain reader)"
                    % (attrs(f).get("status"), len(f["timeseries/t"])))
        except OSError as e:
            with open_swmr(first) as f:
                log("NOTE: the output after the failed restart is left open-for-write (%s); a SWMR reader "
                    "sees status %r and %d samples (it had %d before)"
                    % (e, attrs(f).get("status"), len(f["timeseries/t"]),
                       len(h5py.File(self.path("first.before-restart.h5"), "r")["timeseries/t"])))
        shutil.copyfile(self.path("first.before-restart.h5"), first)
        self.check_intact_and_usable(ck, digest, first, MODEL + ["--duration", 40, "--restart", ck])


if __name__ == "__main__":
    unittest.main(verbosity=2)
