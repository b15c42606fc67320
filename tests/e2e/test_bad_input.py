"""Bad input catalogue: every mistake is refused before anything is touched, with one message.

Each case of CASES runs at P = 1, 3 and 8, or at P = 1 only (see ALL and ONE below; classes
BadInputNp1, BadInputNp3, BadInputNp8; CTest runs one class per test), in a fresh temporary
directory that holds a file `existing.h5` with an old mtime. For each run:
  - the exit code is not 0;
  - it ends within 10 s (a hang is a failure; the whole process group is killed);
  - stderr has exactly one line starting `fireflies: error:`, and across all ranks' stdout and
    stderr exactly one line contains "error" (any case): the message is printed once, by one
    rank, and no rank aborts with its own complaint;
  - that line names the option (or the file) given in the case;
  - nothing is touched: the directory afterwards holds exactly the same entries, with the same
    bytes and mtimes (so `existing.h5` is untouched and no new .h5 file, hidden temporary or
    default-named output appears).
Every run is under RLIMIT_AS = 4 GiB per process, so that a case that wrongly starts a huge
simulation fails fast with bad_alloc instead of eating the machine's memory.

--help and --version at P = 3: exit 0, their text printed once (not once per rank); the revision
in --version is the source tree's as built (git describe --always --dirty).
"""
import hashlib
import os
import re
import resource
import shutil
import subprocess
import unittest

from e2e_common import E2ETestCase, run

TIME_LIMIT = 10.0
MEMORY_LIMIT = 4 << 30

EXISTING = "existing.h5"
EXISTING_BYTES = b"\x89HDF\r\n\x1a\n this stands for an older run's output; it must survive\n"
OLD_MTIME_NS = 1_000_000_000 * 1_600_000_000  # 2020-09-13

HUGE_GRID = ["--width", 100000, "--height", 100000, "--duration", 1]  # 1e10 cells < 2^53
# 4097 pacemakers, one more than a run takes (the count is checked before the cells)
MANY_PACEMAKERS = "pacemaker = [" + '"1,1", ' * 4097 + "]\n"

# Ranks to run a case at. Rank 0 alone reads and checks the settings, so the value checks take
# the same path for every P: the core cases (ALL, 40 of them) run at P = 1, 3 and 8, three more
# that need several workers at P = 3 and/or 8, one (the hub's memory for --record-flashes) at
# P = 1 and 3, and the others (ONE, 69) only at P = 1, to keep
# the catalogue within its time budget on a 2-core machine (one refused run costs ~0.6 s at
# P = 1, ~1 s at P = 3 and ~1.3 s at P = 8, mostly MPI start-up).
ALL = (1, 3, 8)
ONE = (1,)

