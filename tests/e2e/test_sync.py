"""Synchrony in the output (docs/output.md, "Synchrony"): time_to_sync, /timeseries/largest_volley
and --stop-when-synced, with the real program.

- One firefly is synchronised from the start: time_to_sync = 0; with --stop-when-synced it stops
  one sample after the rule decides (t = 5 s, one period): at the epoch boundary after t = 5.5 s.
- A 12 x 12 torus started at one phase (--initial-phases) has time_to_sync = 0 at P = 1 and 3;
  started in two groups 0.6 s apart (R_state below 0.99), a later one.
- A 12 x 12 torus synchronises within a few periods: the attribute is the rule of the docs
  recomputed here from the stored R_state, the largest volley is the largest window count of
  the recorded flashes, and both are identical for P = 1, 3 and 5; with --stop-when-synced every
  P stops at the same simulated time with the same series, a prefix of the run that goes on.
- With a delay longer than the sample interval (an epoch of several samples), the stop comes at
  the end of the decided sample's epoch, the same for every P.
- The seed's grid in queue mode (30 x 30, R near 0.4) never synchronises: no time_to_sync, and
  --stop-when-synced runs its whole duration.
- A restart at another rank count, from a checkpoint written before the decision, gives the
  uninterrupted run's series and attributes; one from a checkpoint after it (written by a run
  without the option) stops at its first epoch boundary, with the same time_to_sync.
"""
import os
import sys
import unittest

import h5py
import numpy as np

from e2e_common import E2ETestCase, attrs, read_series

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from fireflies_analysis.convergence import time_to_sync  # noqa: E402  (the documented rule, in Python)

SMALL = ["--width", 12, "--height", 12, "--seed", 4, "--duration", 300]
DELAY = 0.01


def volley_from_flashes(path, window):
    """The largest volley of each sample interval, from /flashes (a brute-force count)."""
    with h5py.File(path, "r") as f:
        t = f["timeseries/t"][()]
        ft = f["flashes/t"][()]
    out = []
    for k in range(t.size):
        lo = t[k - 1] if k else -np.inf
        x = np.sort(ft[(ft > lo) & (ft <= t[k])])
        # ticks, as the program compares them: times are whole nanoseconds
        ticks = np.rint(x * 1e9).astype(np.int64)
        w = int(round(window * 1e9))
        best = 0
        for i in range(ticks.size):
            best = max(best, int(np.searchsorted(ticks, ticks[i] + w, side="left") - i))
        out.append(best)
    return np.array(out, np.int64)


