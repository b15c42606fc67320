"""Figures of a run. Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (so no global state and no display are needed; save with ``fig.savefig``), with units on
every axis and colour bar.

The data behind each figure is available on its own (``raster_points``, ``snapshot_frame``,
``block_R_map``) so that it can be checked or reused without reading artists back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .convergence import SUMMARY_LEVELS, time_to_reach
from .load import MissingDataError, Run

__all__ = [
    "PHASE_CMAP",
    "animate_snapshots",
    "block_R_map",
    "gif_available",
    "new_figure",
    "plot_block_R",
    "plot_block_map",
    "plot_compare",
    "plot_order_parameter",
    "plot_raster",
    "plot_snapshot",
    "raster_points",
    "snapshot_frame",
]

#: Colour map for phases: cyclic, so phase 0 and phase 1 (the same moment) look alike.
PHASE_CMAP = "twilight"

#: Colour map for order parameters in [0, 1].
ORDER_CMAP = "viridis"


def new_figure(width: float = 8.0, height: float = 4.5, **kwargs) -> Figure:
    """A Figure (size in inches) with an Agg canvas, independent of pyplot's figure manager."""
    fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def _grid_figure(run: Run, width: float = 7.0) -> Figure:
    """A figure shaped for an image of the grid plus a colour bar."""
    aspect = run.height / run.width if run.width > 0 and run.height > 0 else 1.0
    return new_figure(width, min(max(0.8 * (width - 1.5) * aspect + 1.0, 2.5), 9.0))


