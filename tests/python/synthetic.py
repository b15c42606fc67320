"""Synthetic `fireflies` run files, written with h5py in the layout the program writes
(see scripts/fireflies_analysis/load.py), for testing the analysis without the program.

Run as a script it writes one file: ``python3 synthetic.py OUT.h5``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

UNITS = {
    "timeseries/t": ("s", "simulated time of the sample"),
    "timeseries/R": ("1", "order parameter from the time since each firefly's last flash"),
    "timeseries/R_state": ("1", "order parameter from the true phases"),
    "timeseries/flashes": ("1", "flashes in (previous t, t]"),
    "timeseries/pulse": ("1", "flashes so far / N"),
    "flashes/t": ("s", "simulated time of the flash"),
    "flashes/agent": ("1", "flashing firefly, y * width + x"),
    "snapshots/t": ("s", "simulated time of the snapshot"),
    "snapshots/phase": ("1", "phase / period in [0, 1)"),
    "blocks/R": ("1", "order parameter of each worker's block"),
    "blocks/geometry": ("cells", "x0, y0, width, height of each block"),
    "blocks/rank": ("1", "MPI rank owning the block"),
}


@dataclass
class Synthetic:
    """What :func:`write_run` wrote, for comparing against what the analysis reads."""

    path: Path
    width: int
    height: int
    period: float
    t: np.ndarray
    R: np.ndarray
    R_state: np.ndarray
    flashes: np.ndarray
    pulse: np.ndarray
    flash_t: Optional[np.ndarray] = None
    flash_agent: Optional[np.ndarray] = None
    snapshot_t: Optional[np.ndarray] = None
    snapshot_phase: Optional[np.ndarray] = None
    block_R: Optional[np.ndarray] = None
    block_geometry: Optional[np.ndarray] = None
    block_rank: Optional[np.ndarray] = None
    attrs: dict = field(default_factory=dict)


def config_toml(width: int, height: int, period: float, duration: float, sample_every: float,
                mode: str = "drop", seed: int = 7) -> str:
    return "\n".join([
        f"width = {width}",
        f"height = {height}",
        f"duration = {duration!r}",
        f"period = {period!r}",
        "nudge = 0.2",
        "refractory = 0.2",
        f'refractory-mode = "{mode}"',
        "delay = 0.01",
        "jitter = 0.1",
        f"sample-every = {sample_every!r}",
        f"seed = {seed}",
        "partitioned = false",
        'telemetry = "events"',
        "",
    ])


def flash_events(width: int, height: int, period: float, duration: float, seed: int):
    """Each firefly flashes every period from a random offset: (times, agents) sorted by time."""
    rng = np.random.default_rng(seed)
    n = width * height
    offsets = rng.uniform(0.0, period, n)
    times, agents = [], []
    for agent, offset in enumerate(offsets):
        k = np.arange(0, int(math.ceil(duration / period)) + 1)
        t = offset + k * period
        t = t[(t > 0) & (t <= duration)]
        times.append(t)
        agents.append(np.full(t.size, agent, np.int64))
    times = np.concatenate(times)
    agents = np.concatenate(agents)
    order = np.argsort(times, kind="stable")
    return times[order], agents[order]


def _put(f: h5py.File, name: str, data: np.ndarray, **kwargs) -> h5py.Dataset:
    d = f.create_dataset(name, data=data, **kwargs)
    units, description = UNITS[name]
    d.attrs["units"] = units
    d.attrs["description"] = description
    return d


def write_run(
    path: str | Path,
    *,
    width: int = 6,
    height: int = 4,
    period: float = 5.0,
    duration: float = 20.0,
    sample_every: float = 0.5,
    seed: int = 7,
    status: str = "complete",
    R: Optional[np.ndarray] = None,
    R_state: Optional[np.ndarray] = None,
    record_flashes: bool = True,
    snapshot_every: Optional[float] = 2.5,
    stride: tuple[int, int] = (1, 1),
    blocks: Optional[tuple[int, int]] = (2, 2),
    received_per_flash: int = 8,
) -> Synthetic:
    """Write a complete run file; returns what was written.

    Flashes: every firefly flashes once per period from a random offset; the time series count
    them per sample interval. ``R``/``R_state`` default to smooth rises towards 1 and can be
    given by hand (their length fixes the number of samples). ``blocks=(px, py)`` splits the
    grid into px x py worker blocks; ``None`` leaves out /blocks, ``record_flashes=False``
    /flashes and ``snapshot_every=None`` /snapshots.
    """
    path = Path(path)
    n = width * height
    if R is not None:
        samples = len(R)
    else:
        samples = int(round(duration / sample_every)) + 1
    t = np.arange(samples, dtype=np.float64) * sample_every
    duration = float(t[-1])
    if R is None:
        R = 1.0 - np.exp(-t / (duration / 3 + 1e-9))
    if R_state is None:
        R_state = np.clip(np.asarray(R) * 1.01, 0.0, 1.0)
    ft, fa = flash_events(width, height, period, duration, seed)
    # flashes in (t[j-1], t[j]]: searchsorted with side="left" puts t == t[j] into sample j
    index = np.searchsorted(t, ft, side="left")
    counts = np.bincount(index, minlength=samples)[:samples].astype(np.int64)
    pulse = np.cumsum(counts) / n

    attrs = {
        "fireflies_version": "0.1.0",
        "git_revision": "synthetic",
        "config": config_toml(width, height, period, duration, sample_every, seed=seed),
        "mpi_size": (blocks[0] * blocks[1] + 1) if blocks else 1,
        "workers": (blocks[0] * blocks[1]) if blocks else 1,
        "process_grid": f"{blocks[0]}x{blocks[1]}" if blocks else "1x1",
        "seed": seed,
        "created": "2025-01-01T00:00:00Z",
        "width": width,
        "height": height,
        "period": period,
        "status": status,
        "flashes_emitted": int(counts.sum()),
        "flashes_received": int(counts.sum()) * received_per_flash,
        "wall_time": 1.25,
    }
    out = Synthetic(path=path, width=width, height=height, period=period, t=t,
                    R=np.asarray(R, np.float64), R_state=np.asarray(R_state, np.float64),
                    flashes=counts, pulse=pulse, attrs=attrs)
    rng = np.random.default_rng(seed + 1)
    with h5py.File(path, "w", libver="latest") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        _put(f, "timeseries/t", t)
        _put(f, "timeseries/R", out.R)
        _put(f, "timeseries/R_state", out.R_state)
        _put(f, "timeseries/flashes", counts)
        _put(f, "timeseries/pulse", pulse)
        if record_flashes:
            out.flash_t, out.flash_agent = ft, fa
            _put(f, "flashes/t", ft)
            _put(f, "flashes/agent", fa)
        if snapshot_every is not None:
            sx, sy = stride
            ny, nx = -(-height // sy), -(-width // sx)
            out.snapshot_t = np.arange(0.0, duration + 1e-9, snapshot_every)
            out.snapshot_phase = rng.uniform(0, 1, (out.snapshot_t.size, ny, nx)).astype(np.float32)
            _put(f, "snapshots/t", out.snapshot_t)
            d = _put(f, "snapshots/phase", out.snapshot_phase)
            d.attrs["stride_x"] = sx
            d.attrs["stride_y"] = sy
        if blocks is not None:
            px, py = blocks
            xs = np.linspace(0, width, px + 1).round().astype(np.int64)
            ys = np.linspace(0, height, py + 1).round().astype(np.int64)
            geometry = [(xs[i], ys[j], xs[i + 1] - xs[i], ys[j + 1] - ys[j])
                        for j in range(py) for i in range(px)]
            out.block_geometry = np.array(geometry, np.int64)
            out.block_rank = np.arange(1, px * py + 1, dtype=np.int64)
            out.block_R = rng.uniform(0, 1, (samples, px * py))
            _put(f, "blocks/R", out.block_R)
            _put(f, "blocks/geometry", out.block_geometry)
            _put(f, "blocks/rank", out.block_rank)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: synthetic.py OUT.h5")
    write_run(sys.argv[1], width=20, height=12, duration=60.0, blocks=(3, 2))
    print(sys.argv[1])
