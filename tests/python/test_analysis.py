"""Tests of scripts/fireflies_analysis, scripts/report.sh and the walkthrough notebook, against
synthetic run files written with h5py in the program's layout (see synthetic.py).

Run: ``PYTHONPATH=scripts MPLBACKEND=Agg python3 -m unittest discover -s tests/python -v``
(ctest does this as the test ``python_analysis``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = ROOT / "scripts"
NOTEBOOK = SCRIPTS / "notebooks" / "walkthrough.ipynb"

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(HERE))
try:
    import fireflies_analysis  # noqa: F401
except ImportError:  # run without PYTHONPATH=scripts
    sys.path.insert(0, str(SCRIPTS))

from fireflies_analysis import (  # noqa: E402
    MissingDataError,
    follow,
    format_summary,
    load_run,
    plots,
    summary,
    time_to_reach,
    write_report,
)
from fireflies_analysis.__main__ import main as cli_main  # noqa: E402

import swmr_writer  # noqa: E402
from synthetic import UNITS, write_run  # noqa: E402


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: the package importable, no display needed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def write_hand_made(path: Path, **overrides) -> None:
    """A 2 x 2 grid, five samples 0.5 s apart, every number chosen by hand."""
    values = dict(
        t=np.array([0.0, 0.5, 1.0, 1.5, 2.0]),
        R=np.array([0.0, 0.5, 0.91, 0.95, 0.995]),
        R_state=np.array([0.0, 0.2, 0.4, 0.99, 0.999]),
        flashes=np.array([0, 2, 1, 4, 1], np.int64),
    )
    values["pulse"] = np.cumsum(values["flashes"]) / 4.0
    attrs = dict(fireflies_version="0.1.0", git_revision="hand", mpi_size=2, workers=1,
                 process_grid="1x1", seed=3, created="2025-01-01T00:00:00Z", width=2, height=2,
                 period=5.0, status="complete", flashes_emitted=8, flashes_received=40,
                 wall_time=0.5,
                 config='width = 2\nheight = 2\nperiod = 5.0\nrefractory-mode = "drop"\n'
                        "sample-every = 0.5\n")
    for key in list(overrides):
        if key in values:
            values[key] = overrides.pop(key)
    attrs.update(overrides)
    with h5py.File(path, "w", libver="latest") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        for name, data in values.items():
            d = f.create_dataset(f"timeseries/{name}", data=data)
            d.attrs["units"], d.attrs["description"] = UNITS[f"timeseries/{name}"]


class TempDirCase(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fireflies-test-")
        self.tmp = Path(self._tmp.name)

    def tearDown(self) -> None:
        self._tmp.cleanup()


# -- loading ---------------------------------------------------------------------------------


class LoadTests(TempDirCase):
    def test_full_file_round_trip(self):
        made = write_run(self.tmp / "run.h5", width=7, height=5, stride=(3, 2), blocks=(2, 1))
        run = load_run(made.path)
        self.assertEqual((run.width, run.height, run.n_fireflies), (7, 5, 35))
        self.assertEqual(run.period, 5.0)
        self.assertEqual(run.status, "complete")
        for name in ("t", "R", "R_state", "flashes", "pulse"):
            np.testing.assert_array_equal(getattr(run, name), getattr(made, name), err_msg=name)
        self.assertEqual(run.flashes.dtype, np.int64)
        np.testing.assert_array_equal(run.flash_t, made.flash_t)
        np.testing.assert_array_equal(run.flash_agent, made.flash_agent)
        np.testing.assert_array_equal(run.snapshot_t, made.snapshot_t)
        np.testing.assert_array_equal(run.snapshot_phase, made.snapshot_phase)
        self.assertEqual(run.snapshot_phase.dtype, np.float32)
        self.assertEqual(run.snapshot_phase.shape[1:], (3, 3))  # ceil(5/2), ceil(7/3)
        self.assertEqual(run.snapshot_stride, (3, 2))
        np.testing.assert_array_equal(run.block_R, made.block_R)
        np.testing.assert_array_equal(run.block_geometry, made.block_geometry)
        np.testing.assert_array_equal(run.block_rank, made.block_rank)
        self.assertEqual(run.sample_every, 0.5)
        self.assertEqual(run.duration, 20.0)

    def test_config_attributes_and_units(self):
        run = load_run(write_run(self.tmp / "run.h5").path)
        self.assertEqual(run.config["width"], 6)
        self.assertEqual(run.config["refractory-mode"], "drop")
        self.assertEqual(run.setting("refractory_mode"), "drop")
        self.assertEqual(run.setting("sample-every"), 0.5)
        self.assertIsNone(run.setting("no-such-setting"))
        self.assertEqual(run.setting("no.such", 3), 3)
        self.assertIsInstance(run.attrs["mpi_size"], int)
        self.assertIsInstance(run.attrs["process_grid"], str)
        self.assertEqual(run.unit("timeseries/t"), "s")
        self.assertEqual(run.unit("/timeseries/R"), "1")
        self.assertEqual(run.unit("blocks/geometry"), "cells")
        self.assertEqual(run.descriptions["timeseries/pulse"], "flashes so far / N")

    def test_optional_groups_absent(self):
        made = write_run(self.tmp / "bare.h5", record_flashes=False, snapshot_every=None,
                         blocks=None)
        run = load_run(made.path)
        self.assertFalse(run.has_flashes or run.has_snapshots or run.has_blocks)
        self.assertIsNone(run.flash_t)
        self.assertIsNone(run.snapshot_phase)
        self.assertIsNone(run.block_R)
        self.assertEqual(run.n_samples, made.t.size)
        with self.assertRaisesRegex(MissingDataError, "--record-flashes"):
            plots.raster_points(run)
        with self.assertRaisesRegex(MissingDataError, "--snapshot-every"):
            plots.snapshot_frame(run)
        with self.assertRaises(MissingDataError):
            plots.plot_block_map(run)
        self.assertIsNone(summary(run)["flashes_recorded"])

    def test_skipping_large_groups(self):
        run = load_run(write_run(self.tmp / "run.h5").path, flashes=False, snapshots=False)
        self.assertIsNone(run.flash_t)
        self.assertIsNone(run.snapshot_phase)
        self.assertTrue(run.has_blocks)

    def test_file_with_attributes_only(self):
        path = self.tmp / "empty.h5"
        with h5py.File(path, "w") as f:  # not libver="latest": no SWMR, still readable
            f.attrs["width"] = 3
            f.attrs["height"] = 2
            f.attrs["config"] = "width = 3\nheight = 2\n"
        run = load_run(path)
        self.assertEqual(run.n_samples, 0)
        self.assertEqual(run.status, "")
        self.assertEqual(run.duration, 0.0)
        values = summary(run)
        self.assertIsNone(values["final_R"])
        self.assertIsNone(values["time_to_R_0.9_s"])
        self.assertIsNone(values["flashes_per_firefly_per_s"])
        plots.plot_order_parameter(run)  # an empty figure, no exception

    def test_ragged_series_of_a_growing_file_are_cut_to_common_length(self):
        path = self.tmp / "ragged.h5"
        with h5py.File(path, "w", libver="latest") as f:
            f.attrs["width"], f.attrs["height"], f.attrs["period"] = 2, 2, 5.0
            f["timeseries/t"] = np.arange(6) * 0.5
            f["timeseries/R"] = np.linspace(0, 1, 5)
            f["timeseries/R_state"] = np.linspace(0, 1, 6)
            f["timeseries/flashes"] = np.ones(4, np.int64)
            f["timeseries/pulse"] = np.arange(1, 6) / 4
            f["snapshots/t"] = np.array([0.0, 5.0])
            f["snapshots/phase"] = np.zeros((1, 2, 2), np.float32)
            f["blocks/R"] = np.zeros((6, 1))
            f["blocks/geometry"] = np.array([[0, 0, 2, 2]], np.int64)
        run = load_run(path)
        self.assertEqual([a.size for a in (run.t, run.R, run.R_state, run.flashes, run.pulse)],
                         [4] * 5)
        self.assertEqual(run.snapshot_t.size, 1)
        self.assertEqual(run.block_R.shape, (4, 1))
        self.assertIsNone(run.block_rank)
        self.assertEqual(plots.block_R_map(run).shape, (2, 2))

    def test_missing_series_reads_as_nan(self):
        path = self.tmp / "partial.h5"
        with h5py.File(path, "w") as f:
            f.attrs["width"], f.attrs["height"] = 2, 1
            f["timeseries/t"] = np.arange(3) * 0.5
            f["timeseries/R"] = np.zeros(3)
        run = load_run(path)
        self.assertEqual(run.R_state.size, 3)
        self.assertTrue(np.isnan(run.R_state).all())
        np.testing.assert_array_equal(run.flashes, np.zeros(3, np.int64))

    def test_byte_string_attributes_and_bad_config(self):
        path = self.tmp / "bytes.h5"
        with h5py.File(path, "w") as f:
            f.attrs["status"] = np.bytes_(b"interrupted")
            f.attrs["config"] = np.bytes_(b"width = 4\nheight = 1\n")
        run = load_run(path)
        self.assertEqual(run.status, "interrupted")
        self.assertEqual((run.width, run.height), (4, 1))  # from the config
        with h5py.File(path, "a") as f:
            f.attrs["config"] = "width = = 4"
        with self.assertRaisesRegex(ValueError, "not valid TOML"):
            load_run(path)

    def test_config_as_string_dataset(self):
        path = self.tmp / "config.h5"
        with h5py.File(path, "w") as f:
            f["config"] = 'width = 5\nheight = 3\nrefractory-mode = "queue"\n'
        run = load_run(path)
        self.assertEqual((run.width, run.height), (5, 3))
        self.assertEqual(run.setting("refractory-mode"), "queue")

    def test_missing_file(self):
        with self.assertRaises(OSError):
            load_run(self.tmp / "nope.h5")


# -- convergence numbers ---------------------------------------------------------------------


class ConvergenceTests(TempDirCase):
    def setUp(self) -> None:
        super().setUp()
        write_hand_made(self.tmp / "hand.h5")
        self.run = load_run(self.tmp / "hand.h5")

    def test_time_to_reach(self):
        run = self.run
        self.assertEqual(time_to_reach(run, 0.9), 1.0)
        self.assertEqual(time_to_reach(run, 0.91), 1.0)  # >=, not >
        self.assertEqual(time_to_reach(run, 0.99), 2.0)
        self.assertEqual(time_to_reach(run, 0.0), 0.0)
        self.assertIsNone(time_to_reach(run, 0.999))
        self.assertEqual(time_to_reach(run, 0.9, series="R_state"), 1.5)
        self.assertEqual(time_to_reach(run, 0.999, series="R_state"), 2.0)
        with self.assertRaises(ValueError):
            time_to_reach(run, 0.9, series="pulse")

    def test_time_to_reach_sustained(self):
        path = self.tmp / "dip.h5"
        write_hand_made(path, R=np.array([0.0, 0.95, 0.85, 0.92, 0.97]))
        run = load_run(path)
        self.assertEqual(time_to_reach(run, 0.9), 0.5)
        self.assertEqual(time_to_reach(run, 0.9, sustained=True), 1.5)
        self.assertEqual(time_to_reach(run, 0.0, sustained=True), 0.0)
        self.assertEqual(time_to_reach(run, 0.96), 2.0)
        self.assertIsNone(time_to_reach(run, 0.98, sustained=True))
        write_hand_made(path, R=np.array([0.0, 0.95, np.nan, 0.92, 0.97]))
        self.assertEqual(time_to_reach(load_run(path), 0.9, sustained=True), 1.5)

    def test_summary_numbers(self):
        values = summary(self.run)
        self.assertEqual(values["time_to_R_0.9_s"], 1.0)
        self.assertEqual(values["time_to_R_0.99_s"], 2.0)
        self.assertEqual(values["time_to_R_state_0.9_s"], 1.5)
        self.assertEqual(values["time_to_R_state_0.99_s"], 1.5)
        self.assertEqual(values["final_R"], 0.995)
        self.assertEqual(values["final_R_state"], 0.999)
        # 8 flashes, 4 fireflies, 2 s covered
        self.assertAlmostEqual(values["flashes_per_firefly_per_s"], 1.0)
        self.assertEqual(values["flashes_in_timeseries"], 8)
        self.assertEqual(values["flashes_from_pulse"], 8)
        self.assertEqual(values["flashes_emitted"], 8)
        self.assertEqual(values["received_per_emitted"], 5.0)
        self.assertAlmostEqual(values["simulated_per_wall_time"], 4.0)
        self.assertEqual(values["fireflies"], 4)
        self.assertEqual(values["samples"], 5)
        self.assertEqual(values["refractory_mode"], "drop")
        self.assertTrue(values["totals_consistent"], values["totals_problems"])
        json.dumps(values)  # JSON-friendly

    def test_summary_of_synthetic_run(self):
        made = write_run(self.tmp / "run.h5", width=5, height=4, duration=30.0)
        values = summary(load_run(made.path))
        self.assertTrue(values["totals_consistent"], values["totals_problems"])
        self.assertEqual(values["flashes_recorded"], made.flash_t.size)
        self.assertEqual(values["flashes_in_timeseries"], made.flash_t.size)
        # each firefly flashes once per period: 1 / 5 s, up to the partial period at the ends
        self.assertAlmostEqual(values["flashes_per_firefly_per_s"], 0.2, delta=0.02)

    def test_totals_disagreeing(self):
        path = self.tmp / "bad.h5"
        write_hand_made(path, flashes_emitted=9, flashes_received=100,
                        pulse=np.array([0.0, 0.5, 0.75, 1.75, 2.5]))
        values = summary(load_run(path))
        self.assertFalse(values["totals_consistent"])
        problems = "\n".join(values["totals_problems"])
        self.assertIn("flashes_emitted = 9", problems)
        self.assertIn("exceeds 8 x flashes_emitted", problems)
        self.assertIn("pulse * N != cumulative flashes from t = 2 s", problems)

    def test_interrupted_run_may_have_more_emitted_than_sampled(self):
        path = self.tmp / "interrupted.h5"
        write_hand_made(path, status="interrupted", flashes_emitted=11)
        self.assertTrue(summary(load_run(path))["totals_consistent"])

    def test_format_summary_has_units(self):
        text = format_summary(summary(self.run))
        lines = {line.split("  ")[0].strip(): line for line in text.splitlines()}
        self.assertRegex(lines["time_to_R_0.9"], r"1 s$")
        self.assertRegex(lines["period"], r"5 s$")
        self.assertRegex(lines["width"], r"2 cells$")
        self.assertRegex(lines["flashes_per_firefly"], r"1 1/s$")
        self.assertIn("yes", lines["totals_consistent"])
        write_hand_made(self.tmp / "low.h5", R=np.zeros(5))
        self.assertIn("not reached", format_summary(summary(load_run(self.tmp / "low.h5"))))


# -- figures ---------------------------------------------------------------------------------


class PlotTests(TempDirCase):
    def setUp(self) -> None:
        super().setUp()
        self.made = write_run(self.tmp / "run.h5", width=9, height=5, duration=15.0)
        self.run = load_run(self.made.path)

    def assertUnitsOnEveryAxis(self, fig) -> None:
        for ax in fig.axes:
            labels = [label for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
            self.assertTrue(labels, f"axes without labels in {fig}")
            for label in labels:
                self.assertRegex(label, r"\(.+\)$", f"label without unit: {label!r}")

    def test_raster_has_one_point_per_flash(self):
        t, agent = plots.raster_points(self.run)
        with h5py.File(self.made.path) as f:
            events = f["flashes/t"].shape[0]
            np.testing.assert_array_equal(t, f["flashes/t"][()])
            np.testing.assert_array_equal(agent, f["flashes/agent"][()])
        self.assertEqual(t.size, events)
        fig = plots.plot_raster(self.run)
        (ax,) = fig.axes
        (points,) = ax.collections
        offsets = np.asarray(points.get_offsets())
        self.assertEqual(len(offsets), events)
        np.testing.assert_array_equal(offsets[:, 0], self.made.flash_t)
        np.testing.assert_array_equal(offsets[:, 1], self.made.flash_agent)
        self.assertUnitsOnEveryAxis(fig)

    def test_raster_time_window(self):
        t, agent = plots.raster_points(self.run, (5.0, 10.0))
        expected = (self.made.flash_t >= 5.0) & (self.made.flash_t <= 10.0)
        self.assertEqual(t.size, int(expected.sum()))
        np.testing.assert_array_equal(agent, self.made.flash_agent[expected])
        fig = plots.plot_raster(self.run, (5.0, 10.0))
        self.assertEqual(len(fig.axes[0].collections[0].get_offsets()), t.size)

    def test_snapshot_frame_is_the_dataset(self):
        with h5py.File(self.made.path) as f:
            stored = f["snapshots/phase"][()]
            stored_t = f["snapshots/t"][()]
        for index in (0, 2, -1):
            t, frame = plots.snapshot_frame(self.run, index)
            self.assertEqual(t, stored_t[index])
            np.testing.assert_array_equal(frame, stored[index])
            self.assertEqual(frame.dtype, np.float32)
            fig = plots.plot_snapshot(self.run, index)
            (image,) = fig.axes[0].images
            np.testing.assert_array_equal(image.get_array(), stored[index])
            self.assertUnitsOnEveryAxis(fig)
        with self.assertRaises(IndexError):
            plots.snapshot_frame(self.run, stored.shape[0])

    def test_downsampled_snapshot_covers_the_grid(self):
        made = write_run(self.tmp / "strided.h5", width=7, height=5, stride=(3, 2))
        run = load_run(made.path)
        fig = plots.plot_snapshot(run, -1)
        ax = fig.axes[0]
        np.testing.assert_array_equal(ax.images[0].get_array(), made.snapshot_phase[-1])
        self.assertEqual(ax.get_xlim(), (0.0, 7.0))
        self.assertEqual(ax.get_ylim(), (5.0, 0.0))
        # 3 x 3 pixels of 3 x 2 cells each
        self.assertEqual(tuple(ax.images[0].get_extent()), (0, 9, 6, 0))
        self.assertIn("3 x 2 cells", ax.get_title())

    def test_order_parameter_figure(self):
        fig = plots.plot_order_parameter(self.run)
        top, bottom = fig.axes
        r_line, state_line = top.lines[:2]
        np.testing.assert_array_equal(r_line.get_xdata(), self.made.t)
        np.testing.assert_array_equal(r_line.get_ydata(), self.made.R)
        np.testing.assert_array_equal(state_line.get_ydata(), self.made.R_state)
        np.testing.assert_array_equal(bottom.lines[0].get_ydata(), self.made.flashes)
        self.assertEqual(bottom.get_xlabel(), "simulated time t (s)")
        self.assertUnitsOnEveryAxis(fig)

    def test_compare_figure(self):
        other = write_run(self.tmp / "other.h5", R=np.linspace(0, 1, 11))
        fig = plots.plot_compare([self.run, load_run(other.path)])
        self.assertEqual(len(fig.axes[0].lines), 2)
        self.assertUnitsOnEveryAxis(fig)

    def test_block_figures(self):
        made = write_run(self.tmp / "blocks.h5", width=10, height=6, blocks=(3, 2))
        run = load_run(made.path)
        grid = plots.block_R_map(run)
        self.assertEqual(grid.shape, (6, 10))
        self.assertFalse(np.isnan(grid).any())
        for (x0, y0, w, h), value in zip(made.block_geometry, made.block_R[-1]):
            np.testing.assert_array_equal(grid[y0:y0 + h, x0:x0 + w], value)
        np.testing.assert_array_equal(plots.block_R_map(run, 0)[0, 0], made.block_R[0, 0])
        fig = plots.plot_block_map(run)
        np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), grid)
        self.assertIn("rank 6", [text.get_text().split("\n")[0] for text in fig.axes[0].texts])
        self.assertUnitsOnEveryAxis(fig)
        fig = plots.plot_block_R(run)
        lines = fig.axes[0].lines
        self.assertEqual(len(lines), 6 + 1)  # one per block, plus the whole grid
        for b in range(6):
            np.testing.assert_array_equal(lines[b].get_ydata(), made.block_R[:, b])
        self.assertUnitsOnEveryAxis(fig)

    def test_gif_has_one_frame_per_snapshot(self):
        if not plots.gif_available():
            self.skipTest("python3-pil is not installed")
        from PIL import Image

        gif = plots.animate_snapshots(self.run, self.tmp / "phase.gif", fps=5)
        self.assertGreater(gif.stat().st_size, 0)
        with Image.open(gif) as image:
            self.assertEqual(image.format, "GIF")
            self.assertEqual(image.n_frames, self.made.snapshot_t.size)

    def test_gif_without_pillow_is_a_clear_error(self):
        with mock.patch("matplotlib.animation.PillowWriter.isAvailable", return_value=False):
            self.assertFalse(plots.gif_available())
            with self.assertRaisesRegex(RuntimeError, "python3-pil"):
                plots.animate_snapshots(self.run, self.tmp / "phase.gif")
            written = write_report(self.run, self.tmp / "report", log=lambda line: None)
        self.assertNotIn("snapshots_gif", written)
        self.assertIn("python3-pil", written["summary"].read_text())


# -- report and command line -----------------------------------------------------------------


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ReportTests(TempDirCase):
    def report_sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPTS / "report.sh"), *args],
                              env=subprocess_env(PYTHON=sys.executable), capture_output=True,
                              text=True, check=check, timeout=300)

    def assertImage(self, path: Path, signature: bytes = PNG_SIGNATURE) -> None:
        self.assertTrue(path.is_file(), f"{path} missing")
        self.assertGreater(path.stat().st_size, 1000, f"{path} is nearly empty")
        self.assertEqual(path.read_bytes()[: len(signature)], signature, path)

    def test_report_sh_writes_every_figure(self):
        made = write_run(self.tmp / "run.h5", width=8, height=6)
        self.report_sh(str(made.path))
        out = self.tmp / "run-report"
        for name in ("order_parameter", "flash_raster", "snapshot_first", "snapshot_last",
                     "blocks_R", "blocks_final_R"):
            self.assertImage(out / f"{name}.png")
        if plots.gif_available():
            self.assertImage(out / "snapshots.gif", b"GIF8")
        text = (out / "summary.txt").read_text()
        self.assertIn("time_to_R_0.9", text)
        self.assertIn("totals_consistent        yes", text)
        values = json.loads((out / "summary.json").read_text())
        self.assertEqual(values["fireflies"], 48)

    def test_report_sh_explicit_folder_and_bare_file(self):
        made = write_run(self.tmp / "bare.h5", record_flashes=False, snapshot_every=None,
                         blocks=None)
        out = self.tmp / "deep" / "folder"
        result = self.report_sh(str(made.path), str(out))
        self.assertIn("--record-flashes", result.stderr)
        self.assertImage(out / "order_parameter.png")
        self.assertEqual(sorted(p.name for p in out.iterdir()),
                         ["order_parameter.png", "summary.json", "summary.txt"])

    def test_report_sh_usage_errors(self):
        self.assertEqual(self.report_sh(check=False).returncode, 2)
        result = self.report_sh(str(self.tmp / "nope.h5"), check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no such file", result.stderr)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "fireflies_analysis", *args],
                              env=subprocess_env(), capture_output=True, text=True, timeout=300,
                              cwd=self.tmp)

    def test_cli_summary(self):
        write_hand_made(self.tmp / "hand.h5")
        result = self.cli("summary", "--json", "--check", "hand.h5")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["time_to_R_0.99_s"], 2.0)
        write_hand_made(self.tmp / "bad.h5", flashes_emitted=3)
        result = self.cli("summary", "--check", "hand.h5", "bad.h5")
        self.assertEqual(result.returncode, 1)
        self.assertIn("== bad.h5", result.stdout)
        self.assertIn("flashes_emitted = 3", result.stdout)

    def test_cli_plot_and_errors(self):
        write_run(self.tmp / "a.h5")
        write_run(self.tmp / "b.h5", record_flashes=False)

        def cli(*args: str) -> tuple[int, str]:  # in this process: quicker than python3 -m
            stderr = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
                status = cli_main(list(args))
            return status, stderr.getvalue()

        a, b = str(self.tmp / "a.h5"), str(self.tmp / "b.h5")
        for kind in ("order", "raster", "snapshot", "blocks", "block-map"):
            self.assertEqual(cli("plot", a, "--kind", kind), (0, ""))
            self.assertImage(self.tmp / f"a-{kind}.png")
        if plots.gif_available():
            self.assertEqual(cli("plot", a, "--kind", "animation", "--fps", "8"), (0, ""))
            self.assertImage(self.tmp / "a-animation.gif", b"GIF8")
        self.assertEqual(cli("plot", a, "--kind", "raster", "--t-range", "2:4", "-o",
                             str(self.tmp / "window.png"))[0], 0)
        self.assertImage(self.tmp / "window.png")
        self.assertEqual(cli("plot", a, b, "-o", str(self.tmp / "both.png"))[0], 0)
        self.assertImage(self.tmp / "both.png")
        status, stderr = cli("plot", b, "--kind", "raster")
        self.assertEqual(status, 1)
        self.assertIn("--record-flashes", stderr)
        status, stderr = cli("report", b, "--no-gif")
        self.assertEqual(status, 0)
        self.assertIn("no GIF: not asked for", stderr)
        self.assertImage(self.tmp / "b-report" / "snapshot_last.png")
        self.assertFalse((self.tmp / "b-report" / "snapshots.gif").exists())
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            cli_main(["plot", a, "--kind", "nonsense"])


# -- live reading of a growing file ----------------------------------------------------------


class FollowTests(TempDirCase):
    SAMPLES = 40

    def start_writer(self, path: Path, delay: float, ready: Path | None = None,
                     finish: str = "reopen"):
        command = [sys.executable, str(HERE / "swmr_writer.py"), str(path), str(self.SAMPLES),
                   str(delay), "--finish", finish]
        if ready is not None:
            command += ["--ready", str(ready)]
        writer = subprocess.Popen(command, env=subprocess_env())
        self.addCleanup(lambda: writer.poll() is None and writer.kill())
        return writer

    def check_final(self, run) -> None:
        self.assertEqual(run.n_samples, self.SAMPLES)
        for name in ("t", "R", "R_state", "flashes", "pulse"):
            expected = [swmr_writer.series_value(name, i) for i in range(self.SAMPLES)]
            np.testing.assert_allclose(getattr(run, name), expected, err_msg=name)
        self.assertEqual(run.block_R.shape, (self.SAMPLES, 2))
        self.assertEqual(run.status, "complete")

    def test_reader_sees_the_file_grow(self):
        path, ready = self.tmp / "live.h5", self.tmp / "ready"
        writer = self.start_writer(path, 0.05, ready)
        deadline = time.monotonic() + 60
        while not ready.exists():
            self.assertIsNone(writer.poll(), "writer died before SWMR mode")
            self.assertLess(time.monotonic(), deadline, "writer never reached SWMR mode")
            time.sleep(0.01)
        seen = []
        for run in follow(path, interval=0.02, stop=lambda: writer.poll() is not None):
            seen.append(run.n_samples)
            # every view is consistent: series of one length, samples in order
            self.assertTrue(all(a.size == run.n_samples
                                for a in (run.t, run.R, run.R_state, run.flashes, run.pulse)))
            np.testing.assert_array_equal(run.t, np.arange(run.n_samples) * 0.5)
        self.assertEqual(writer.wait(timeout=60), 0)
        self.assertEqual(seen, sorted(seen), "sample counts went backwards")
        partial = [n for n in seen if 0 < n < self.SAMPLES]
        self.assertGreaterEqual(len(set(partial)), 3, f"did not see the file grow: {seen}")
        self.check_final(run)

    def test_follow_waits_for_the_file_and_ends_on_final_status(self):
        path = self.tmp / "late.h5"
        writer = self.start_writer(path, 0.02, finish="swmr")  # the file may not exist yet
        started = time.monotonic()
        runs = list(follow(path, interval=0.05, idle_timeout=45))
        self.assertEqual(writer.wait(timeout=60), 0)
        self.assertLess(time.monotonic() - started, 45, "follow did not notice the end")
        self.assertTrue(runs[-1].is_final)
        self.check_final(runs[-1])

    def test_cli_follow_prints_every_sample(self):
        path = self.tmp / "cli.h5"
        writer = self.start_writer(path, 0.02)
        result = subprocess.run(
            [sys.executable, "-m", "fireflies_analysis", "follow", str(path), "--interval",
             "0.05", "--idle-timeout", "45"],
            env=subprocess_env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(writer.wait(timeout=60), 0)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [line for line in result.stdout.splitlines() if line.startswith("t =")]
        self.assertEqual(len(lines), self.SAMPLES)
        self.assertIn("status complete", result.stdout)

    def test_follow_gives_up(self):
        with self.assertRaises(TimeoutError):
            list(follow(self.tmp / "never.h5", interval=0.05, wait_for_file=0.3))
        with self.assertRaises(FileNotFoundError):
            list(follow(self.tmp / "never.h5", stop=lambda: True))

    def test_follow_finished_file(self):
        made = write_run(self.tmp / "done.h5")
        runs = list(follow(made.path, stop=lambda: True))
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0].n_samples, made.t.size)
        runs = list(follow(made.path))  # ends on its own: status is complete
        self.assertEqual(len(runs), 1)


# -- the walkthrough notebook ----------------------------------------------------------------


class NotebookTests(TempDirCase):
    def test_walkthrough_runs_on_an_existing_file(self):
        jupyter = shutil.which("jupyter")
        if jupyter is None:
            self.skipTest("jupyter (Debian: jupyter-nbconvert) is not installed")
        made = write_run(self.tmp / "input.h5", width=12, height=8, duration=30.0)
        out = self.tmp / "out"
        env = subprocess_env(FIREFLIES_NOTEBOOK_INPUT=str(made.path),
                             FIREFLIES_NOTEBOOK_OUTPUT=str(out),
                             PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("FIREFLIES_BIN", None)
        result = subprocess.run(
            [jupyter, "nbconvert", "--to", "notebook", "--execute",
             "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), str(NOTEBOOK)],
            env=env, capture_output=True, text=True, timeout=900)
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        executed = json.loads((out / NOTEBOOK.name).read_text())
        outputs = [o for cell in executed["cells"] if cell["cell_type"] == "code"
                   for o in cell["outputs"]]
        self.assertFalse([o for o in outputs if o["output_type"] == "error"])
        text = "".join("".join(o.get("text", "")) for o in outputs)
        self.assertIn("FIREFLIES_NOTEBOOK_INPUT is set", text)
        self.assertIn("time_to_R_0.9", text)
        self.assertIn("updates seen while following", text)
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        self.assertGreaterEqual(len(images), 7)


if __name__ == "__main__":
    unittest.main()