def _label(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def _title(run: Run) -> str:
    parts = [run.path.name, f"{run.width} x {run.height} cells"]
    mode = run.setting("refractory-mode")
    if mode:
        parts.append(f"refractory {mode}")
    if run.setting("partitioned"):
        parts.append("partitioned")
    if "mpi_size" in run.attrs:
        parts.append(f"{run.attrs['mpi_size']} ranks")
    if run.status and run.status != "complete":
        parts.append(run.status)
    return ", ".join(parts)


# -- order parameter -------------------------------------------------------------------------


def plot_order_parameter(run: Run, *, levels: Sequence[float] = SUMMARY_LEVELS) -> Figure:
    """R and R_state against simulated time (top), flashes per sample interval (bottom).

    Dotted horizontal lines mark ``levels`` and a marker shows where R first reaches each.
    """
    fig = new_figure(8.0, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    t_label = _label("simulated time t", run.unit("timeseries/t"))
    top.plot(run.t, run.R, label="R (from flash times)", color="C0")
    top.plot(run.t, run.R_state, label="R_state (from true phases)", color="C1", alpha=0.8)
    for level in levels:
        top.axhline(level, color="0.6", linestyle=":", linewidth=1)
        reached = time_to_reach(run, level)
        if reached is not None:
            top.plot([reached], [level], "o", color="C0", markersize=4)
            top.annotate(f"R = {level:g} at {reached:g} s", (reached, level),
                         textcoords="offset points", xytext=(4, -12), fontsize=8)
    top.set_ylim(0.0, 1.05)
    top.set_ylabel(_label("order parameter", run.unit("timeseries/R")))
    top.legend(loc="lower right")
    top.set_title(_title(run))

    dt = run.sample_every
    bottom.step(run.t, run.flashes, where="pre", color="C2")
    bottom.set_ylabel(_label(f"flashes per {dt:g} s", "count"))
    bottom.set_xlabel(t_label)
    if run.n_samples:
        bottom.set_xlim(run.t[0], run.t[-1] if run.t[-1] > run.t[0] else run.t[0] + 1)
    return fig


def plot_compare(runs: Sequence[Run], *, series: str = "R") -> Figure:
    """One order parameter (``"R"`` or ``"R_state"``) of several runs against simulated time."""
    fig = new_figure(8.0, 4.5)
    ax = fig.subplots()
    for run in runs:
        ax.plot(run.t, getattr(run, series), label=_title(run))
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel(_label("simulated time t", "s"))
    ax.set_ylabel(_label(series, "1"))
    ax.legend(fontsize=8, loc="lower right")
    return fig


# -- flash raster ----------------------------------------------------------------------------


def raster_points(
    run: Run, t_range: Optional[tuple[float, float]] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flash times (s) and firefly ids (``y * width + x``) of every recorded flash, in file
    order, optionally only those with ``t_range[0] <= t <= t_range[1]``.

    Raises :class:`MissingDataError` if the run was not recorded with ``--record-flashes``.
    """
    if run.flash_t is None or run.flash_agent is None:
        raise MissingDataError(
            f"{run.path}: no /flashes group (run fireflies with --record-flashes)"
        )
    t, agent = run.flash_t, run.flash_agent
    if t_range is not None:
        keep = (t >= t_range[0]) & (t <= t_range[1])
        t, agent = t[keep], agent[keep]
    return t, agent


def plot_raster(run: Run, t_range: Optional[tuple[float, float]] = None) -> Figure:
    """Every flash as a point: simulated time against firefly id (``y * width + x``).

    Synchronised fireflies show as vertical stripes one period apart. The points are the single
    scatter collection of the figure's only axes (one point per flash event).
    """
    t, agent = raster_points(run, t_range)
    fig = new_figure(8.0, 5.0)
    ax = fig.subplots()
    size = 4.0 if t.size < 5_000 else 1.0
    ax.scatter(t, agent, s=size, marker="|" if t.size < 5_000 else ".", linewidths=0.6,
               color="k", rasterized=True)
    ax.set_xlabel(_label("simulated time t", run.unit("flashes/t")))
    ax.set_ylabel(_label("firefly id = y * width + x", "1"))
    ax.set_ylim(-0.5, max(run.n_fireflies, 1) - 0.5)
    if t_range is not None:
        ax.set_xlim(*t_range)
    elif run.n_samples:
        ax.set_xlim(run.t[0], max(run.t[-1], run.t[0] + 1e-9))
    ax.set_title(f"{_title(run)}: {t.size} flashes")
    return fig


# -- snapshots -------------------------------------------------------------------------------


def _require_snapshots(run: Run) -> None:
    if not run.has_snapshots:
        raise MissingDataError(
            f"{run.path}: no phase snapshots (run fireflies with --snapshot-every SECONDS)"
        )


def snapshot_frame(run: Run, index: int = -1) -> tuple[float, np.ndarray]:
    """Time (s) and phase array ([ny, nx], phase / period in [0, 1)) of one snapshot, exactly
    as stored; ``index`` counts from 0, negative from the end.

    Each pixel stands for ``run.snapshot_stride`` = (stride_x, stride_y) grid cells.
    """
    _require_snapshots(run)
    assert run.snapshot_phase is not None and run.snapshot_t is not None
    k = run.snapshot_phase.shape[0]
    if not -k <= index < k:
        raise IndexError(f"snapshot {index} out of range: the run has {k}")
    return float(run.snapshot_t[index]), run.snapshot_phase[index]


def _draw_phase(ax, run: Run, frame: np.ndarray):
    sx, sy = run.snapshot_stride
    ny, nx = frame.shape
    image = ax.imshow(frame, cmap=PHASE_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest",
                      extent=(0, nx * sx, ny * sy, 0))
    # A last pixel may stand for fewer cells than the stride: show the grid, not the pixels.
    ax.set_xlim(0, run.width or nx * sx)
    ax.set_ylim(run.height or ny * sy, 0)
    ax.set_xlabel(_label("x", "cells"))
    ax.set_ylabel(_label("y", "cells"))
    return image


def _phase_colorbar(fig: Figure, image, ax) -> None:
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(_label("phase / period", "1"))


def plot_snapshot(run: Run, index: int = -1) -> Figure:
    """One phase snapshot as an image of the grid (cyclic colours: phase / period in [0, 1)).

    The image is the only image of the figure's first axes, and its array is the stored frame.
    """
    t, frame = snapshot_frame(run, index)
    fig = _grid_figure(run)
    ax = fig.subplots()
    image = _draw_phase(ax, run, frame)
    _phase_colorbar(fig, image, ax)
    sx, sy = run.snapshot_stride
    stride = f", 1 pixel = {sx} x {sy} cells" if (sx, sy) != (1, 1) else ""
    ax.set_title(f"{run.path.name}: phase at t = {t:g} s{stride}")
    return fig


def gif_available() -> bool:
    """Whether GIF animations can be written (matplotlib's PillowWriter needs python3-pil)."""
    from matplotlib.animation import PillowWriter

    return PillowWriter.isAvailable()


def animate_snapshots(
    run: Run, path: str | os.PathLike, *, fps: float = 4.0, dpi: int = 80
) -> Path:
    """Write every phase snapshot, in order, as frames of an animated GIF at ``path``.

    ``fps`` is frames per second of the animation (wall time), not of the simulation. Raises
    :class:`RuntimeError` if Pillow (Debian package python3-pil) is not installed and
    :class:`MissingDataError` if the run has no snapshots.
    """
    from matplotlib.animation import PillowWriter

    _require_snapshots(run)
    if not gif_available():
        raise RuntimeError(
            "writing a GIF needs Pillow: install the Debian package python3-pil "
            "(apt-get install python3-pil)"
        )
    assert run.snapshot_phase is not None and run.snapshot_t is not None
    fig = _grid_figure(run, 6.0)
    ax = fig.subplots()
    image = _draw_phase(ax, run, run.snapshot_phase[0])
    _phase_colorbar(fig, image, ax)
    title = ax.set_title(f"{run.path.name}: phase at t = {run.snapshot_t[0]:g} s")
    fig.canvas.draw()
    fig.set_layout_engine("none")  # lay out once: only the image and the title change
    path = Path(path)
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(path), dpi):
        for frame, t in zip(run.snapshot_phase, run.snapshot_t):
            image.set_data(frame)
            title.set_text(f"{run.path.name}: phase at t = {t:g} s")
            writer.grab_frame()
    return path


# -- blocks ----------------------------------------------------------------------------------


def _require_blocks(run: Run) -> None:
    if not run.has_blocks or run.block_R is None or run.block_R.shape[0] == 0:
        raise MissingDataError(f"{run.path}: no per-block order parameters (/blocks)")


def _block_names(run: Run) -> list[str]:
    assert run.block_geometry is not None
    if run.block_rank is not None:
        return [f"rank {int(r)}" for r in run.block_rank]
    return [f"block {b}" for b in range(run.block_geometry.shape[0])]


def plot_block_R(run: Run) -> Figure:
    """The order parameter of each worker's block against simulated time, one line per block,
    with the whole grid's R for comparison (legend only for up to 16 blocks)."""
    _require_blocks(run)
    assert run.block_R is not None
    rows = run.block_R.shape[0]
    fig = new_figure(8.0, 4.5)
    ax = fig.subplots()
    for b, name in enumerate(_block_names(run)):
        ax.plot(run.t[:rows], run.block_R[:, b], linewidth=1, alpha=0.8, label=name)
    ax.plot(run.t, run.R, color="k", linewidth=2, label="whole grid R")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel(_label("simulated time t", run.unit("timeseries/t")))
    ax.set_ylabel(_label("block order parameter R", run.unit("blocks/R")))
    if run.block_R.shape[1] <= 16:
        ax.legend(fontsize=8, loc="lower right", ncols=2)
    ax.set_title(f"{_title(run)}: {run.block_R.shape[1]} blocks")
    return fig


def block_R_map(run: Run, index: int = -1) -> np.ndarray:
    """Order parameter of each block at sample ``index``, painted on the grid: an array
    [height, width] (cells, row y, column x) holding each cell's block R (1); NaN where no block
    covers a cell."""
    _require_blocks(run)
    assert run.block_R is not None and run.block_geometry is not None
    values = run.block_R[index]
    grid = np.full((run.height, run.width), np.nan)
    for (x0, y0, w, h), value in zip(run.block_geometry, values):
        grid[y0:y0 + h, x0:x0 + w] = value
    return grid


def plot_block_map(run: Run, index: int = -1) -> Figure:
    """Each block's order parameter at sample ``index`` (default: the last) laid out on the
    grid, with block outlines, and rank labels when there are at most 64 blocks."""
    grid = block_R_map(run, index)
    assert run.block_geometry is not None
    t = run.t[: run.block_R.shape[0]][index]
    fig = _grid_figure(run)
    ax = fig.subplots()
    image = ax.imshow(grid, cmap=ORDER_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest",
                      extent=(0, run.width, run.height, 0))
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(_label("block order parameter R", run.unit("blocks/R")))
    names = _block_names(run)
    label = len(names) <= 64
    for (x0, y0, w, h), value, name in zip(run.block_geometry, run.block_R[index], names):
        ax.add_patch(Rectangle((x0, y0), w, h, fill=False, edgecolor="w", linewidth=1))
        if label:
            ax.text(x0 + w / 2, y0 + h / 2, f"{name}\n{value:.2f}", ha="center", va="center",
                    fontsize=7, color="w" if value < 0.6 else "k")
    ax.set_xlabel(_label("x", "cells"))
    ax.set_ylabel(_label("y", "cells"))
    ax.set_title(f"{run.path.name}: block R at t = {t:g} s")
    return fig
