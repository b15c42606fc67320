"""The real program against the independent Python reference (fireflies_ref.py).

Exact agreement: every flash (time in ticks, firefly) of small runs is the reference's, for each
model family the reference implements, in both refractory modes, at P = 1 and at P = 3. The
order parameters R and R_state of every sample agree to 1e-6 (the program sums fixed-point
phasors, the reference floating-point ones). Differential statistics over seeds: the flash
counts and the final R of the program and the reference agree seed by seed (with a period
spread R_state too: each phase on its own period's circle). The synchrony measures: the
program's time_to_sync and /timeseries/largest_volley are the reference's, worked out from its own
R_state and flashes with the rule of docs/output.md.

Run through ctest (label `reference`), or
  FIREFLIES_BIN=build/release/src/fireflies /usr/bin/python3 tests/reference/test_reference.py -v
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import fireflies_ref as ref  # noqa: E402
from launch import command  # noqa: E402


class AgainstReference(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fireflies-ref-")

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEP"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def program(self, cfg, ranks=1, extra=()):
        """Runs fireflies on `cfg`; returns the flashes [(tick, id)] and the series."""
        out = os.path.join(self.dir, "run-%d.h5" % len(os.listdir(self.dir)))
        extra = list(extra)
        if cfg.initial_phases is not None:
            # The start phases as a [height, width] dataset /phase in seconds (exact: a tick
            # count below 2^53 divided by 1e9 rounds back to itself).
            phases = os.path.join(self.dir, "phases-%d.h5" % len(os.listdir(self.dir)))
            with h5py.File(phases, "w") as f:
                f["phase"] = (np.array(cfg.initial_phases, dtype=np.float64) / 1e9).reshape(cfg.height, cfg.width)
            extra += ["--initial-phases", phases]
        argv = command(ranks, cfg.args() + ["--record-flashes", "-o", out] + extra)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, "%s\n%s%s" % (" ".join(argv), p.stdout, p.stderr))
        with h5py.File(out, "r") as f:
            t = f["flashes/t"][()]
            agent = f["flashes/agent"][()]
            series = {k: f["timeseries/" + k][()] for k in ("t", "R", "R_state", "flashes", "largest_volley")}
            tts = f.attrs.get("time_to_sync")
            series["time_to_sync"] = None if tts is None else float(tts)
        ticks = np.rint(t * 1e9).astype(np.int64)
        return list(zip(ticks.tolist(), agent.tolist())), series

    def check_exact(self, cfg, ranks=(1, 3), extra=()):
        flashes, samples = ref.run(cfg)
        expected = ref.order_parameters(samples, cfg.period)
        self.assertGreater(len(flashes), 0)
        for p in ranks:
            with self.subTest(np=p, **{k: v for k, v in vars(cfg).items()}):
                got, series = self.program(cfg, p, extra)
                if got != flashes:
                    first = next((k for k, (a, b) in enumerate(zip(got, flashes)) if a != b),
                                 min(len(got), len(flashes)))
                    self.fail("flash %d differs: program %s, reference %s (%d vs %d flashes)"
                              % (first, got[first:first + 3], flashes[first:first + 3], len(got),
                                 len(flashes)))
                self.assertEqual(len(series["t"]), len(expected))
                for k, (ts, R, Rs) in enumerate(expected):
                    self.assertAlmostEqual(series["t"][k], ts / 1e9, places=9)
                    self.assertAlmostEqual(series["R"][k], R, delta=1e-6, msg="R of sample %d" % k)
                    self.assertAlmostEqual(series["R_state"][k], Rs, delta=1e-6,
                                           msg="R_state of sample %d" % k)
        return flashes, expected

    # -- the default model --------------------------------------------------------------------

    def test_default_model_small_grids(self):
        for mode in ("drop", "queue"):
            for w, h, seed in ((5, 4, 1), (3, 3, 2), (7, 2, 3)):
                self.check_exact(ref.Config(width=w, height=h, seed=seed, mode=mode, duration=60,
                                            nudge=0.5))

    # -- --prc-dissipation B --------------------------------------------------------------------

    def test_dissipation_exact(self):
        for mode in ("drop", "queue"):
            for b, nudge in ((3.0, 0.2), (1.0, 0.5), (8.0, 0.05)):
                self.check_exact(ref.Config(width=6, height=5, seed=4, mode=mode, duration=80,
                                            dissipation=b, nudge=nudge))

    def test_inhibitory_nudge_exact(self):
        for mode in ("drop", "queue"):
            for b in (0.0, 2.0):
                self.check_exact(ref.Config(width=5, height=5, seed=6, mode=mode, duration=60,
                                            dissipation=b, nudge=-0.3))

    def test_dissipation_statistics_over_seeds(self):
        """Flash counts and the final R, seed by seed, on a grid that synchronises."""
        for seed in (1, 2, 3):
            cfg = ref.Config(width=8, height=8, seed=seed, duration=120, dissipation=3.0)
            flashes, samples = ref.run(cfg)
            R = ref.order_parameters(samples[-1:], cfg.period)[0][1]
            got, series = self.program(cfg)
            self.assertEqual(len(got), len(flashes), "seed %d" % seed)
            self.assertEqual(int(series["flashes"].sum()), len(flashes))
            self.assertAlmostEqual(float(series["R"][-1]), R, delta=1e-6)

    # -- --period-spread S, --period-distribution -----------------------------------------------

    def test_period_spread_exact(self):
        for mode in ("drop", "queue"):
            for dist, spread, b in (("normal", 0.3, 0.0), ("uniform", 1.0, 0.0), ("normal", 0.5, 2.0)):
                self.check_exact(ref.Config(width=6, height=4, seed=8, mode=mode, duration=80,
                                            nudge=0.4, period_spread=spread,
                                            period_distribution=dist, dissipation=b))

    def test_period_spread_statistics_over_seeds(self):
        """Flash counts and the final R and R_state, seed by seed."""
        for seed in (1, 2, 3):
            cfg = ref.Config(width=8, height=8, seed=seed, duration=120, period_spread=0.2)
            flashes, samples = ref.run(cfg)
            _, R, Rs = ref.order_parameters(samples[-1:], cfg.period)[0]
            got, series = self.program(cfg)
            self.assertEqual(len(got), len(flashes), "seed %d" % seed)
            self.assertAlmostEqual(float(series["R"][-1]), R, delta=1e-6)
            self.assertAlmostEqual(float(series["R_state"][-1]), Rs, delta=1e-6)

    # -- --initial-phases: tiny deterministic cases, every flash worked out by two simulators -----

    def test_initial_phases_two_oscillators(self):
        """Two fireflies on a 2 x 1 grid (each the other's only neighbour), jitter 0."""
        for mode in ("drop", "queue"):
            for b in (0.0, 2.0):
                flashes, _ = self.check_exact(ref.Config(
                    width=2, height=1, mode=mode, jitter=0.0, duration=40, dissipation=b, nudge=0.3,
                    initial_phases=[0, 2_300_000_000]))
                self.assertGreaterEqual(min(sum(1 for _, a in flashes if a == k) for k in (0, 1)), 7)

    def test_initial_phases_three_by_three_and_ring(self):
        for w, h, phases in ((3, 3, [k * 517_000_003 for k in range(9)]),
                             (5, 1, [0, 999_999_999, 2_000_000_001, 3_141_592_653, 4_999_999_999])):
            for mode in ("drop", "queue"):
                self.check_exact(ref.Config(width=w, height=h, mode=mode, jitter=0.0, duration=60,
                                            nudge=0.25, initial_phases=phases))
                # With jitter the reset draws are the usual ones (from draw 1).
                self.check_exact(ref.Config(width=w, height=h, mode=mode, duration=60, nudge=0.25,
                                            seed=12, initial_phases=phases), ranks=(1,))

    # -- --boundary open ---------------------------------------------------------------------------

    def test_open_boundary_exact(self):
        for mode in ("drop", "queue"):
            self.check_exact(ref.Config(width=6, height=5, seed=2, mode=mode, duration=80, nudge=0.4,
                                        boundary="open"))
        # A 5 x 1 line (the ring of the tests above, cut open) from given phases, jitter 0.
        self.check_exact(ref.Config(width=5, height=1, jitter=0.0, duration=60, nudge=0.25, boundary="open",
                                    initial_phases=[0, 999_999_999, 2_000_000_001, 3_141_592_653, 4_999_999_999]))
        # With the other families at once.
        self.check_exact(ref.Config(width=6, height=4, seed=3, duration=60, nudge=0.3, boundary="open",
                                    dissipation=2.0, period_spread=0.3))

    # -- --neighbourhood, --radius ----------------------------------------------------------------

    def test_neighbourhood_exact(self):
        for mode in ("drop", "queue"):
            for kind, radius in (("moore", 2), ("von-neumann", 1), ("von-neumann", 2), ("moore", 3)):
                for boundary in ("periodic", "open"):
                    self.check_exact(ref.Config(width=8, height=7, seed=5, mode=mode, duration=60, nudge=0.3,
                                                neighbourhood=kind, radius=radius, boundary=boundary))
        # Tori narrower than the neighbourhood: a cell reached both ways round counts once.
        for w, h, kind, radius in ((4, 4, "moore", 2), (5, 3, "von-neumann", 2), (6, 2, "von-neumann", 3),
                                   (1, 6, "moore", 3)):
            self.check_exact(ref.Config(width=w, height=h, seed=7, duration=60, nudge=0.2, neighbourhood=kind,
                                        radius=radius))
        # With the other families at once.
        self.check_exact(ref.Config(width=7, height=6, seed=3, duration=60, nudge=0.3, neighbourhood="von-neumann",
                                    radius=2, dissipation=2.0, period_spread=0.3))

    def test_neighbourhood_initial_phases(self):
        """Tiny deterministic cases (jitter 0): a 5 x 1 ring, 3 x 3, radius 2 on 7 x 7; on 7 x 7
        also through 8 ranks, whose blocks (1 to 2 cells wide) are narrower than the radius."""
        ring = [0, 999_999_999, 2_000_000_001, 3_141_592_653, 4_999_999_999]
        for kind in ("moore", "von-neumann"):
            for mode in ("drop", "queue"):
                for radius in (1, 2):
                    self.check_exact(ref.Config(width=5, height=1, mode=mode, jitter=0.0, duration=60, nudge=0.25,
                                                neighbourhood=kind, radius=radius, initial_phases=ring))
                self.check_exact(ref.Config(width=3, height=3, mode=mode, jitter=0.0, duration=60, nudge=0.25,
                                            neighbourhood=kind, initial_phases=[k * 517_000_003 for k in range(9)]))
                self.check_exact(ref.Config(width=7, height=7, mode=mode, jitter=0.0, duration=60, nudge=0.15,
                                            neighbourhood=kind, radius=2,
                                            initial_phases=[(k * 2_654_435_761) % 5_000_000_000 for k in range(49)]),
                                 ranks=(1, 3, 8))

    def test_neighbourhood_statistics_over_seeds(self):
        """Flash counts and the final R and R_state, seed by seed."""
        for kind, radius in (("von-neumann", 2), ("moore", 2)):
            for seed in (1, 2, 3):
                cfg = ref.Config(width=10, height=10, seed=seed, duration=120, neighbourhood=kind, radius=radius,
                                 nudge=0.1)
                flashes, samples = ref.run(cfg)
                _, R, Rs = ref.order_parameters(samples[-1:], cfg.period)[0]
                got, series = self.program(cfg, 2)
                self.assertEqual(len(got), len(flashes), "%s %d seed %d" % (kind, radius, seed))
                self.assertEqual(int(series["flashes"].sum()), len(flashes))
                self.assertAlmostEqual(float(series["R"][-1]), R, delta=1e-6)
                self.assertAlmostEqual(float(series["R_state"][-1]), Rs, delta=1e-6)

    # -- --coupling all-to-all ------------------------------------------------------------------

    def test_all_to_all_exact(self):
        # Two oscillators (Mirollo & Strogatz's N = 2) from given phases, jitter 0, with and
        # without dissipation.
        for mode in ("drop", "queue"):
            for b in (0.0, 2.0):
                flashes, _ = self.check_exact(ref.Config(
                    width=2, height=1, mode=mode, jitter=0.0, duration=40, dissipation=b, nudge=0.3,
                    coupling="all-to-all", initial_phases=[0, 2_300_000_000]))
                self.assertGreaterEqual(min(sum(1 for _, a in flashes if a == k) for k in (0, 1)), 7)
        # 3 x 3 from given phases, and grids where all-to-all is not the lattice.
        for mode in ("drop", "queue"):
            self.check_exact(ref.Config(width=3, height=3, mode=mode, jitter=0.0, duration=60, nudge=0.25,
                                        coupling="all-to-all",
                                        initial_phases=[k * 517_000_003 for k in range(9)]))
            self.check_exact(ref.Config(width=6, height=5, seed=2, mode=mode, duration=60, nudge=0.02,
                                        coupling="all-to-all"), ranks=(1, 3, 5))
            # Inhibitory pulses (phase delays, each one in turn) and the other families at once.
            self.check_exact(ref.Config(width=5, height=4, seed=5, mode=mode, duration=60, nudge=-0.01,
                                        coupling="all-to-all"))
            self.check_exact(ref.Config(width=6, height=4, seed=3, mode=mode, duration=60, nudge=0.01,
                                        coupling="all-to-all", dissipation=3.0, period_spread=0.2))

    def test_all_to_all_statistics_over_seeds(self):
        """Flash counts and the final R, seed by seed: Mirollo & Strogatz's swarm (B = 3, every
        firefly coupled to every other) against the reference."""
        for seed in (1, 2, 3):
            cfg = ref.Config(width=8, height=8, seed=seed, duration=60, nudge=0.005, dissipation=3.0,
                             coupling="all-to-all")
            flashes, samples = ref.run(cfg)
            R = ref.order_parameters(samples[-1:], cfg.period)[0][1]
            got, series = self.program(cfg, ranks=3)
            self.assertEqual(len(got), len(flashes), "seed %d" % seed)
            self.assertEqual(int(series["flashes"].sum()), len(flashes))
            self.assertAlmostEqual(float(series["R"][-1]), R, delta=1e-6)

    # -- the synchrony measures: time_to_sync and /timeseries/largest_volley ---------------------

    def test_synchrony_measures(self):
        """time_to_sync and the largest volley of every sample, worked out by the reference from
        its own R_state and flashes with the rule of docs/output.md: runs that synchronise
        (lattice, all-to-all from given phases, with a period spread) and one that does not."""
        phases = [(k * 2_718_281_829) % 5_000_000_000 for k in range(16)]
        cases = [
            (ref.Config(width=8, height=8, seed=1, duration=120, dissipation=3.0), True),
            (ref.Config(width=8, height=8, seed=2, duration=120, dissipation=3.0), True),
            (ref.Config(width=4, height=4, jitter=0.0, duration=150, nudge=0.05, dissipation=2.0,
                        refractory=0.01, delay=0.001, coupling="all-to-all", initial_phases=phases), True),
            (ref.Config(width=6, height=6, seed=3, duration=150, period_spread=0.05), None),
            (ref.Config(width=8, height=8, seed=1, mode="queue", duration=60), False),
        ]
        for cfg, synchronises in cases:
            flashes, samples = ref.run(cfg)
            order = ref.order_parameters(samples, cfg.period)
            expected = ref.time_to_sync(order, cfg.period)
            volleys = ref.largest_volley(flashes, [ts for ts, _, _ in order], 0.25)
            with self.subTest(**{k: v for k, v in vars(cfg).items() if k != "initial_phases"}):
                if synchronises is not None:
                    self.assertEqual(expected is not None, synchronises, "the case is as meant")
                for p in (1, 3):
                    _, series = self.program(cfg, p)
                    self.assertEqual(series["time_to_sync"], expected, "np %d" % p)
                    self.assertEqual(series["largest_volley"].tolist(), volleys, "np %d" % p)

    # -- --pacemaker X,Y[,PERIOD] -----------------------------------------------------------------

    def test_pacemaker_exact(self):
        # A pacemaker on a 5 x 1 ring from given phases, jitter 0: the ring's flashes to the
        # tick, the pacemaker's every 4 s.
        ring = [0, 999_999_999, 2_000_000_001, 3_141_592_653, 3_999_999_999]
        for mode in ("drop", "queue"):
            flashes, _ = self.check_exact(ref.Config(width=5, height=1, mode=mode, jitter=0.0, duration=60,
                                                     nudge=0.25, initial_phases=ring,
                                                     pacemakers=[(2, 0, 4.0)]))
            led = [t for t, a in flashes if a == 2]
            self.assertEqual(led, [1_999_999_999 + k * 4_000_000_000 for k in range(len(led))])
            self.assertGreaterEqual(len(led), 14)
        # Random start phases (draw 0 on the pacemaker's own period), with the other families.
        for mode in ("drop", "queue"):
            self.check_exact(ref.Config(width=6, height=5, seed=2, mode=mode, duration=60, nudge=0.3,
                                        pacemakers=[(0, 0, 4.5), (3, 2, None)]))
            self.check_exact(ref.Config(width=5, height=4, seed=5, mode=mode, duration=60, nudge=0.2,
                                        dissipation=2.0, period_spread=0.2, pacemakers=[(4, 3, 4.2)]))
            self.check_exact(ref.Config(width=4, height=4, seed=3, mode=mode, duration=60, nudge=0.01,
                                        coupling="all-to-all", pacemakers=[(1, 1, 4.4)]))

    def test_pacemaker_statistics_over_seeds(self):
        """Entrainment: flash counts and the final R seed by seed on an 8 x 8 torus driven by one
        pacemaker with a period 10% below the swarm's (faster than every firefly); and the
        fireflies end up flashing at the pacemaker's rate."""
        for seed in (1, 2, 3):
            cfg = ref.Config(width=8, height=8, seed=seed, duration=300, nudge=0.3, pacemakers=[(4, 4, 4.5)])
            flashes, samples = ref.run(cfg)
            R = ref.order_parameters(samples[-1:], cfg.period)[0][1]
            got, series = self.program(cfg, ranks=3)
            self.assertEqual(len(got), len(flashes), "seed %d" % seed)
            self.assertAlmostEqual(float(series["R"][-1]), R, delta=1e-6)

            def late_counts(fl):
                """Flashes of each firefly in the last 45 s: 10 at the pacemaker's 4.5 s."""
                late = [a for t, a in fl if t > 255_000_000_000]
                return [late.count(i) for i in range(64)]
            self.assertEqual(set(late_counts(got)), {10}, "seed %d" % seed)
            # Without it, the swarm keeps its own rate (a period of 5 s less the reset jitter).
            cfg.pacemakers = []
            self.assertNotIn(10, late_counts(ref.run(cfg)[0]), "seed %d" % seed)

    def test_pacemaker_with_a_neighbourhood(self):
        # Pacemakers whose pulses reach R cells (and which ignore those of R cells), from given
        # phases with jitter 0 and from random ones; across ranks whose blocks are narrower than R.
        ring = [0, 999_999_999, 2_000_000_001, 3_141_592_653, 3_999_999_999, 1_234_567_891, 2_718_281_828]
        for mode in ("drop", "queue"):
            flashes, _ = self.check_exact(ref.Config(width=7, height=1, mode=mode, jitter=0.0, duration=60,
                                                     nudge=0.2, initial_phases=ring, radius=2,
                                                     pacemakers=[(3, 0, 4.0)]))
            led = [t for t, a in flashes if a == 3]
            self.assertEqual({b - a for a, b in zip(led, led[1:])}, {4_000_000_000})
            self.assertGreaterEqual(len(led), 14)
            self.check_exact(ref.Config(width=7, height=6, seed=4, mode=mode, duration=60, nudge=0.2,
                                        neighbourhood="von-neumann", radius=2, boundary="open",
                                        pacemakers=[(0, 0, 4.5), (3, 2, None)]), ranks=(1, 3, 8))


if __name__ == "__main__":
    unittest.main(verbosity=2)
