"""Same seed, same run, for every number of ranks.

The /timeseries datasets (t, R, R_state, flashes, pulse, largest_volley) and the time_to_sync
attribute must be bitwise identical for
P = 1, 2, 3, 5, 8 (8 is oversubscribed on a small machine): the model draws every random number
from a counter-based generator keyed by (seed, agent, draw), and the hub's reductions are
order-independent (docs/model.md, "Randomness" and
"Convergence: the order parameters").
"""
import os
import unittest

import h5py
import numpy as np

from e2e_common import MPIEXEC_1, E2ETestCase, processes

RANKS = (1, 2, 3, 5, 8)


class Identity(E2ETestCase):

    def across_ranks(self, tag, args, ranks=RANKS, reference=None, skip=()):
        """Runs `args` at each P of `ranks`, each file against the first (or `reference`),
        leaving out the series in `skip`."""
        files = []
        for p in ranks:
            out = self.path("%s-np%s.h5" % (tag, str(p).replace(" ", "")))
            _, a = self.run_ok(p, args, out)
            self.assertEqual(int(a["mpi_size"]), processes(p))
            files.append(out)
        first = reference or files[0]
        for p, f in zip(ranks, files):
            if f != first:
                with self.subTest(case=tag, np=p):
                    self.assertSeriesEqual(first, f, skip=skip)
        return files

    def test_auto_telemetry(self):
        """--telemetry auto (the default) picks summary where the hub could not absorb every
        flash (here: a 0.1 s period, about 4e8 flash events per wall second from 2 workers),
        says so in the banner and the file, and the series are those of events telemetry."""
        model = ["--width", 24, "--height", 18, "--duration", 3, "--period", 0.1, "--nudge", 0.01,
                 "--jitter", 0.01, "--delay", 0.001, "--sample-every", 0.05]
        auto = self.path("auto-np3.h5")
        r, a = self.run_ok(3, model, auto)
        self.assertEqual(a["telemetry"], "summary", r.describe())
        self.assertIn("telemetry summary (auto: ", r.stdout, r.describe())
        self.assertIn('telemetry = "summary"', a["config"])
        events = self.path("events-np1.h5")
        _, e = self.run_ok(1, model + ["--telemetry", "events"], events)
        self.assertEqual(e["telemetry"], "events")
        # (but the largest volley, which needs the flashes: -1 in summary telemetry)
        self.assertSeriesEqual(events, auto, skip=("largest_volley",))

    def test_square_grid(self):
        # 30 x 30: 7 workers at P = 8 do not divide 30 either.
        files = self.across_ranks("30x30", ["--width", 30, "--height", 30, "--duration", 60,
                                            "--seed", 7])
        # mpiexec -n 1 (hub and worker in one process under MPI) is the same run too.
        self.across_ranks("30x30-mpiexec1", ["--width", 30, "--height", 30, "--duration", 60,
                                             "--seed", 7], ranks=(MPIEXEC_1,), reference=files[0])

    def test_grid_not_divisible(self):
        # 37 x 23: prime sides, so no process grid divides them evenly.
        self.across_ranks("37x23", ["--width", 37, "--height", 23, "--duration", 60,
                                    "--seed", 11])

    def test_queue_mode(self):
        self.across_ranks("queue", ["--width", 37, "--height", 23, "--duration", 60,
                                    "--seed", 3, "--refractory-mode", "queue"])

    def test_prc_dissipation(self):
        # --prc-dissipation: every pulse rounds a double to a tick, the same on every rank.
        self.across_ranks("dissipation", ["--width", 37, "--height", 23, "--duration", 60,
                                          "--seed", 3, "--prc-dissipation", 2.5])
        # Inhibitory pulses (phase floored at 0, back into the refractory period) in queue mode.
        self.across_ranks("inhibitory", ["--width", 37, "--height", 23, "--duration", 60,
                                         "--seed", 4, "--prc-dissipation", 1, "--nudge", -0.1,
                                         "--refractory-mode", "queue"])

    def test_period_spread(self):
        # Each firefly's own period, drawn from its id: the same on every rank.
        self.across_ranks("spread-normal", ["--width", 37, "--height", 23, "--duration", 60,
                                            "--seed", 5, "--period-spread", 0.2])
        self.across_ranks("spread-uniform", ["--width", 37, "--height", 23, "--duration", 60,
                                             "--seed", 6, "--period-spread", 0.5,
                                             "--period-distribution", "uniform",
                                             "--prc-dissipation", 2, "--refractory-mode", "queue"])

    def test_open_boundary(self):
        self.across_ranks("open", ["--width", 37, "--height", 23, "--duration", 60, "--seed", 7,
                                   "--boundary", "open"])

    def test_neighbourhood_radius(self):
        # Radius 2 and 3: on 37 x 23 at P = 8 (7 workers, blocks 5 to 6 cells wide, one band)
        # and P = 5 the halo reaches past the next block, whose flashes come from further ranks.
        self.across_ranks("moore-r3", ["--width", 37, "--height", 23, "--duration", 60, "--seed", 8,
                                       "--radius", 3, "--nudge", 0.05])
        self.across_ranks("von-neumann-r2-open", ["--width", 37, "--height", 23, "--duration", 60,
                                                  "--seed", 9, "--neighbourhood", "von-neumann",
                                                  "--radius", 2, "--boundary", "open",
                                                  "--refractory-mode", "queue"])
        # A grid of blocks 1 to 2 cells wide with a radius of 4: every worker hears most others.
        self.across_ranks("narrow-blocks", ["--width", 9, "--height", 8, "--duration", 60, "--seed", 10,
                                            "--radius", 4, "--neighbourhood", "von-neumann",
                                            "--nudge", 0.02])
        # A pacemaker whose pulses reach 3 cells, across ranks whose blocks are narrower.
        self.across_ranks("pacemaker-moore-r3", ["--width", 37, "--height", 23, "--duration", 60, "--seed", 11,
                                                 "--radius", 3, "--nudge", 0.05, "--pacemaker", "18,11,4.5"])

    def test_all_to_all(self):
        # Mirollo & Strogatz's swarm: every firefly coupled to every other, B = 3; and the
        # lattice's queue mode.
        self.across_ranks("all-to-all", ["--width", 37, "--height", 23, "--duration", 30, "--seed", 7,
                                         "--coupling", "all-to-all", "--nudge", 0.0002, "--prc-dissipation", 3])
        self.across_ranks("all-to-all-queue", ["--width", 20, "--height", 15, "--duration", 30, "--seed", 3,
                                               "--coupling", "all-to-all", "--nudge", 0.001,
                                               "--refractory-mode", "queue"])

    def test_pacemakers(self):
        # Two LEDs, one faster than the swarm, one on the run's period; and one driving an
        # all-to-all swarm.
        self.across_ranks("pacemaker", ["--width", 37, "--height", 23, "--duration", 60, "--seed", 7,
                                        "--pacemaker", "18,11,4.5", "--pacemaker", "0,0"])
        self.across_ranks("pacemaker-all-to-all", ["--width", 20, "--height", 15, "--duration", 30, "--seed", 3,
                                                   "--coupling", "all-to-all", "--nudge", 0.0005,
                                                   "--pacemaker", "7,7,4.8"], ranks=(1, 3, 8))

    def test_all_to_all_is_the_lattice_on_3x3(self):
        """On a 3 x 3 torus every cell is a Moore neighbour of every other: --coupling all-to-all
        and the lattice are the same model, and give the same /timeseries, /flashes and
        snapshots, bit for bit, at any P."""
        args = ["--width", 3, "--height", 3, "--duration", 80, "--seed", 4, "--record-flashes",
                "--snapshot-every", 1, "--nudge", 0.3]
        for mode in ("drop", "queue"):
            lattice = self.across_ranks("3x3-lattice-" + mode, args + ["--refractory-mode", mode], ranks=(1,))
            files = self.across_ranks("3x3-all-to-all-" + mode, args + ["--refractory-mode", mode,
                                                                        "--coupling", "all-to-all"],
                                      ranks=(1, 3, 5), reference=lattice[0])
            with h5py.File(lattice[0], "r") as a:
                self.assertGreater(len(a["flashes/t"]), 100)
                for f in files:
                    with h5py.File(f, "r") as b:
                        for name in ("flashes/t", "flashes/agent", "snapshots/phase"):
                            self.assertEqual(a[name][()].tobytes(), b[name][()].tobytes(), "%s of %s" % (name, f))

    def test_telemetry_summary_equals_events(self):
        args = ["--width", 37, "--height", 23, "--duration", 60, "--seed", 5]
        events = self.across_ranks("events", args + ["--telemetry", "events"], ranks=(1, 3))
        # Summary telemetry sends the hub no flashes: its largest_volley is -1 throughout.
        summary = self.across_ranks("summary", args + ["--telemetry", "summary"], ranks=(1, 3, 8),
                                    reference=events[0], skip=("largest_volley",))
        for f in summary:
            with h5py.File(f, "r") as h:
                self.assertTrue(np.all(h["timeseries/largest_volley"][()] == -1), f)

    def test_flat_engine_equals_coroutines(self):
        # --help: "same results" for --engine flat.
        args = ["--width", 30, "--height", 30, "--duration", 60, "--seed", 2]
        ref = self.across_ranks("coroutine", args, ranks=(1,))
        self.across_ranks("flat", args + ["--engine", "flat"], ranks=(1, 3), reference=ref[0])

    def test_reports_without_single_copy(self):
        # Open MPI's shared memory without single copy (as between nodes over TCP, or where the
        # kernel refuses cross-process reads) moves a large report only as its sender reaches
        # MPI calls, so the hub receives several reports at once, from each worker, completing
        # out of order. A report every epoch (--sample-every = --delay), ~24 KB each, and every
        # flash recorded: the same series and the same flashes as P = 1.
        args = ["--width", 1000, "--height", 1000, "--duration", 2, "--sample-every", 0.01,
                "--seed", 9, "--record-flashes"]
        ref = self.across_ranks("shm", args, ranks=(1,))
        os.environ["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        self.addCleanup(os.environ.pop, "OMPI_MCA_btl_vader_single_copy_mechanism", None)
        files = self.across_ranks("no-single-copy", args, ranks=(3, 5), reference=ref[0])
        with h5py.File(ref[0], "r") as a:
            for f in files:
                with h5py.File(f, "r") as b, self.subTest(file=f):
                    for name in ("t", "agent"):
                        self.assertTrue(np.array_equal(a["flashes/" + name][()], b["flashes/" + name][()]),
                                        "/flashes/%s differs: %s vs %s" % (name, ref[0], f))


if __name__ == "__main__":
    unittest.main(verbosity=2)
