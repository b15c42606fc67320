"""--record-region X0,Y0,W,H: the flashes of a rectangle of the grid, bitwise.

For P = 1, 3 and 5 (the region crosses block boundaries at 3 and 5), three runs of one setting:
  - the whole grid recorded (--record-flashes);
  - the region recorded in events telemetry (the hub filters what it receives);
  - the region recorded in summary telemetry (the workers send the hub only the region's flashes).
Each region recording's /flashes/t and /flashes/agent equal, byte for byte, the whole-grid
recording's flashes of the fireflies in the rectangle (same order); /flashes@region holds the
rectangle (and the banner names it); the time series are the same as the whole-grid run's (events) and R_state the same
(summary); and every P gives the same bytes as P = 1.
A region recorded in summary telemetry, checkpointed at P = 3 and restarted at P = 5, holds the
same flashes as the uninterrupted run; a restart with another region is refused.
"""
import unittest

import h5py
import numpy as np

from e2e_common import E2ETestCase, read_series, run

W, H = 30, 24
REGION = (7, 5, 11, 9)  # x0, y0, width, height
BASE = ["--width", W, "--height", H, "--seed", 11, "--record-flashes"]
ARGS = BASE + ["--duration", 20]
REGION_ARG = ["--record-region", ",".join(map(str, REGION))]


def flashes(path):
    with h5py.File(path, "r") as f:
        g = f["flashes"]
        region = tuple(int(v) for v in g.attrs["region"]) if "region" in g.attrs else None
        return g["t"][()], g["agent"][()], region


def in_region(agent):
    x, y = agent % W, agent // W
    x0, y0, w, h = REGION
    return (x >= x0) & (x < x0 + w) & (y >= y0) & (y < y0 + h)


class RecordRegion(E2ETestCase):
    def test_region_is_the_whole_recording_filtered(self):
        reference = None
        for ranks in (1, 3, 5):
            whole = self.path("whole%d.h5" % ranks)
            events = self.path("events%d.h5" % ranks)
            summary = self.path("summary%d.h5" % ranks)
            self.run_ok(ranks, ARGS, whole)
            self.run_ok(ranks, ARGS + REGION_ARG + ["--telemetry", "events"], events)
            r, _ = self.run_ok(ranks, ARGS + REGION_ARG + ["--telemetry", "summary"], summary)
            self.assertIn("flashes   recorded in --record-region: columns [7, 18), rows [5, 14)", r.stdout)
            t, agent, region = flashes(whole)
            self.assertIsNone(region, "a whole-grid recording has no region attribute")
            keep = in_region(agent)
            self.assertGreater(int(keep.sum()), 200, "the region must hold flashes to compare")
            self.assertLess(int(keep.sum()), agent.size)
            for path in (events, summary):
                rt, ragent, region = flashes(path)
                self.assertEqual(region, REGION, path)
                self.assertEqual(rt.tobytes(), t[keep].tobytes(), "P = %d %s: flash times" % (ranks, path))
                self.assertEqual(ragent.tobytes(), agent[keep].tobytes(), "P = %d %s: fireflies" % (ranks, path))
            whole_series, event_series = read_series(whole), read_series(events)
            for name, values in whole_series.items():
                self.assertEqual(values.tobytes(), event_series[name].tobytes(), "P = %d /timeseries/%s" % (ranks, name))
            self.assertEqual(whole_series["R_state"].tobytes(), read_series(summary)["R_state"].tobytes())
            got = flashes(summary)[:2]
            if reference is None:
                reference = got
            for a, b in zip(reference, got):
                self.assertEqual(a.tobytes(), b.tobytes(), "P = %d differs from P = 1" % ranks)

    def test_restart_continues_the_region(self):
        args = ARGS + REGION_ARG + ["--telemetry", "summary"]
        whole = self.path("whole.h5")
        self.run_ok(3, args, whole)
        out, ckpt = self.path("out.h5"), self.path("run.ckpt")
        first = ["--duration", 10, "--checkpoint", ckpt, "--checkpoint-every", 5]
        self.run_ok(3, BASE + REGION_ARG + ["--telemetry", "summary"] + first, out)
        self.run_ok(5, args + ["--restart", ckpt], out)
        for a, b in zip(flashes(whole), flashes(out)):
            self.assertEqual(np.asarray(a).tobytes(), np.asarray(b).tobytes(), "restart P = 3 -> 5")
        refused = run(1, ARGS + ["--record-region", "0,0,4,4", "--telemetry", "summary", "--restart", ckpt,
                                 "-o", out], self.dir)
        self.assertEqual(refused.returncode, 2, refused.describe())
        self.assertIn("record-region", refused.stderr)


if __name__ == "__main__":
    unittest.main()
