"""The coupling is real: what docs/model.md says the model does, the program does.

- drop mode (the default) synchronises a 30 x 30 torus: R > 0.99 at t = 300 s;
- queue mode does not: R stays near 0.4;
- --partitioned: each block (an island, pulses never cross its boundary) synchronises on its
  own, while the whole grid does not.
"""
import unittest

import h5py
import numpy as np

from e2e_common import E2ETestCase

SEEDS = (1, 2, 3, 4, 5)


def final(path, name="timeseries/R"):
    with h5py.File(path, "r") as f:
        return float(f["timeseries/t"][-1]), f[name][-1]


class Drop(E2ETestCase):

    def synchronised(self, np_, seeds):
        finals = {}
        for seed in seeds:
            out = self.path("drop-np%d-seed%d.h5" % (np_, seed))
            self.run_ok(np_, ["--seed", seed], out)  # 30 x 30, 300 s: the defaults
            t, R = final(out)
            self.assertEqual(t, 300.0, out)
            finals[seed] = float(R)
        return finals

    def test_drop_synchronises_np1(self):
        finals = self.synchronised(1, SEEDS)
        self.assertGreaterEqual(sum(R > 0.99 for R in finals.values()), 4,
                                "R(t=300 s) per seed at P=1: %r" % finals)

    def test_drop_synchronises_np3(self):
        finals = self.synchronised(3, SEEDS)
        self.assertGreaterEqual(sum(R > 0.99 for R in finals.values()), 4,
                                "R(t=300 s) per seed at P=3: %r" % finals)

    def test_drop_synchronises_np8(self):
        finals = self.synchronised(8, (1,))
        self.assertGreater(finals[1], 0.99, "R(t=300 s) at P=8, seed 1: %r" % finals)


class Queue(E2ETestCase):

    def test_queue_stays_near_0_4(self):
        finals = {}
        for np_, seed in [(1, s) for s in SEEDS] + [(3, 1)]:
            out = self.path("queue-np%d-seed%d.h5" % (np_, seed))
            self.run_ok(np_, ["--seed", seed, "--refractory-mode", "queue"], out)
            t, R = final(out)
            self.assertEqual(t, 300.0, out)
            finals[(np_, seed)] = float(R)
        for key, R in finals.items():
            with self.subTest(np_seed=key):
                self.assertTrue(0.25 <= R <= 0.55, "queue mode R(t=300 s) = %r (P, seed = %r); "
                                "all: %r" % (R, key, finals))


class Partitioned(E2ETestCase):
    """P = 5: 4 workers, process grid 2 x 2, four 15 x 15 islands of the 30 x 30 torus.

    Why 1200 s and not the default 300 s: an island has open edges (the torus wrap-around of the
    whole grid is cut too), and a 15 x 15 lattice with open edges synchronises much more slowly
    than the 30 x 30 torus. At 300 s only about half of the islands have R_state > 0.95, both in
    this program (17 of 32 blocks over seeds 1..8) and in an independent event-driven reference
    of the same rules written for this check (6 of 12 15 x 15 open patches), so that is the
    model, not a bug. By 1200 s every block of seeds 1..8 has R_state > 0.999, while the whole
    grid's R_state stays below 0.9 for 7 of the 8 seeds (seed 3: 0.918, its four islands happen
    to lock nearly in phase). So: assert on the majority of seeds 1..5 at 1200 s.
    """

    DURATION = 1200

    def test_blocks_synchronise_grid_does_not(self):
        verdicts = {}
        for seed in SEEDS:
            out = self.path("part-seed%d.h5" % seed)
            _, a = self.run_ok(5, ["--partitioned", "--seed", seed, "--duration", self.DURATION],
                               out)
            self.assertEqual(int(a["workers"]), 4)
            self.assertEqual(int(a["partitioned"]), 1)
            with h5py.File(out, "r") as f:
                t = f["timeseries/t"][()]
                blocks_R = f["blocks/R"][()]
                blocks_Rs = f["blocks/R_state"][()]
                whole_Rs = float(f["timeseries/R_state"][-1])
                geometry = f["blocks/geometry"][()]
            # The block series are [time, block], one column per worker, as long as /timeseries.
            self.assertEqual(blocks_R.shape, (len(t), 4), out)
            self.assertEqual(blocks_Rs.shape, (len(t), 4), out)
            self.assertEqual(geometry.shape, (4, 4), out)
            self.assertEqual(int(np.sum(geometry[:, 2] * geometry[:, 3])), 900, out)
            self.assertEqual(float(t[-1]), float(self.DURATION), out)
            block_min = float(blocks_Rs[-1].min())
            verdicts[seed] = (block_min > 0.95 and float(blocks_R[-1].min()) > 0.95
                              and whole_Rs < 0.9 and whole_Rs < block_min,
                              np.round(blocks_Rs[-1], 4).tolist(), round(whole_Rs, 4))
        good = sum(v[0] for v in verdicts.values())
        self.assertGreaterEqual(good, 4, "per seed: (ok, final block R_state, final grid "
                                "R_state): %r" % verdicts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