class Sync(E2ETestCase):

    def test_one_firefly_is_synchronised_at_once(self):
        out = self.path("one.h5")
        _, a = self.run_ok(1, ["--width", 1, "--height", 1], out)
        self.assertEqual(float(a["time_to_sync"]), 0.0)
        self.assertEqual(int(a["stopped_when_synced"]), 0)
        stop = self.path("one-stop.h5")
        r, a = self.run_ok(1, ["--width", 1, "--height", 1, "--stop-when-synced"], stop)
        self.assertEqual(float(a["time_to_sync"]), 0.0)
        self.assertEqual(int(a["stopped_when_synced"]), 1)
        # Decided at sample 10 (t = 5 s: R_state = 1 for a whole period), stopped after sample
        # 11, at the end of its epoch.
        self.assertAlmostEqual(float(a["simulated_time"]), 5.5 + DELAY, delta=1e-8)
        self.assertEqual(int(a["samples"]), 12)
        self.assertIn("time_to_sync=0s (stopped when synced)", r.stdout)

    def test_grid_started_synchronised(self):
        # Every firefly of a 12 x 12 torus at the same phase (--initial-phases): R_state = 1 at
        # t = 0 and above 0.99 ever after (each volley's pulses arrive while refractory, the
        # reset jitter spreads it by 0.1 s), so time_to_sync = 0, at every P; the stop as for
        # one firefly. Started in two groups 0.6 s apart instead (R_state 0.93), it is not 0.
        same = self.path("same-phases.h5")
        with h5py.File(same, "w") as f:
            f["phase"] = np.full((12, 12), 2.0)
        for p in (1, 3):
            out = self.path("synchronised-np%d.h5" % p)
            r, a = self.run_ok(p, SMALL + ["--initial-phases", same, "--stop-when-synced"], out)
            self.assertEqual(float(a["time_to_sync"]), 0.0, r.describe())
            self.assertEqual(int(a["stopped_when_synced"]), 1)
            self.assertAlmostEqual(float(a["simulated_time"]), 5.5 + DELAY, delta=1e-8)
            self.assertAlmostEqual(float(read_series(out)["R_state"][0]), 1.0, delta=1e-6)
        apart = self.path("apart-phases.h5")
        with h5py.File(apart, "w") as f:
            f["phase"] = np.where(np.arange(144).reshape(12, 12) % 2 == 0, 2.0, 2.6)
        out = self.path("apart.h5")
        _, a = self.run_ok(1, SMALL + ["--initial-phases", apart], out)
        s = read_series(out)
        self.assertLess(float(s["R_state"][0]), 0.99)
        self.assertEqual(float(a["time_to_sync"]),
                         time_to_sync(s["R_state"], sample_every=0.5, period=5.0, threshold=0.99))
        self.assertGreater(float(a["time_to_sync"]), 0.0)

    def test_small_grid_across_ranks(self):
        runs = {}
        for p in (1, 3, 5):
            out = self.path("small-np%d.h5" % p)
            self.run_ok(p, SMALL + ["--record-flashes", "--volley-window", 0.1], out)
            runs[p] = out
        a = attrs(runs[1])
        s = read_series(runs[1])
        tts = time_to_sync(s["R_state"], sample_every=0.5, period=5.0, threshold=0.99)
        self.assertIsNotNone(tts, "the test grid must synchronise")
        self.assertEqual(float(a["time_to_sync"]), tts, "the attribute is the documented rule")
        self.assertTrue(0 < tts < 250, tts)
        np.testing.assert_array_equal(s["largest_volley"], volley_from_flashes(runs[1], 0.1))
        self.assertGreater(int(s["largest_volley"][-20:].max()), 0.9 * 144,
                           "synchronised: nearly every firefly in one volley")
        with h5py.File(runs[1], "r") as f:
            d = f["timeseries/largest_volley"]
            self.assertEqual(d.attrs["units"], b"flashes" if isinstance(d.attrs["units"], bytes) else "flashes")
            self.assertEqual(float(d.attrs["volley_window"]), 0.1)
            self.assertIn("largest volley", str(d.attrs["long_name"]))
        for p in (3, 5):
            with self.subTest(np=p):
                self.assertSeriesEqual(runs[1], runs[p])

        # --stop-when-synced: the same stop for every P, the series a prefix of the full run.
        stops = {}
        for p in (1, 3, 5):
            out = self.path("stop-np%d.h5" % p)
            _, b = self.run_ok(p, SMALL + ["--stop-when-synced", "--volley-window", 0.1], out)
            stops[p] = (out, b)
        out1, b1 = stops[1]
        self.assertEqual(int(b1["stopped_when_synced"]), 1)
        self.assertEqual(float(b1["time_to_sync"]), tts)
        n = int(b1["samples"])
        span = 10  # a period of 0.5 s samples
        self.assertEqual(n, int(round(tts / 0.5)) + span + 2, "stopped one sample after the decision")
        self.assertLess(float(b1["simulated_time"]), 300)
        self.assertAlmostEqual(float(b1["simulated_time"]), (n - 1) * 0.5 + DELAY, delta=1e-8)
        self.assertSeriesEqual(runs[1], out1, prefix=True)
        for p in (3, 5):
            with self.subTest(stop_np=p):
                out, b = stops[p]
                self.assertSeriesEqual(out1, out)
                for key in ("simulated_time", "samples", "stopped_when_synced", "flashes_emitted"):
                    self.assertEqual(b[key], b1[key], key)

    def test_stop_with_a_delay_longer_than_a_sample(self):
        # An epoch (the delay, 2 s) holds four samples: the workers stop at the boundary after
        # the sample the rule names, so the series ends with the last sample of that epoch. An
        # inhibitory grid with dissipation that synchronises: 8 x 8, time_to_sync 248.5 s.
        grid = ["--width", 8, "--height", 8, "--delay", 2.0, "--nudge=-0.2", "--prc-dissipation", 2,
                "--jitter", 0.01, "--duration", 400]
        full = self.path("long-delay.h5")
        _, a = self.run_ok(1, grid, full)
        tts = float(a["time_to_sync"])
        self.assertEqual(tts, 248.5)
        decided = int(round(tts / 0.5)) + 10 + 1   # the sample the rule names (as above)
        epoch_end = (decided * 0.5 // 2.0 + 1) * 2.0
        for p in (1, 3):
            with self.subTest(np=p):
                out = self.path("long-delay-stop-np%d.h5" % p)
                _, b = self.run_ok(p, grid + ["--stop-when-synced"], out)
                self.assertEqual(int(b["stopped_when_synced"]), 1)
                self.assertEqual(float(b["time_to_sync"]), tts)
                self.assertAlmostEqual(float(b["simulated_time"]), epoch_end, delta=1e-8)
                self.assertEqual(int(b["samples"]), int(epoch_end / 0.5), "every sample of the epoch")
                self.assertGreater(int(b["samples"]), decided + 1, "more than one sample after")
                self.assertSeriesEqual(full, out, prefix=True)

    def test_queue_mode_never_synchronises(self):
        out = self.path("queue.h5")
        r, a = self.run_ok(3, ["--refractory-mode", "queue", "--stop-when-synced"], out)
        self.assertNotIn("time_to_sync", a)
        self.assertEqual(int(a["stopped_when_synced"]), 0)
        self.assertEqual(float(a["simulated_time"]), 300.0)
        self.assertIn("time_to_sync=none", r.stdout)
        R = read_series(out)["R"]
        self.assertTrue(0.25 < R[-1] < 0.55, R[-1])

    def test_restart_at_another_rank_count(self):
        ref = self.path("ref.h5")
        _, ra = self.run_ok(1, SMALL + ["--stop-when-synced"], ref)
        tts = float(ra["time_to_sync"])
        # Before the decision: a first segment of 60 s with periodic checkpoints (the last at
        # about 50 s), continued at 3 and at 5 ranks with the option.
        for first, second in ((3, 5), (5, 2)):
            with self.subTest(first=first, second=second):
                out, ck = self.path("seg-%d-%d.h5" % (first, second)), self.path("seg-%d-%d.ckpt" % (first, second))
                self.run_ok(first, SMALL[:-1] + [60, "--checkpoint", ck, "--checkpoint-every", 25], out)
                _, b = self.run_ok(second, SMALL + ["--stop-when-synced", "--restart", ck], out)
                self.assertEqual(int(b["segments"]), 2)
                self.assertSeriesEqual(ref, out)
                for key in ("time_to_sync", "simulated_time", "samples", "stopped_when_synced", "flashes_emitted"):
                    self.assertEqual(b[key], ra[key], key)
        # After the decision, from a run without the option: the restart stops at once.
        out, ck = self.path("late.h5"), self.path("late.ckpt")
        self.run_ok(3, SMALL[:-1] + [tts + 40, "--checkpoint", ck, "--checkpoint-every", tts + 20], out)
        with h5py.File(ck, "r") as f:
            at = int(f.attrs["epoch"]) * DELAY
        _, c = self.run_ok(1, SMALL + ["--stop-when-synced", "--restart", ck], out)
        self.assertEqual(float(c["time_to_sync"]), tts)
        self.assertEqual(int(c["stopped_when_synced"]), 1)
        self.assertAlmostEqual(float(c["simulated_time"]), at + DELAY, delta=1e-6,
                               msg="one epoch after the checkpoint")


if __name__ == "__main__":
    unittest.main(verbosity=2)
