"""Checkpoint and restart of the real `fireflies` program (issue 4), end to end.

Run through ctest (label `checkpoint`), one class or method per CTest test, e.g.
  ctest -L checkpoint --output-on-failure
  FIREFLIES_BIN=build/dev/src/fireflies MPIEXEC=mpirun /usr/bin/python3 \
      tests/checkpoint/test_checkpoint.py -v SignalRestart.test_usr1_3_to_2
KEEP=1 keeps the working directories (under $TMPDIR, named fireflies-ckpt-*).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_common import (EXIT_CHECKPOINTED, EXIT_USAGE, CheckpointTestCase, attrs,  # noqa: E402
                         command, kill_group, sha256, read_checkpoint_fully, slow_fsync_env, temporaries,
                         tree_state, wait_until)

# A small run: 48 x 36 fireflies, 40 s simulated, every output series on.
BASE = ["--width", 48, "--height", 36, "--duration", 40, "--seed", 7, "--record-flashes",
        "--snapshot-every", 2.5]
# Paced to 4 s of wall time, so that a signal after ~1 s lands mid-run.
PACE = ["--speed", 10]
SERIES_GROUPS = ("timeseries", "flashes", "snapshots")


def workers(ranks):
    return 1 if ranks == 1 else ranks - 1


def with_options(args, changes):
    """args with the values of the options in `changes` ([--name, value, ...]) replaced."""
    args = list(args)
    for i in range(0, len(changes), 2):
        name, value = changes[i], changes[i + 1]
        if name in args:
            args[args.index(name) + 1] = value
        else:
            args += [name, value]
    return args


class Periodic(CheckpointTestCase):
    """(a) --checkpoint-every does not change the run."""

    def test_periodic_checkpoints_do_not_change_the_series(self):
        ref = self.path("ref.h5")
        self.run_to_end(1, BASE + ["-o", ref])
        for ranks, every in ((1, 5), (3, 3.3), (2, 0.5)):
            with self.subTest(ranks=ranks, every=every):
                out, ck = self.path("p%d.h5" % ranks), self.path("p%d.ckpt" % ranks)
                r = self.run_to_end(ranks, BASE + ["-o", out, "--checkpoint", ck, "--checkpoint-every", every])
                a = self.check_balanced(out, "complete", r.describe())
                self.assertEqual(int(a["segments"]), 1)
                self.assertSameData(ref, out, SERIES_GROUPS, r.describe())
                self.assertSameTotals(ref, out, r.describe())
                written = r.stderr().count("fireflies: checkpoint at t=")
                # One after the first sample past each multiple of `every` before the end.
                self.assertGreaterEqual(written, int(40 / every) - 1, r.describe())
                self.assertEqual(temporaries(ck), [], "temporary checkpoint files left behind")
                c = read_checkpoint_fully(ck)
                self.assertEqual(c["format"], "fireflies checkpoint")
                self.assertGreater(int(c["epoch"]), 0)


class RestartCase(CheckpointTestCase):
    """Interrupt a run of `base` with a signal, restart it, compare with the uninterrupted run."""

    base = BASE

    def reference(self, ranks):
        ref = self.path("ref.h5")
        if not os.path.exists(ref):
            self.run_to_end(ranks, self.base + ["-o", ref], name="reference")
        return ref

    def check_checkpointed(self, run, out, ck, segment):
        """After exit 85: a complete checkpoint, an output that stops exactly there."""
        self.assertIn("fireflies: checkpoint at t=", run.stderr(), run.describe())
        self.assertEqual(temporaries(ck), [], "temporary checkpoint files left behind")
        c = read_checkpoint_fully(ck)
        t = int(c["epoch"]) * 0.01
        self.assertTrue(0 < t < 40, "checkpoint at t=%g s is not mid-run" % t)
        self.assertEqual(int(c["segment"]), segment)
        a = self.check_balanced(out, "checkpointed", run.describe())
        self.assertEqual(int(a["segments"]), segment + 1)
        with h5py.File(out, "r") as f:
            self.assertEqual(f["timeseries/t"].shape, (int(c["next_sample"]),),
                             "the output's series must stop at the checkpoint's sample")
        return c

    def interrupted_then_restarted(self, first, second, sig=signal.SIGUSR1):
        ref = self.reference(first)
        out, ck = self.path("run.h5"), self.path("run.ckpt")
        r1 = self.interrupt(first, self.base + PACE + ["-o", out, "--checkpoint", ck], sig=sig, name="segment1")
        c = self.check_checkpointed(r1, out, ck, 0)
        r2 = self.run_to_end(second, self.base + ["-o", out, "--restart", ck, "--checkpoint", ck], name="segment2")
        context = "%s\n%s" % (r1.describe(), r2.describe())
        a = self.check_balanced(out, "complete", context)
        self.assertEqual(int(a["segments"]), 2)
        self.assertSameData(ref, out, SERIES_GROUPS, context)
        self.assertSameTotals(ref, out, context)
        b = attrs(out, "/blocks")
        same_blocks = workers(first) == workers(second)
        self.assertEqual(int(b["first_sample"]), 0 if same_blocks else int(c["next_sample"]))
        if same_blocks:
            self.assertSameData(ref, out, ("blocks",), context)
        print("%s at P=%d, checkpoint at t=%.2f s, restart at P=%d: identical (%.1f s + %.1f s wall)"
              % (signal.Signals(sig).name, first, int(c["epoch"]) * 0.01, second, r1.wall, r2.wall))


class SignalRestart(RestartCase):
    """(b) a signal mid-run gives exit 85 and a checkpoint; --restart at any rank count
    continues the output bitwise identically to an uninterrupted run."""

    def test_usr1_3_to_3(self):
        self.interrupted_then_restarted(3, 3)

    def test_usr1_1_to_3(self):
        self.interrupted_then_restarted(1, 3)

    def test_usr1_3_to_2(self):
        self.interrupted_then_restarted(3, 2)

    def test_usr1_5_to_1(self):
        self.interrupted_then_restarted(5, 1)

    def test_sigterm_1_to_1(self):
        self.interrupted_then_restarted(1, 1, signal.SIGTERM)

    def test_sigint_1_to_2(self):
        # SIGTERM and SIGINT go straight to the program: Open MPI's mpirun, signalled with
        # them, stops the job itself and exits 1 even when the ranks checkpointed (it relays
        # SIGUSR1 cleanly; jobs/fireflies.sbatch therefore relays every stop signal as SIGUSR1).
        self.interrupted_then_restarted(1, 2, signal.SIGINT)

    def test_samples_attribute_after_restart(self):
        """The root attribute `samples` of a continued output counts every row of /timeseries."""
        ref = self.reference(1)
        out, ck = self.path("run.h5"), self.path("run.ckpt")
        self.interrupt(1, BASE + PACE + ["-o", out, "--checkpoint", ck], name="segment1")
        self.run_to_end(1, BASE + ["-o", out, "--restart", ck], name="segment2")
        with h5py.File(out, "r") as f:
            rows = f["timeseries/t"].shape[0]
        self.assertEqual(int(attrs(ref)["samples"]), rows)
        self.assertEqual(int(attrs(out)["samples"]), rows,
                         "root attribute samples of the continued output != rows of /timeseries/t")

    def test_twice_interrupted(self):
        """P=2, interrupted; restarted at P=3, interrupted again; restarted at P=1."""
        ref = self.reference(2)
        out, ck = self.path("run.h5"), self.path("run.ckpt")
        r1 = self.interrupt(2, BASE + PACE + ["-o", out, "--checkpoint", ck], name="segment1")
        c1 = self.check_checkpointed(r1, out, ck, 0)
        r2 = self.interrupt(3, BASE + PACE + ["-o", out, "--restart", ck, "--checkpoint", ck], name="segment2")
        c2 = self.check_checkpointed(r2, out, ck, 1)
        self.assertGreater(int(c2["epoch"]), int(c1["epoch"]), "the second segment did not advance")
        r3 = self.run_to_end(1, BASE + ["-o", out, "--restart", ck], name="segment3")
        context = "\n".join(r.describe() for r in (r1, r2, r3))
        a = self.check_balanced(out, "complete", context)
        self.assertEqual(int(a["segments"]), 3)
        self.assertSameData(ref, out, SERIES_GROUPS, context)
        self.assertSameTotals(ref, out, context)
        print("checkpoints at t=%.2f s and t=%.2f s; P=2 -> 3 -> 1 identical"
              % (int(c1["epoch"]) * 0.01, int(c2["epoch"]) * 0.01))


class Families(RestartCase):
    """(b) for the model families: interrupted at one rank count, restarted at another, the
    output is bitwise the uninterrupted run's."""

    def test_prc_dissipation_3_to_2(self):
        self.base = BASE + ["--prc-dissipation", 2.5]
        self.interrupted_then_restarted(3, 2)

    def test_inhibitory_queue_1_to_3(self):
        self.base = BASE + ["--prc-dissipation", 1, "--nudge", -0.1, "--refractory-mode", "queue"]
        self.interrupted_then_restarted(1, 3)

    def test_initial_phases_3_to_1(self):
        phases = self.path("phases.h5")
        with h5py.File(phases, "w") as f:
            f["phase"] = (np.arange(36 * 48).reshape(36, 48) * 0.37) % 5.0
        self.base = BASE + ["--initial-phases", phases]
        self.interrupted_then_restarted(3, 1)

    def test_open_boundary_5_to_2(self):
        self.base = BASE + ["--boundary", "open"]
        self.interrupted_then_restarted(5, 2)

    def test_neighbourhood_radius_5_to_2(self):
        self.base = BASE + ["--neighbourhood", "von-neumann", "--radius", 3]
        self.interrupted_then_restarted(5, 2)

    def test_pacemaker_2_to_5(self):
        self.base = BASE + ["--pacemaker", "24,18,4.5", "--pacemaker", "0,35"]
        self.interrupted_then_restarted(2, 5)

    def test_all_to_all_3_to_2(self):
        self.base = BASE + ["--coupling", "all-to-all", "--nudge", 0.0002, "--prc-dissipation", 3]
        self.interrupted_then_restarted(3, 2)

    def test_pacemaker_radius_3_to_2(self):
        self.base = BASE + ["--pacemaker", "24,18,4.5", "--neighbourhood", "von-neumann", "--radius", 2]
        self.interrupted_then_restarted(3, 2)

    def test_period_spread_2_to_5(self):
        self.base = BASE + ["--period-spread", 0.3, "--period-distribution", "uniform"]
        self.interrupted_then_restarted(2, 5)

    def test_stop_when_synced_3_to_2(self):
        # 12 x 12, seed 4: synchronised at 108.5 s, stopped one sample after the decision; the
        # checkpoint comes at about 10 s, before it, while a sample's R_state reduction is open
        # among the workers. The restarted workers go on from rank 0's replay of the output's
        # R_state series and stop at the same epoch as the uninterrupted run.
        self.base = with_options(BASE, ["--width", 12, "--height", 12, "--seed", 4, "--duration", 300]) + \
            ["--stop-when-synced"]
        self.interrupted_then_restarted(3, 2)
        ref = attrs(self.path("ref.h5"))
        self.assertEqual(int(ref["stopped_when_synced"]), 1, "the reference run must stop when synchronised")
        self.assertLess(float(ref["simulated_time"]), 300)
        out = attrs(self.path("run.h5"))
        for key in ("time_to_sync", "simulated_time", "stopped_when_synced"):
            self.assertEqual(out[key], ref[key], key)