# (id, arguments, what the error line must name (a regex), ranks,
#  [extra files {name: text} written into the working directory first])
CASES = [
    # --width / --height: zero, negative, NaN, inf, huge, not a number
    ("width_zero", ["--width", 0], "--width", ALL),
    ("width_negative", ["--width", -3], "--width", ONE),
    ("width_nan", ["--width", "nan"], "--width", ALL),
    ("width_inf", ["--width", "inf"], "--width", ONE),
    ("width_out_of_int64", ["--width", "99999999999999999999"], "--width", ALL),
    ("width_above_int32", ["--width", 3000000000], "--width", ONE),
    ("width_not_numeric", ["--width", "abc"], "--width", ALL),
    ("height_float", ["--height", "1e3"], "--height", ONE),
    ("cells_above_2_53", ["--width", 100000000, "--height", 100000000], "--width|--height", ONE),
    # A grid that passes every range rule (1e10 cells) but cannot fit in memory: it must be
    # refused like any other bad value, before the output file is created.
    ("grid_too_big_for_memory", HUGE_GRID, "--width|--height", ALL),
    # --duration
    ("duration_negative", ["--duration", -1], "--duration", ALL),
    ("duration_nan", ["--duration", "nan"], "--duration", ONE),
    ("duration_huge", ["--duration", "1e300"], "--duration", ALL),
    ("duration_not_numeric", ["--duration", "ten"], "--duration", ONE),
    # --period
    ("period_zero", ["--period", 0], "--period", ALL),
    ("period_nan", ["--period", "NaN"], "--period", ONE),
    ("period_below_1ns", ["--period", "1e-12"], "--period", ALL),
    ("period_huge", ["--period", "1e10"], "--period", ONE),
    # --nudge, including nudge >= period
    ("nudge_equals_period", ["--nudge", 5], "--nudge", ALL),
    ("nudge_above_period", ["--nudge", 6, "--period", 5], "--nudge", ALL),
    ("period_below_default_nudge", ["--period", 0.1], "--nudge|--period", ONE),
    # an inhibitory nudge is allowed above minus the period
    ("nudge_minus_period", ["--nudge", -5], "--nudge", ONE),
    ("nudge_below_minus_period", ["--nudge", -6, "--period", 5], "--nudge", ONE),
    # --prc-dissipation outside [0, 100], not a number
    ("prc_dissipation_negative", ["--prc-dissipation", -1], "--prc-dissipation", ALL),
    ("prc_dissipation_huge", ["--prc-dissipation", 1000], "--prc-dissipation", ONE),
    ("prc_dissipation_nan", ["--prc-dissipation", "nan"], "--prc-dissipation", ONE),
    ("prc_dissipation_not_numeric", ["--prc-dissipation", "strong"], "--prc-dissipation", ONE),
    # --period-spread: negative, leaving periods below nudge + jitter; --period-distribution
    ("period_spread_negative", ["--period-spread", -0.1], "--period-spread", ALL),
    ("period_spread_too_wide", ["--period-spread", 4.8], "--period-spread", ONE),
    ("period_spread_uniform_too_wide", ["--period-spread", 4.7, "--period-distribution", "uniform"],
     "--period-spread", ONE),
    ("period_distribution_unknown", ["--period-distribution", "cauchy"], "--period-distribution", ONE),
    ("boundary_unknown", ["--boundary", "reflecting"], "--boundary", ONE),
    # --neighbourhood unknown; --radius 0, negative, not an integer, beyond the grid's largest
    # distance between two cells (5 x 5 torus: 2 by Chebyshev, 4 by Manhattan distance)
    ("neighbourhood_unknown", ["--neighbourhood", "hexagonal"], "--neighbourhood", ONE),
    ("radius_zero", ["--radius", 0], "--radius", ALL),
    ("radius_negative", ["--radius", -2], "--radius", ONE),
    ("radius_not_integer", ["--radius", 1.5], "--radius", ONE),
    ("radius_beyond_grid", ["--width", 5, "--height", 5, "--radius", 3], "--radius", ALL),
    ("radius_beyond_grid_von_neumann", ["--width", 5, "--height", 5, "--neighbourhood", "von-neumann",
                                        "--radius", 5], "--radius", ONE),
    ("coupling_unknown", ["--coupling", "mean-field"], "--coupling", ONE),
    ("coupling_all_to_all_partitioned", ["--coupling", "all-to-all", "--partitioned"], "--coupling", ONE),
    ("coupling_all_to_all_open", ["--coupling", "all-to-all", "--boundary", "open"], "--coupling", ONE),
    ("pacemaker_malformed", ["--pacemaker", "3"], "--pacemaker", ALL),
    ("pacemaker_not_a_number", ["--pacemaker", "3,4,fast"], "--pacemaker", ONE),
    ("pacemaker_outside", ["--pacemaker", "30,4"], "--pacemaker", ALL),
    ("pacemaker_duplicate", ["--pacemaker", "3,4", "--pacemaker", "3,4,2"], "--pacemaker", ONE),
    ("pacemaker_period_zero", ["--pacemaker", "3,4,0"], "--pacemaker", ONE),
    ("pacemaker_period_negative", ["--pacemaker", "3,4,-1"], "--pacemaker", ONE),
    ("pacemaker_too_many", ["--config", "pm.toml"], "pacemaker", ONE, {"pm.toml": MANY_PACEMAKERS}),
    ("pacemaker_toml_numbers", ["--config", "pm.toml"], "pacemaker", ONE, {"pm.toml": "pacemaker = [3, 4]\n"}),
    # all-to-all reaches every firefly: a neighbourhood or radius on the grid means nothing with it
    ("coupling_all_to_all_radius", ["--coupling", "all-to-all", "--radius", 2], "--coupling", ONE),
    ("coupling_all_to_all_neighbourhood", ["--coupling", "all-to-all", "--neighbourhood", "von-neumann"],
     "--coupling", ONE),
    # --initial-phases: missing, not HDF5 (HDF5 files of the wrong shape, out-of-range or NaN
    # phases and subsampled snapshots: tests/e2e/test_initial_phases.py)
    ("initial_phases_missing", ["--initial-phases", "missing.h5"], "--initial-phases", ALL),
    ("initial_phases_not_hdf5", ["--initial-phases", "phases.h5"], "--initial-phases", ONE,
     {"phases.h5": "phase = [0.5, 1.5]\n"}),
    # --refractory outside [0, 1)
    ("refractory_one", ["--refractory", 1], "--refractory", ALL),
    ("refractory_negative", ["--refractory", -0.1], "--refractory", ONE),
    ("refractory_rounds_to_period", ["--refractory", 0.9999999999], "--refractory", ONE),
    # --delay
    ("delay_zero", ["--delay", 0], "--delay", ALL),
    ("delay_nan", ["--delay", "nan"], "--delay", ONE),
    ("delay_huge", ["--delay", "1e300"], "--delay", ONE),
    # --sample-every
    ("sample_every_zero", ["--sample-every", 0], "--sample-every", ALL),
    ("sample_every_inf", ["--sample-every", "inf"], "--sample-every", ONE),
    ("sample_every_tiny", ["--sample-every", "1e-300"], "--sample-every", ONE),
    # --jitter
    ("jitter_negative", ["--jitter", -1], "--jitter", ALL),
    ("jitter_equals_period", ["--jitter", 5], "--jitter", ONE),
    # --seed
    ("seed_negative", ["--seed", -1], "--seed", ALL),
    ("seed_above_uint64", ["--seed", "18446744073709551616"], "--seed", ONE),
    ("seed_not_numeric", ["--seed", "x"], "--seed", ALL),
    ("seed_float", ["--seed", 1.5], "--seed", ONE),
    # --sync-threshold outside (0, 1], --volley-window not a positive time, a flag's value
    ("sync_threshold_zero", ["--sync-threshold", 0], "--sync-threshold", ALL),
    ("sync_threshold_above_one", ["--sync-threshold", 1.5], "--sync-threshold", ONE),
    ("sync_threshold_nan", ["--sync-threshold", "nan"], "--sync-threshold", ONE),
    ("volley_window_zero", ["--volley-window", 0], "--volley-window", ALL),
    ("volley_window_negative", ["--volley-window", -0.25], "--volley-window", ONE),
    ("stop_when_synced_bad_value", ["--stop-when-synced=soon"], "--stop-when-synced", ONE),
    # choices and flags
    ("refractory_mode_unknown", ["--refractory-mode", "sometimes"], "--refractory-mode", ONE),
    ("telemetry_unknown", ["--telemetry", "all"], "--telemetry", ONE),
    ("flag_with_bad_value", ["--partitioned=maybe"], "--partitioned", ONE),
    # --record-flashes of the whole grid that rank 0 cannot hold (a sample interval's flashes of
    # 2.5e7 fireflies that flash every 0.4 s, about 400 GiB), and --record-region: malformed,
    # empty, outside the grid, negative, without --record-flashes (refused: it would record nothing)
    ("record_flashes_too_big_for_memory", ["--width", 5000, "--height", 5000, "--period", 0.4, "--nudge", 0.05,
                                           "--jitter", 0.05, "--record-flashes", "--sample-every", 100,
                                           "--duration", 100], "--record-flashes.*--record-region", (1, 3)),
    ("record_region_malformed", ["--record-flashes", "--record-region", "1,2,3"], "--record-region", ALL),
    ("record_region_not_numbers", ["--record-flashes", "--record-region", "a,b,c,d"], "--record-region", ONE),
    ("record_region_zero_size", ["--record-flashes", "--record-region", "1,2,0,3"], "--record-region", ALL),
    ("record_region_outside_grid", ["--record-flashes", "--record-region", "20,2,11,3"], "--record-region", ALL),
    ("record_region_negative", ["--record-flashes", "--record-region=-1,2,3,4"], "--record-region", ONE),
    ("record_region_without_record_flashes", ["--record-region", "1,2,3,4"], "--record-region", ONE),
    ("record_flashes_summary_whole_grid", ["--record-flashes", "--telemetry", "summary"], "--record-flashes", ONE),
    ("record_epochs_bad_value", ["--record-epochs=often"], "--record-epochs", ONE),
    ("record_epochs_wrong_type", ["--config", "bad.toml"], "bad\\.toml.*record-epochs",
     ONE, {"bad.toml": "record-epochs = 2\n"}),
    # more workers than cells
    ("more_workers_than_cells_1x1", ["--width", 1, "--height", 1], "workers", (3, 8)),
    ("more_workers_than_cells_2x2", ["--width", 2, "--height", 2], "workers", (8,)),
    # the command line itself
    ("unknown_option", ["--bogus", 3], "--bogus", ALL),
    ("missing_value_at_end", ["--width"], "--width", ONE),
    ("missing_value_before_option", ["--width", "--height", 4], "--width", ONE),
    ("option_given_twice", ["--seed", 1, "--seed", 2], "--seed", ONE),
    ("unexpected_argument", ["run.h5"], "run\\.h5", ONE),
    # config files
    ("config_unknown_key", ["--config", "typo.toml"], "typo\\.toml.*perod",
     ALL, {"typo.toml": "period = 5.0\nperod = 4.0\n"}),
    ("config_malformed_string", ["--config", "bad.toml"], "bad\\.toml",
     ALL, {"bad.toml": "[fireflies]\nrefractory-mode = \"drop\n"}),
    ("config_malformed_header", ["--config", "bad.toml"], "bad\\.toml",
     ONE, {"bad.toml": "[fireflies\nwidth = 3\n"}),
    ("config_wrong_type", ["--config", "bad.toml"], "bad\\.toml.*width",
     ONE, {"bad.toml": "width = \"30\"\n"}),
    ("config_bad_value", ["--config", "bad.toml"], "bad\\.toml.*nudge",
     ONE, {"bad.toml": "period = 1.0\nnudge = 2.0\n"}),
    ("config_missing_file", ["--config", "nowhere.toml"], "nowhere\\.toml", ALL),
    ("config_is_directory", ["--config", "."], "--config", ONE),
    # the output
    ("output_in_missing_directory", ["-o", "no/such/dir/run.h5"], "--output", ALL),
    ("output_unwritable", ["-o", "/proc/sys/fireflies-e2e.h5"], "--output", ALL),
    ("output_is_directory", ["-o", "."], "--output", ONE),
    ("output_exists_without_force", ["-o", EXISTING], "--output.*" + re.escape(EXISTING), ALL),
    ("output_force_over_device", ["-o", "/dev/null", "--force"], "--output", ONE),
    # the checkpoint: never the output, never an existing file that is not a checkpoint
    ("checkpoint_is_the_output", ["-o", "run.h5", "--checkpoint", "./run.h5"], "--checkpoint", ALL),
    ("checkpoint_over_existing_file", ["--checkpoint", EXISTING], "--checkpoint.*" + re.escape(EXISTING),
     ALL),
    ("checkpoint_over_existing_file_with_force", ["-o", "new.h5", "--force", "--checkpoint", EXISTING],
     "--checkpoint", ONE),
    ("checkpoint_in_missing_directory", ["--checkpoint", "no/such/dir/run.ckpt"], "--checkpoint", ONE),
    # with --force over an existing output, a refused run still leaves that file alone
    ("force_with_bad_value", ["-o", EXISTING, "--force", "--width", 0], "--width", ALL),
    ("force_more_workers_than_cells", ["-o", EXISTING, "--force", "--width", 2, "--height", 2],
     "workers", (8,)),
    ("force_grid_too_big_for_memory", ["-o", EXISTING, "--force"] + HUGE_GRID, "--width|--height",
     ALL),
]


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def snapshot(root):
    """Every entry under root (hidden ones too): kind, size, mtime and a hash of the bytes."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            seen[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return seen


class BadInputBase(E2ETestCase):
    RANKS = None  # set by the generated subclasses

    def check_refused(self, args, names, files=None):
        with open(self.path(EXISTING), "wb") as f:
            f.write(EXISTING_BYTES)
        os.utime(self.path(EXISTING), ns=(OLD_MTIME_NS, OLD_MTIME_NS))
        for name, text in (files or {}).items():
            with open(self.path(name), "w") as f:
                f.write(text)
        before = snapshot(self.dir)

        r = run(self.RANKS, args, self.dir, timeout=TIME_LIMIT, preexec_fn=limit_memory)

        # Every rule is checked and every broken one reported, not only the first.
        problems = []
        if r.timed_out or r.wall > TIME_LIMIT:
            problems.append("did not finish within %g s" % TIME_LIMIT)
        if r.returncode == 0:
            problems.append("exit code 0")
        starts = [l for l in r.stderr.splitlines() if l.startswith("fireflies: error:")]
        if len(starts) != 1:
            problems.append("%d lines on stderr start with 'fireflies: error:', want 1"
                            % len(starts))
        everywhere = [l for l in (r.stdout + "\n" + r.stderr).splitlines() if "error" in l.lower()]
        if len(everywhere) != 1:
            problems.append("%d lines of all output contain 'error', want 1" % len(everywhere))
        if not starts or not re.search(names, starts[0]):
            problems.append("the error line does not name %r" % names)
        after = snapshot(self.dir)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            problems.append("files created or touched in the working directory: %s"
                            % ", ".join(changed))
        if problems:
            self.fail("; ".join(problems) + "\n" + r.describe())


def _make_test(args, names, files):
    def test(self):
        self.check_refused(args, names, files)
    return test


def _make_class(ranks):
    body = {"RANKS": ranks}
    for case in CASES:
        ident, args, names, only = case[:4]
        files = case[4] if len(case) > 4 else None
        if ranks in only:
            body["test_" + ident] = _make_test(args, names, files)
    return type("BadInputNp%d" % ranks, (BadInputBase,), body)


BadInputNp1 = _make_class(1)
BadInputNp3 = _make_class(3)
BadInputNp8 = _make_class(8)


class HelpVersion(E2ETestCase):
    """--help and --version at P = 3: exit 0, printed once (by rank 0 only)."""

    def check_once(self, flag, marker):
        r = run(3, [flag], self.dir, timeout=TIME_LIMIT)
        info = r.describe()
        self.assertFalse(r.timed_out, info)
        self.assertEqual(r.returncode, 0, info)
        self.assertEqual(r.stdout.count(marker), 1, "want the text once\n" + info)
        self.assertNotIn("error", (r.stdout + r.stderr).lower(), info)
        self.assertEqual(os.listdir(self.dir), [], "files appeared\n" + info)
        return r

    def test_help(self):
        r = self.check_once("--help", "Usage:")
        self.assertIn("--width", r.stdout)

    def test_version(self):
        r = self.check_once("--version", "fireflies ")
        self.assertRegex(r.stdout.strip(), r"^fireflies \S+ \(git \S+\)$")

    def test_version_names_the_tree_built(self):
        """The revision is the source tree's as built: after an edit, a commit or a checkout, the
        next build says so (the tests run on the tree they were built from, which they do not
        change)."""
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        git = shutil.which("git")
        if git is None or not os.path.exists(os.path.join(root, ".git")):
            self.skipTest("not a git checkout")
        described = subprocess.run([git, "describe", "--always", "--dirty", "--abbrev=12"], cwd=root,
                                   capture_output=True, text=True, timeout=60)
        if described.returncode != 0:
            self.skipTest("git describe failed: " + described.stderr.strip())
        r = self.check_once("--version", "fireflies ")
        self.assertRegex(r.stdout, r"\(git %s\)" % re.escape(described.stdout.strip()), r.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
