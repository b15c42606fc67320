"""Under load: 8 ranks on this 2-core machine (oversubscribed four to one) for about a minute of
wall time, events telemetry (the hub receives every flash) and every flash recorded, with a
checkpoint every few hundred simulated seconds.

The run is paced (--speed 40: at most 40 simulated seconds per wall second) so that its wall time
is about DURATION / SPEED = 60 s on any machine fast enough, and longer on a slower or busier
one (the test allows up to TIMEOUT). At its end:
  - exit code 0, status "complete", simulated_time == DURATION;
  - root attributes: invariants_hold == 1, flashes_emitted == flashes_received,
    pulses_sent == pulses_delivered + pulses_in_flight;
  - every flash reached the file: len(/flashes/t) == flashes_emitted, and the per-sample counts
    of /timeseries/flashes add up to no more than that;
  - /timeseries complete and consistent (DURATION / 0.5 + 1 samples, t strictly increasing).
"""
import time
import unittest

import h5py
import numpy as np

from faults_common import FaultTestCase, attrs, log, run

NP = 8
DURATION = 2400
SPEED = 40
TIMEOUT = 900
ARGS = ["--width", 80, "--height", 80, "--seed", 21, "--duration", DURATION, "--speed", SPEED,
        "--telemetry", "events", "--record-flashes", "--checkpoint", "ck.h5", "--checkpoint-every", 300]


class Load(FaultTestCase):

    def test_8_ranks_on_2_cores(self):
        out = self.path("load.h5")
        with open("/proc/loadavg") as f:
            before = f.read().split()[:3]
        rc, wall, job = run(NP, ARGS + ["-o", out], self.dir, timeout=TIMEOUT, name="load")
        with open("/proc/loadavg") as f:
            after = f.read().split()[:3]
        info = "exit code %s after %.1f s\n%s" % (rc, wall, job.describe())
        log("P=%d, %s simulated s at --speed %d: exit code %s after %.1f s of wall time (load average "
            "before %s, after %s)" % (NP, DURATION, SPEED, rc, wall, " ".join(before), " ".join(after)))
        self.assertIsNotNone(rc, "still running after %d s: %s" % (TIMEOUT, info))
        self.assertEqual(rc, 0, info)
        with h5py.File(out, "r") as f:
            a = attrs(f)
            self.check_totals(a, "complete", info)
            self.assertAlmostEqual(float(a["simulated_time"]), float(DURATION), places=6)
            t = self.check_series(f, info)
            self.assertEqual(len(t), int(round(DURATION / 0.5)) + 1, "samples")
            emitted = int(a["flashes_emitted"])
            self.assertEqual(len(f["flashes/t"]), emitted, "rows of /flashes != flashes_emitted")
            self.assertLessEqual(int(np.sum(f["timeseries/flashes"][()], dtype=np.int64)), emitted)
            log("flashes_emitted=%d flashes_received=%d pulses_sent=%d pulses_delivered=%d "
                "pulses_in_flight=%d invariants_hold=%d R(end)=%.3f"
                % (emitted, int(a["flashes_received"]), int(a["pulses_sent"]), int(a["pulses_delivered"]),
                   int(a["pulses_in_flight"]), int(a["invariants_hold"]), float(f["timeseries/R"][-1])))


if __name__ == "__main__":
    unittest.main(verbosity=2)