class CopiedRun(CheckpointTestCase):
    """Each test works on copies of one interrupted run's output `run.h5` and checkpoint
    `run.ckpt` (P = 1), made once per class."""

    state_dir = None

    @classmethod
    def setUpClass(cls):
        # One interrupted run (P=1) whose output and checkpoint every test copies.
        cls.state_dir = tempfile.mkdtemp(prefix="fireflies-ckpt-refused-")
        t = CheckpointTestCase("run")
        t.dir = cls.state_dir
        t._runs = 0
        t.interrupt(1, BASE + PACE + ["-o", "run.h5", "--checkpoint", "run.ckpt"], name="segment1")
        for name in os.listdir(cls.state_dir):
            if name.startswith("segment1."):
                os.remove(os.path.join(cls.state_dir, name))

    @classmethod
    def tearDownClass(cls):
        if cls.state_dir and not CheckpointTestCase.KEEP:
            shutil.rmtree(cls.state_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        for name in ("run.h5", "run.ckpt"):
            shutil.copy2(os.path.join(self.state_dir, name), self.path(name))
        self.logs = tempfile.mkdtemp(prefix="fireflies-ckpt-logs-")   # logs outside the checked dir
        if not self.KEEP:
            self.addCleanup(shutil.rmtree, self.logs, ignore_errors=True)

    def assertRefused(self, args, option, ranks=1, expect_in=()):
        """`fireflies args` at `ranks` ranks exits 2 with one line that names `option` (and every
        text of `expect_in`), and creates, changes or removes no file in the directory."""
        before = tree_state(self.dir)
        r = subprocess.run(command(ranks, args), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=120, cwd=self.dir)
        what = "command: %s\nexit %d\n--- stdout ---\n%s--- stderr ---\n%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
        self.assertEqual(r.returncode, EXIT_USAGE, what)
        lines = [l for l in r.stderr.splitlines() if l.startswith("fireflies:")]
        self.assertEqual(len(lines), 1, "expected one line from fireflies:\n" + what)
        self.assertIn(option, lines[0], what)
        for text in expect_in:
            self.assertIn(text, lines[0], what)
        self.assertEqual(tree_state(self.dir), before,
                         "a refused run changed the files in its directory\n" + what)
        print("P=%d refused: %s" % (ranks, lines[0][:300]))
        return lines[0]


class Refused(CopiedRun):
    """(c) a checkpoint that does not fit is refused: exit 2, one line naming --restart, and no
    file in the directory is created, changed or removed."""

    def refused(self, extra, ranks=1, checkpoint="run.ckpt", expect_in=()):
        args = with_options(BASE, extra) + ["-o", "run.h5", "--restart", checkpoint]
        return self.assertRefused(args, "--restart", ranks, expect_in)

    def test_other_grid(self):
        self.refused(["--width", 50], expect_in=("48", "50"))

    def test_other_seed(self):
        self.refused(["--seed", 8], expect_in=("seed",))

    def test_truncated(self):
        size = os.path.getsize(self.path("run.ckpt"))
        subprocess.run(["truncate", "-s", str(size // 2), self.path("run.ckpt")], check=True)
        self.refused([])

    def corrupt(self):
        """Inverts 64 bytes in the middle of the checkpoint (dd conv=notrunc)."""
        ck = self.path("run.ckpt")
        middle = os.path.getsize(ck) // 2
        with open(ck, "rb") as f:
            f.seek(middle)
            flipped = bytes(b ^ 0xFF for b in f.read(64))
        patch = os.path.join(self.logs, "patch.bin")
        with open(patch, "wb") as f:
            f.write(flipped)
        subprocess.run(["dd", "if=" + patch, "of=" + ck, "bs=1", "seek=%d" % middle, "conv=notrunc",
                        "status=none"], check=True)

    def test_corrupt(self):
        self.corrupt()
        self.refused([])

    def test_corrupt_3_ranks(self):
        self.corrupt()
        self.refused([], ranks=3)

    def corrupt_dataset(self, name):
        """Inverts 4 bytes in the middle of dataset `name`'s raw data (outside the seal's hash:
        the block checksums cover it, verified by the workers that read it)."""
        ck = self.path("run.ckpt")
        with h5py.File(ck, "r") as f:
            d = f[name]
            at = d.id.get_offset() + d.id.get_storage_size() // 2
        with open(ck, "r+b") as f:
            f.seek(at)
            flipped = bytes(b ^ 0x5A for b in f.read(4))
            f.seek(at)
            f.write(flipped)

    def test_corrupt_block_data(self):
        # The fireflies' data: found by the workers' block checksums, whichever blocks they read.
        self.corrupt_dataset("state/last_flash")
        for ranks in (1, 3, 4):
            self.refused([], ranks=ranks, expect_in=("corrupt", "block"))

    def test_corrupt_in_flight_index(self):
        self.corrupt_dataset("in_flight/index")
        for ranks in (1, 3):
            self.refused([], ranks=ranks, expect_in=("corrupt",))

    def test_not_hdf5(self):
        with open(self.path("notes.txt"), "w") as f:
            f.write("this is not a checkpoint\n" * 100)
        self.refused([], checkpoint="notes.txt")

    def test_missing_checkpoint(self):
        self.refused([], checkpoint="nowhere.ckpt", expect_in=("nowhere.ckpt",))

    def test_missing_output(self):
        os.remove(self.path("run.h5"))
        self.refused([], expect_in=("run.h5",))

    def test_other_version(self):
        # A checkpoint of another version: the seal at the start of the file (magic, 24 bytes,
        # then the writer's version, 24 bytes NUL-padded) names it, and the reader looks there
        # first. (Rewriting the HDF5 attribute instead would change the bytes the checksum covers,
        # and the file would rightly be refused as corrupt.)
        with open(self.path("run.ckpt"), "r+b") as f:
            f.seek(24)
            f.write(b"0.0.1".ljust(24, b"\0"))
        self.refused([], expect_in=("0.0.1",))

    def test_other_grid_3_ranks(self):
        self.refused(["--height", 30], ranks=3)

    def test_older_formats(self):
        # Checkpoints of older formats, refused by their seal with what to do, at any rank count
        # (tests/checkpoint/data): format 2 by rank 0 alone (fireflies 0.1.0 at c7883b7); format
        # 3 by rank 0 alone, with /hub/interval_flash_t (main at 17af8bf); format 3 by the
        # workers in parallel, without it (the parallel checkpoints before format 4).
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
        cases = (("format2_48x36.ckpt", "older checkpoint format (version 2, written by rank 0 alone)"),
                 ("format3_serial_48x36.ckpt", "older checkpoint format (version 3, written by rank 0 alone)"),
                 ("format3_parallel_48x36.ckpt", "checkpoint format version 3 (written by the workers"))
        for name, what in cases:
            shutil.copy2(os.path.join(data, name), self.path("old.ckpt"))
            for ranks in (1, 3):
                with self.subTest(checkpoint=name, ranks=ranks):
                    self.refused([], ranks=ranks, checkpoint="old.ckpt",
                                 expect_in=(what, "reads format 4 only",
                                            "restart it with the fireflies that wrote it, or rerun the run"))

    def test_corrupt_interval_flashes(self):
        # The hub's flashes of the sample in progress (rank 0's own state, inside the seal's
        # hash): one byte of their raw data changed is refused before HDF5 reads them.
        ck = self.path("run.ckpt")
        with h5py.File(ck, "r") as f:
            d = f["hub/interval_flash_t"]
            self.assertGreater(d.shape[0], 0, "the checkpoint should hold the interval's flashes (events telemetry)")
            self.assertEqual(d.shape[0], int(f.attrs["interval_flashes"]))
            offset = d.id.get_offset()
        with open(ck, "r+b") as f:
            f.seek(offset + 3)
            b = f.read(1)
            f.seek(offset + 3)
            f.write(bytes([b[0] ^ 0x10]))
        self.refused([], expect_in=("corrupt",))


class CheckpointPath(CopiedRun):
    """(c) --checkpoint never replaces what is not this run's checkpoint: the run's own output, an
    earlier run's output or any other file are refused before anything starts (exit 2, one line
    naming --checkpoint, the directory unchanged); a checkpoint of another run only with --force;
    the checkpoint being restarted from is this run's and is accepted."""

    def start_refused(self, args, ranks=1, expect_in=()):
        self.assertRefused(BASE + args, "--checkpoint", ranks, expect_in)

    def test_checkpoint_is_the_output(self):
        self.start_refused(["-o", "new.h5", "--checkpoint", "./new.h5"], expect_in=("output",))

    def test_checkpoint_is_the_output_on_restart(self):
        self.start_refused(["-o", "run.h5", "--restart", "run.ckpt", "--checkpoint", "run.h5"],
                           expect_in=("output",))

    def test_checkpoint_over_an_earlier_output(self):
        # The earlier run's complete output, named as this run's checkpoint: even --force (which
        # is about --output) does not let a checkpoint replace it.
        self.start_refused(["-o", "new.h5", "--checkpoint", "run.h5"], ranks=3,
                           expect_in=("not a fireflies checkpoint",))
        self.start_refused(["-o", "new.h5", "--force", "--checkpoint", "run.h5"],
                           expect_in=("not a fireflies checkpoint",))

    def test_checkpoint_of_another_run(self):
        self.start_refused(["-o", "new.h5", "--checkpoint", "run.ckpt"], expect_in=("--force",))
        # With --force it is replaced by this run's checkpoints; the output is new.
        old = sha256(self.path("run.ckpt"))
        old_epoch = attrs(self.path("run.ckpt"))["epoch"]
        self.run_to_end(1, with_options(BASE, ["--duration", 5]) + [
            "-o", "new.h5", "--force", "--checkpoint", "run.ckpt", "--checkpoint-every", 2.5])
        self.assertNotEqual(sha256(self.path("run.ckpt")), old)
        new = attrs(self.path("run.ckpt"))
        self.assertIn('output = "new.h5"', new["config"], "the checkpoint is this run's")
        self.assertLessEqual(new["epoch"], 500, "this run ends at t = 5 s")
        self.assertGreater(old_epoch, 500, "the other run's checkpoint was later")

    def test_restart_checkpoints_over_its_own_checkpoint(self):
        old_epoch = attrs(self.path("run.ckpt"))["epoch"]
        self.run_to_end(1, BASE + ["-o", "run.h5", "--restart", "run.ckpt", "--checkpoint", "run.ckpt",
                                   "--checkpoint-every", 20])
        self.assertEqual(attrs(self.path("run.h5"))["status"], "complete")
        self.assertGreater(attrs(self.path("run.ckpt"))["epoch"], old_epoch)


class HubTraffic(CheckpointTestCase):
    """Rank 0's traffic for a checkpoint and for a restart does not grow with the grid: at the same
    rank count, 48 x 36 and 640 x 360 fireflies (133 times as many) give the same byte counts,
    each a few dozen bytes (the checkpoint's root attributes hub_bytes_sent and
    hub_bytes_received; the restarted output's /perf attributes restart_hub_bytes_sent and
    restart_hub_bytes_received). When rank 0 wrote checkpoints alone (formats 2 and 3 of rank
    0) the hub received every block (48 bytes + 24 a firefly + 16 an in-flight flash: 41 kB and
    5.5 MB here) and sent them all back, with every in-flight flash to every worker, for a
    restart. The restart here runs on another rank count
    than the checkpoint (3 blocks of 213-214 columns whose halos cut through the 2 blocks of 320
    columns that wrote it, each row two index tiles: 256 + 64) and continues the output bitwise
    as the uninterrupted run wrote it."""

    def traffic(self, width, height, first=3, second=4):
        args = with_options(BASE, ["--width", width, "--height", height, "--duration", 2])
        out, ck, ref = self.path("%dx%d.h5" % (width, height)), self.path("%dx%d.ckpt" % (width, height)), \
            self.path("%dx%d-ref.h5" % (width, height))
        r1 = self.run_to_end(first, args + ["-o", out, "--checkpoint", ck, "--checkpoint-every", 1])
        shutil.copyfile(out, ref)
        c = attrs(ck)
        self.assertGreater(int(c["epoch"]), 0)
        r2 = self.run_to_end(second, args + ["-o", out, "--restart", ck])
        context = r1.describe() + "\n" + r2.describe()
        self.check_balanced(out, "complete", context)
        self.assertSameData(ref, out, SERIES_GROUPS, context)
        self.assertSameTotals(ref, out, context)
        p = attrs(out, "/perf")
        counts = {"checkpoint sent": int(c["hub_bytes_sent"]), "checkpoint received": int(c["hub_bytes_received"]),
                  "restart sent": int(p["restart_hub_bytes_sent"]),
                  "restart received": int(p["restart_hub_bytes_received"])}
        with h5py.File(ck, "r") as f:
            before = 48 * int(c["workers"]) + 24 * width * height + 16 * f["in_flight/t"].shape[0]
        print("%d x %d, P=%d -> %d: rank 0 bytes %s (a hub writing alone received %d for the checkpoint)"
              % (width, height, first, second, counts, before))
        return counts

    def test_rank_0_bytes_do_not_grow_with_the_grid(self):
        small = self.traffic(48, 36)
        big = self.traffic(640, 360)
        self.assertEqual(small, big, "rank 0's bytes for a checkpoint and a restart grew with the grid")
        for what, n in big.items():
            self.assertGreater(n, 0, what)
            self.assertLess(n, 1024, "rank 0 %s %d bytes" % (what, n))


def h5clear(path):
    """Clears the 'file is open for write' flags of an HDF5 file left by a killed writer."""
    subprocess.run(["h5clear", "-s", path], check=True, capture_output=True, timeout=60)


class CrashSafety(CheckpointTestCase):
    """(d) SIGKILL during a checkpoint write, and a full disk, leave the previous checkpoint."""

    # 1000 x 1000 fireflies: a checkpoint of ~24 MB, one per epoch, so the second write starts
    # soon after the first. The workers write it in parallel in milliseconds, too fast for a
    # poll to catch: the slow_fsync shim makes each writer's fsync of the temporary file, after
    # its data and before the seal and the rename, take 3 s, so that the kill lands in a write
    # every time. (Without the shim, when run by hand, the kill is a race.)
    BIG = ["--width", 1000, "--height", 1000, "--duration", 0.03, "--sample-every", 0.01]
    FSYNC_DELAY = 3

    def kill_during_second_write(self, ranks):
        out, ck = self.path("big.h5"), self.path("big.ckpt")
        r = self.start(ranks, self.BIG + ["-o", out, "--checkpoint", ck, "--checkpoint-every", 0.01], "killed",
                       env=slow_fsync_env(self.FSYNC_DELAY))
        first = wait_until(lambda: "checkpoint at t=0.01 s written" in r.stderr() or r.p.poll() is not None, 300)
        if not (first and r.p.poll() is None):
            r.wait(1)
            self.fail("no first checkpoint:\n" + r.describe())
        before = {k: v for k, v in read_checkpoint_fully(ck).items() if k != "config"}
        def halfway():   # the temporary file has 2 MB of the ~24 MB
            try:
                return any(os.path.getsize(t) >= 2_000_000 for t in temporaries(ck))
            except FileNotFoundError:
                return False
        writing = wait_until(lambda: halfway() or r.p.poll() is not None, 300, 0.001)
        tmp = temporaries(ck)
        if not (writing and tmp):
            kill_group(r.p, signal.SIGKILL)
            self.fail("did not catch the second write in progress:\n" + r.describe())
        digest = sha256(ck)   # the next rename is seconds away (slow_fsync)
        kill_group(r.p, signal.SIGKILL)
        r.wait(60)
        self.assertNotIn("checkpoint at t=0.02", r.stderr(), "killed too late: the write completed")
        self.assertEqual(sha256(ck), digest, "the checkpoint changed although its write was killed")
        after = read_checkpoint_fully(ck)      # h5py opens it and reads every dataset
        self.assertEqual({k: v for k, v in after.items() if k != "config"}, before,
                         "the checkpoint is not the previous one")
        self.assertEqual(int(after["epoch"]), 1)
        print("P=%d: killed during the second write (%s, %d bytes so far); previous checkpoint "
              "intact (epoch %d)" % (ranks, os.path.basename(tmp[0]), os.path.getsize(tmp[0]),
                                     after["epoch"]))
        return out, ck, r

    def reference(self):
        ref = self.path("ref.h5")
        self.run_to_end(1, self.BIG + ["-o", ref], name="reference", timeout=300)
        return ref

    def restart_and_compare(self, out, ck, ranks, killed):
        r = self.run_to_end(ranks, self.BIG + ["-o", out, "--restart", ck], timeout=300, name="restart")
        ref = self.reference()
        context = killed.describe() + "\n" + r.describe()
        self.check_balanced(out, "complete", context)
        self.assertSameData(ref, out, ("timeseries",), context)
        self.assertSameTotals(ref, out, context)

    @unittest.skipIf(shutil.which("h5clear") is None, "h5clear (hdf5-tools) not installed")
    def test_sigkill_during_write_keeps_previous_checkpoint(self):
        out, ck, killed = self.kill_during_second_write(1)
        # The killed writer leaves the output flagged "open for write"; clear that (see
        # test_sigkill_restart_without_h5clear for the program doing without).
        h5clear(out)
        self.restart_and_compare(out, ck, 1, killed)

    @unittest.skipIf(shutil.which("h5clear") is None, "h5clear (hdf5-tools) not installed")
    def test_sigkill_during_write_3_ranks(self):
        out, ck, killed = self.kill_during_second_write(3)
        h5clear(out)
        self.restart_and_compare(out, ck, 2, killed)

    def test_sigkill_restart_without_h5clear(self):
        """The issue's case: a job killed hard is resumed from its last checkpoint, as is."""
        out, ck, killed = self.kill_during_second_write(1)
        self.restart_and_compare(out, ck, 1, killed)

    def full_disk(self, ranks):
        mnt = self.path("small")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", mnt], capture_output=True, text=True)
        if m.returncode != 0:
            self.skipTest("cannot mount a 10 MiB tmpfs (%s): full-disk case not tested"
                          % (m.stderr.strip() or "exit %d" % m.returncode))
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        # 520 x 520 fireflies: a checkpoint of ~6.5 MB (24 bytes a firefly, uncompressed), so the
        # first fits in 10 MiB and the second's temporary file, beside it, does not.
        grid = ["--width", 520, "--height", 520, "--duration", 0.05, "--sample-every", 0.01]
        out, ck = self.path("full.h5"), os.path.join(mnt, "full.ckpt")
        r = self.run_to_end(ranks, grid + ["-o", out, "--checkpoint", ck, "--checkpoint-every", 0.01],
                            expect=None, timeout=300)
        self.assertNotIn(r.returncode, (0, EXIT_CHECKPOINTED), r.describe())
        errors = [l for l in r.stderr().splitlines() if l.startswith("fireflies: error")]
        self.assertEqual(len(errors), 1, r.describe())
        self.assertIn("No space left on device", errors[0], r.describe())
        self.assertIn("full.ckpt", errors[0], r.describe())
        c = read_checkpoint_fully(ck)
        self.assertEqual(int(c["epoch"]), 1, "the previous checkpoint is not the first one")
        self.assertEqual(sorted(os.listdir(mnt)), ["full.ckpt"],
                         "files left in the full directory: %s" % os.listdir(mnt))
        print("P=%d, disk full: exit %d, %s" % (ranks, r.returncode, errors[0][:200]))
        # The previous checkpoint continues the run (checkpoints now go elsewhere).
        if ranks > 1 and shutil.which("h5clear"):
            h5clear(out)   # an MPI_Abort leaves the output open for write
        r2 = self.run_to_end(1, grid + ["-o", out, "--restart", ck], timeout=300, name="restart")
        ref = self.path("ref.h5")
        self.run_to_end(1, grid + ["-o", ref], timeout=300, name="reference")
        self.assertSameData(ref, out, ("timeseries",), r.describe() + r2.describe())
        self.assertSameTotals(ref, out, r2.describe())

    def test_full_disk(self):
        self.full_disk(1)

    def test_full_disk_3_ranks(self):
        self.full_disk(3)


if __name__ == "__main__":
    unittest.main()
