#!/usr/bin/python3
"""efficiency_model: scripts/efficiency_model.py's critical path on hand-made cases whose answer
is worked out here by hand (written out, not computed by the script's own code), and
`fireflies --record-epochs`: the counts it writes sum to the run's totals, for one process and
for two workers, and recording changes nothing in the time series.

    test_efficiency_model.py --model scripts/efficiency_model.py [--binary BIN --mpirun MPIRUN]

Without --binary only the hand-made cases run."""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

ARGS = None


def load_model(path):
    spec = importlib.util.spec_from_file_location("efficiency_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CriticalPath(unittest.TestCase):
    def setUp(self):
        self.m = load_model(ARGS.model)

    def test_balanced_work_is_efficiency_one(self):
        nb = self.m.torus_neighbours(2, 2)
        work = np.ones((4, 10))
        self.assertEqual(self.m.efficiency(work, nb), 1.0)
        self.assertEqual(self.m.efficiency(work, nb, halo=3, consensus_lag=4), 1.0)
        np.testing.assert_array_equal(self.m.finish_times(work, nb)[:, -1], [10, 10, 10, 10])

    def test_one_slow_block_delays_its_neighbours_one_ring_per_epoch(self):
        # A ring of 5 blocks (5 x 1 on the torus: neighbours left and right); block 2 takes 2 in
        # epoch 0. Epoch 1 of blocks 1 and 3 waits for it; epoch 2 of blocks 0 and 4 waits for
        # those.
        nb = self.m.torus_neighbours(5, 1)
        work = np.ones((5, 4))
        work[2, 0] = 2
        fin = self.m.finish_times(work, nb)
        np.testing.assert_array_equal(fin[:, 0], [1, 1, 2, 1, 1])
        np.testing.assert_array_equal(fin[:, 1], [2, 3, 3, 3, 2])
        np.testing.assert_array_equal(fin[:, 2], [4, 4, 4, 4, 4])
        np.testing.assert_array_equal(fin[:, 3], [5, 5, 5, 5, 5])
        self.assertAlmostEqual(self.m.efficiency(work, nb), (4 * 4 + 5) / 5 / 5)

    def test_a_deeper_halo_lets_imbalance_average_out(self):
        # Block 0 slow in epoch 0, block 1 (its neighbour) in epoch 1. Today's scheme (h = 1)
        # chains the two delays; with h = 2 each block waits for its neighbours' epoch e - 2.
        nb = self.m.torus_neighbours(5, 1)
        work = np.ones((5, 3))
        work[0, 0] = 2
        work[1, 1] = 2
        today = self.m.finish_times(work, nb, halo=1)
        np.testing.assert_array_equal(today[:, 1], [3, 4, 2, 2, 3])
        np.testing.assert_array_equal(today[:, 2], [5, 5, 5, 4, 4])
        relaxed = self.m.finish_times(work, nb, halo=2)
        np.testing.assert_array_equal(relaxed[:, 1], [3, 3, 2, 2, 2])
        np.testing.assert_array_equal(relaxed[:, 2], [4, 4, 3, 3, 3])
        self.assertAlmostEqual(self.m.efficiency(work, nb, halo=1), 17 / 5 / 5)
        self.assertAlmostEqual(self.m.efficiency(work, nb, halo=2), 17 / 5 / 4)

    def test_latency_is_paid_per_hop_and_the_consensus_binds_every_block(self):
        nb = self.m.torus_neighbours(3, 1)
        work = np.ones((3, 2))
        np.testing.assert_array_equal(self.m.finish_times(work, nb, latency=0.5)[:, 1], [2.5, 2.5, 2.5])
        # Two blocks that do not touch (a 1 x 1 torus each: only themselves as neighbours), with
        # the consensus one epoch behind: a barrier at every boundary.
        alone = np.array([[0] * 8, [1] * 8])
        work = np.array([[2.0, 1.0], [1.0, 2.0]])
        np.testing.assert_array_equal(self.m.finish_times(work, alone)[:, 1], [3, 3])
        np.testing.assert_array_equal(self.m.finish_times(work, alone, consensus_lag=1)[:, 1], [3, 4])
        self.assertEqual(self.m.consensus_lag(15), 6)
        self.assertEqual(self.m.consensus_lag(1023), 12)

    def test_neighbours_and_ghost_work(self):
        nb = self.m.torus_neighbours(3, 3)
        self.assertEqual(sorted(nb[4]), [0, 1, 2, 3, 5, 6, 7, 8])
        self.assertEqual(sorted(nb[0]), [1, 2, 3, 4, 5, 6, 7, 8])
        self.assertEqual(list(self.m.torus_neighbours(2, 1)[0]), [1] + [0] * 7)
        self.assertEqual(self.m.ghost_factor(10, 10, 1, 3, 3), 1.0)
        self.assertAlmostEqual(self.m.ghost_factor(10, 10, 2, 3, 3), 1.44)
        self.assertAlmostEqual(self.m.ghost_factor(10, 10, 3, 1, 15), 1.4)
        self.assertEqual(self.m.aligned_grid(2000, 2000, 15), (5, 3))
        self.assertEqual(self.m.squarest(63), (9, 7))

    def test_synthetic_blocks_keep_the_common_work(self):
        rng = np.random.default_rng(1)
        same = np.tile(np.arange(6.0), (4, 1))
        np.testing.assert_array_equal(self.m.synthesize(same, 7, rng), np.tile(np.arange(6.0), (7, 1)))
        varied = rng.random((4, 50))
        syn = self.m.synthesize(varied, 1000, rng)
        self.assertEqual(syn.shape, (1000, 50))
        self.assertTrue((syn >= 0).all())
        # Deviations come from the sample's: none larger than the sample's largest.
        dev = varied - varied.mean(axis=0)
        self.assertLessEqual((syn - varied.mean(axis=0)).max(), dev.max() + 1e-12)


class Recording(unittest.TestCase):
    def run_fireflies(self, ranks, out, *extra):
        if not ARGS.binary:
            self.skipTest("no --binary")
        cmd = ([ARGS.mpirun, "-np", str(ranks), "--oversubscribe"] if ranks > 1 else []) + [
            ARGS.binary, "--width", "30", "--height", "20", "--duration", "3", "--telemetry", "summary",
            "--output", out, "--force", *extra]
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def check(self, ranks):
        with tempfile.TemporaryDirectory() as d:
            rec, plain = os.path.join(d, "rec.h5"), os.path.join(d, "plain.h5")
            self.run_fireflies(ranks, rec, "--record-epochs")
            self.run_fireflies(ranks, plain)
            with h5py.File(rec, "r") as f, h5py.File(plain, "r") as g:
                workers = max(1, ranks - 1)
                epochs = f["perf/epochs"][()][-workers:]
                flashes = f["perf/epoch_flashes"][()]
                pulses = f["perf/epoch_pulses"][()]
                self.assertEqual(flashes.shape, (workers, epochs[0]))
                for name in ("arrivals", "visits"):
                    self.assertEqual(f["perf/epoch_" + name].shape, flashes.shape)
                    self.assertGreater(f["perf/epoch_" + name][()].sum(), 0)
                self.assertTrue((epochs == epochs[0]).all())
                self.assertEqual(int(flashes.sum()), int(f.attrs["flashes_emitted"]))
                self.assertEqual(int(pulses.sum()), int(f.attrs["pulses_delivered"]))
                self.assertGreater(int(flashes.sum()), 0)
                self.assertEqual(int(f["perf/epoch_flashes"].attrs["first_epoch"]), 0)
                self.assertNotIn("epoch_flashes", g["perf"])
                for name in f["timeseries"]:
                    np.testing.assert_array_equal(f["timeseries"][name][()], g["timeseries"][name][()])
                # Every flash but the last epoch's is delivered in the next epoch, by its block
                # and by each neighbour block it borders (so at least as many as flashes).
                self.assertGreaterEqual(int(f["perf/epoch_arrivals"][()].sum()),
                                        int(flashes[:, :-1].sum()))

    def test_one_process(self):
        self.check(1)

    def test_two_workers(self):
        self.check(3)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--binary")
    ap.add_argument("--mpirun", default="mpirun")
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
