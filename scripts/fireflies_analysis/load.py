"""Reading `fireflies` HDF5 output files, finished or still being written (SWMR).

Layout of a run file (written by the hub, rank 0):

=========================  ========================  =========================================
path                       type, shape               meaning (units)
=========================  ========================  =========================================
attributes of ``/``        scalars                   ``fireflies_version``, ``git_revision``,
                                                     ``config`` (TOML), ``mpi_size``,
                                                     ``workers``, ``process_grid``, ``seed``,
                                                     ``created`` (ISO 8601), ``width``,
                                                     ``height`` (cells), ``period`` (s),
                                                     ``status``, ``flashes_emitted``,
                                                     ``flashes_received`` (counts),
                                                     ``wall_time`` (s)
``/timeseries/t``          float64 [n]               sample time (s), every ``sample-every``
``/timeseries/R``          float64 [n]               order parameter from flash times (1)
``/timeseries/R_state``    float64 [n]               order parameter from true phases (1)
``/timeseries/flashes``    int64 [n]                 flashes in (previous t, t] (count)
``/timeseries/pulse``      float64 [n]               flashes so far / N (1)
``/timeseries/largest_    int64 [n]                 most flashes of the interval within one
volley``                                             ``--volley-window`` (flashes; -1: unknown)
``/flashes/t``             float64 [m]  (optional)   time of every flash (s)
``/flashes/agent``         int64 [m]    (optional)   flashing firefly, ``y * width + x``
``/snapshots/t``           float64 [k]  (optional)   snapshot time (s)
``/snapshots/phase``       float32 [k, ny, nx]       phase / period in [0, 1) (1); attributes
                                                     ``stride_x``, ``stride_y``: cells per pixel
``/blocks/R``              float64 [n, b] (optional) order parameter of each worker's block (1)
``/blocks/geometry``       int64 [b, 4]              ``x0, y0, width, height`` of a block (cells)
``/blocks/rank``           int64 [b]                 MPI rank that owns the block
=========================  ========================  =========================================

Every dataset carries the attributes ``units`` and ``description``.

A file that is still growing may show datasets of slightly different lengths (the writer
extends them one after the other); :func:`load_run` cuts the series of one group to their
common length so that the arrays of a :class:`Run` always line up.
"""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import h5py
import numpy as np

__all__ = [
    "FINAL_STATUSES",
    "MissingDataError",
    "Run",
    "follow",
    "load_run",
    "open_run_file",
]

#: Values of the root attribute ``status`` that mean the writer has finished with the file.
FINAL_STATUSES = ("complete", "interrupted", "checkpointed")

#: Units used when a dataset carries no ``units`` attribute.
DEFAULT_UNITS = {
    "timeseries/t": "s",
    "timeseries/R": "1",
    "timeseries/R_state": "1",
    "timeseries/flashes": "1",
    "timeseries/pulse": "1",
    "timeseries/largest_volley": "flashes",
    "flashes/t": "s",
    "flashes/agent": "1",
    "snapshots/t": "s",
    "snapshots/phase": "1",
    "blocks/R": "1",
    "blocks/geometry": "cells",
    "blocks/rank": "1",
}

_TIMESERIES = ("t", "R", "R_state", "flashes", "pulse")


class MissingDataError(LookupError):
    """The run file lacks an optional group that the requested analysis needs."""


@dataclass
class Run:
    """One `fireflies` run, read into memory.

    Time series (one entry per sample, every ``sample_every`` seconds of simulated time from
    t = 0) are always present, possibly empty for a file that has just been created. The
    optional groups are ``None`` when the file does not hold them.
    """

    path: Path
    #: Root attributes of the file, decoded to plain Python values.
    attrs: dict[str, Any]
    #: Every setting of the run, parsed from the TOML in the ``config`` attribute.
    config: dict[str, Any]
    #: Grid size (cells).
    width: int
    height: int
    #: Flash period T (s).
    period: float
    #: ``complete``, ``interrupted``, ``checkpointed``, or ``""`` while the run is being written.
    status: str

    #: Sample times (s).
    t: np.ndarray
    #: Order parameter computed from flash times, as the seed did (1).
    R: np.ndarray
    #: Order parameter from the true phases (1).
    R_state: np.ndarray
    #: Flashes in (previous t, t] (count).
    flashes: np.ndarray
    #: Flashes so far divided by the number of fireflies (1).
    pulse: np.ndarray

    #: The largest volley of each sample interval (flashes; -1 where unknown, in summary
    #: telemetry); ``None`` in files written before the program measured it.
    largest_volley: Optional[np.ndarray] = None

    #: Every flash: time (s) and firefly id ``y * width + x``; ``None`` without --record-flashes.
    #: With --record-region, only the flashes of the fireflies in :attr:`flash_region`.
    flash_t: Optional[np.ndarray] = None
    flash_agent: Optional[np.ndarray] = None
    #: The rectangle whose flashes /flashes holds: ``(x0, y0, width, height)`` in cells, columns
    #: ``[x0, x0 + width)`` and rows ``[y0, y0 + height)`` (``/flashes@region``); the whole grid
    #: when the run recorded every flash.
    flash_region: Optional[tuple[int, int, int, int]] = None

    #: Snapshot times (s) and phases ([k, ny, nx], phase / period in [0, 1)).
    snapshot_t: Optional[np.ndarray] = None
    snapshot_phase: Optional[np.ndarray] = None
    #: Grid cells one snapshot pixel stands for, along x and y.
    snapshot_stride: tuple[int, int] = (1, 1)

    #: Order parameter of each worker's block ([n_samples, n_blocks], 1), the blocks'
    #: ``x0, y0, width, height`` ([n_blocks, 4], cells) and owning MPI rank ([n_blocks]).
    block_R: Optional[np.ndarray] = None
    block_geometry: Optional[np.ndarray] = None
    block_rank: Optional[np.ndarray] = None

    #: Units of each dataset read, keyed by path without the leading slash (``"timeseries/t"``).
    units: dict[str, str] = field(default_factory=dict)
    #: Descriptions of each dataset read, keyed like :attr:`units`.
    descriptions: dict[str, str] = field(default_factory=dict)

    # -- derived quantities ------------------------------------------------------------------

    @property
    def n_fireflies(self) -> int:
        """Number of fireflies N = width * height."""
        return int(self.width) * int(self.height)

    @property
    def n_samples(self) -> int:
        """Number of time-series samples read."""
        return int(self.t.size)

    @property
    def duration(self) -> float:
        """Simulated time covered by the samples (s): last minus first sample time; 0 if empty."""
        return float(self.t[-1] - self.t[0]) if self.t.size else 0.0

    @property
    def sample_every(self) -> float:
        """Time between samples (s): the ``sample-every`` setting, else the median spacing."""
        value = self.setting("sample-every")
        if value is not None:
            return float(value)
        if self.t.size >= 2:
            return float(np.median(np.diff(self.t)))
        return 0.5

    @property
    def flash_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Column x and row y (cells, of the whole grid) of the firefly of each recorded flash."""
        if self.flash_agent is None:
            raise MissingDataError(f"{self.path}: no /flashes group (run fireflies with --record-flashes)")
        return self.flash_agent % self.width, self.flash_agent // self.width

    @property
    def flashes_of_whole_grid(self) -> bool:
        """Whether /flashes holds every firefly's flashes (not only a --record-region's)."""
        return self.flash_region is None or tuple(self.flash_region) == (0, 0, self.width, self.height)

    @property
    def has_flashes(self) -> bool:
        """Whether every flash was recorded (``/flashes``, from ``--record-flashes``)."""
        return self.flash_t is not None

    @property
    def has_snapshots(self) -> bool:
        """Whether the file holds at least one phase snapshot."""
        return self.snapshot_phase is not None and self.snapshot_phase.shape[0] > 0

    @property
    def has_blocks(self) -> bool:
        """Whether the file holds per-block order parameters."""
        return self.block_R is not None and self.block_geometry is not None

    @property
    def is_final(self) -> bool:
        """Whether the writer has marked the file finished (see :data:`FINAL_STATUSES`)."""
        return self.status in FINAL_STATUSES

    def setting(self, name: str, default: Any = None) -> Any:
        """A setting from the run's TOML config, found under ``name`` with ``-`` or ``_``.

        ``run.setting("refractory-mode")`` and ``run.setting("refractory_mode")`` are the same.
        The program stores its options in a ``[fireflies]`` table; a name not found at the top
        level is looked up there. Dotted names (``"fireflies.seed"``) descend into TOML tables.
        """
        missing = object()

        def find(node: Any) -> Any:
            for part in name.split("."):
                if not isinstance(node, dict):
                    return missing
                for key in (part, part.replace("_", "-"), part.replace("-", "_")):
                    if key in node:
                        node = node[key]
                        break
                else:
                    return missing
            return node

        for root in (self.config, self.config.get("fireflies") if isinstance(self.config, dict) else None):
            found = find(root) if root is not None else missing
            if found is not missing:
                return found
        return default

    def unit(self, dataset: str) -> str:
        """Units of a dataset (``"timeseries/t"`` -> ``"s"``), from the file or the defaults."""
        key = dataset.strip("/")
        return self.units.get(key) or DEFAULT_UNITS.get(key, "")


# -- reading ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """An attribute value as a plain Python value (str, int, float, bool or list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.shape == ():
            return _plain(value[()])
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attrs(obj: h5py.HLObject) -> dict[str, Any]:
    return {name: _plain(obj.attrs[name]) for name in obj.attrs}


def _parse_config(text: Any, path: Path) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    try:
        return tomllib.loads(str(text))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: the 'config' attribute is not valid TOML: {error}") from error


def open_run_file(path: str | os.PathLike, *, swmr: bool = True) -> h5py.File:
    """Open a run file read-only.

    With ``swmr=True`` (the default) the file is opened for single-writer/multiple-reader
    access, so that a file still being written can be read while it grows; a file that cannot
    be opened that way (for example one written without ``libver='latest'``) is opened plainly.
    """
    path = Path(path)
    if swmr:
        try:
            return h5py.File(path, "r", libver="latest", swmr=True)
        except OSError:
            if not path.exists():
                raise
    return h5py.File(path, "r")


def _dataset(f: h5py.File, name: str) -> Optional[h5py.Dataset]:
    obj = f.get(name)
    return obj if isinstance(obj, h5py.Dataset) else None


def _note_units(d: h5py.Dataset, run_kwargs: dict) -> None:
    """Record a dataset's ``units`` and ``description`` attributes in the Run's dictionaries."""
    key = d.name.lstrip("/")
    attrs = _attrs(d)
    if "units" in attrs:
        run_kwargs["units"][key] = str(attrs["units"])
    if "description" in attrs:
        run_kwargs["descriptions"][key] = str(attrs["description"])


def _read_group(
    f: h5py.File, group: str, names: tuple[str, ...], run_kwargs: dict
) -> Optional[dict[str, np.ndarray]]:
    """Read datasets of one group, cut to their common first-axis length; None if any is absent."""
    datasets = {n: _dataset(f, f"{group}/{n}") for n in names}
    if any(d is None for d in datasets.values()):
        return None
    n = min(d.shape[0] if d.ndim else 1 for d in datasets.values())
    out = {}
    for name, d in datasets.items():
        out[name] = np.asarray(d[:n]) if d.ndim else np.atleast_1d(np.asarray(d[()]))
        _note_units(d, run_kwargs)
    return out


def _read_run(
    f: h5py.File, path: Path, *, flashes: bool, snapshots: bool
) -> Run:
    attrs = _attrs(f)
    config_text = attrs.get("config")
    if config_text is None and isinstance(f.get("config"), h5py.Dataset):
        config_text = _plain(f["config"][()])  # tolerate the TOML stored as a string dataset
    config = _parse_config(config_text, path)
    kwargs: dict[str, Any] = {"units": {}, "descriptions": {}}

    def first(*values: Any, default: Any) -> Any:
        return next((v for v in values if v is not None), default)

    width = int(first(attrs.get("width"), config.get("width"), default=0))
    height = int(first(attrs.get("height"), config.get("height"), default=0))
    period = float(first(attrs.get("period"), config.get("period"), default=5.0))

    # The time series are required, but a damaged or half-created file should still load:
    # a missing series reads as NaN (zeros for the flash counts).
    present = tuple(n for n in _TIMESERIES if isinstance(f.get(f"timeseries/{n}"), h5py.Dataset))
    found = _read_group(f, "timeseries", present, kwargs) if present else {}
    n = min((a.shape[0] for a in found.values()), default=0)
    series = {}
    for name in _TIMESERIES:
        dtype = np.int64 if name == "flashes" else np.float64
        if name in found:
            series[name] = found[name].astype(dtype, copy=False)
        else:
            series[name] = np.zeros(n, dtype) if name == "flashes" else np.full(n, np.nan)

    volley = _dataset(f, "timeseries/largest_volley")
    if volley is not None:
        _note_units(volley, kwargs)
        values = np.asarray(volley[:n], dtype=np.int64)
        kwargs["largest_volley"] = np.pad(values, (0, n - values.size), constant_values=-1)

    if flashes:
        events = _read_group(f, "flashes", ("t", "agent"), kwargs)
        if events is not None:
            kwargs["flash_t"] = events["t"].astype(np.float64, copy=False)
            kwargs["flash_agent"] = events["agent"].astype(np.int64, copy=False)
            region = _attrs(f["flashes"]).get("region")
            kwargs["flash_region"] = (tuple(int(v) for v in np.asarray(region).ravel()) if region is not None
                                      else (0, 0, width, height))

    if snapshots:
        frames = _read_group(f, "snapshots", ("t", "phase"), kwargs)
        if frames is not None:
            kwargs["snapshot_t"] = frames["t"].astype(np.float64, copy=False)
            kwargs["snapshot_phase"] = frames["phase"]
            phase_attrs = _attrs(f["snapshots/phase"])
            kwargs["snapshot_stride"] = (
                int(phase_attrs.get("stride_x", 1)),
                int(phase_attrs.get("stride_y", 1)),
            )

    geometry = _dataset(f, "blocks/geometry")
    if geometry is not None:
        _note_units(geometry, kwargs)
        kwargs["block_geometry"] = np.asarray(geometry[()], dtype=np.int64).reshape(-1, 4)
        rank = _dataset(f, "blocks/rank")
        if rank is not None:
            _note_units(rank, kwargs)
            kwargs["block_rank"] = np.asarray(rank[()], dtype=np.int64).reshape(-1)
        block_R = _dataset(f, "blocks/R")
        if block_R is not None:
            _note_units(block_R, kwargs)
            rows = min(block_R.shape[0], series["t"].size)
            values = np.asarray(block_R[:rows], dtype=np.float64)
            kwargs["block_R"] = values if values.ndim == 2 else values.reshape(rows, 1)

    return Run(
        path=path,
        attrs=attrs,
        config=config,
        width=width,
        height=height,
        period=period,
        status=str(attrs.get("status", "")),
        **series,
        **kwargs,
    )


def load_run(
    path: str | os.PathLike, *, flashes: bool = True, snapshots: bool = True, swmr: bool = True
) -> Run:
    """Read a run file into a :class:`Run`.

    Optional groups (``/flashes``, ``/snapshots``, ``/blocks``) that are absent read as
    ``None``. ``flashes=False`` or ``snapshots=False`` skip reading those groups (they can be
    large). The file may still be growing: it is opened with SWMR (see :func:`open_run_file`)
    and each group is cut to the length all its datasets have reached.
    """
    path = Path(path)
    with open_run_file(path, swmr=swmr) as f:
        return _read_run(f, path, flashes=flashes, snapshots=snapshots)


def _read_if_ready(path: Path, flashes: bool, snapshots: bool) -> Optional[Run]:
    """One read of a file being written; None while it does not exist, cannot be opened (the
    writer may hold it exclusively for a moment) or lacks its time series yet."""
    try:
        with open_run_file(path, swmr=True) as f:
            if "timeseries" not in f:
                return None
            return _read_run(f, path, flashes=flashes, snapshots=snapshots)
    except (OSError, KeyError):
        return None


def follow(
    path: str | os.PathLike,
    *,
    interval: float = 0.5,
    stop: Optional[Callable[[], bool]] = None,
    idle_timeout: Optional[float] = None,
    wait_for_file: float = 60.0,
    flashes: bool = False,
    snapshots: bool = False,
) -> Iterator[Run]:
    """Follow a run file while the program writes it, yielding a :class:`Run` as it grows.

    Every ``interval`` seconds (wall time) the file is opened for SWMR reading, read and closed
    again. Holding it open between polls would keep HDF5's file lock, and a writer that closes
    and reopens the file (to write its final attributes) would then fail to open it; reopening
    also brings root attributes (``status``, totals) up to date, which HDF5 does not refresh
    in an open file. A new :class:`Run` is yielded whenever more samples (or snapshots, when
    read) have appeared or the status has changed; the first one as soon as the file holds
    its time series.

    Following ends when

    - ``stop()`` returns true (for example ``lambda: process.poll() is not None``): the file is
      then read once more, and a last :class:`Run` is yielded if it differs from the previous
      one, so that the final state is seen;
    - the ``status`` attribute reads as finished (:data:`FINAL_STATUSES`);
    - ``idle_timeout`` seconds (wall time) pass without the file growing.

    ``flashes`` and ``snapshots`` choose whether the (possibly large) event and frame groups are
    read on every poll; the time series and block order parameters always are.

    Raises :class:`TimeoutError` if the file cannot be read for ``wait_for_file`` seconds in a
    row (at the start, or later), and :class:`FileNotFoundError` if ``stop()`` turns true
    before the file exists.
    """
    path = Path(path)
    interval = max(float(interval), 0.0)
    retry = min(max(interval, 0.05), 1.0)
    read = dict(flashes=flashes, snapshots=snapshots)

    def state(run: Run) -> tuple[int, int, str]:
        frames = run.snapshot_phase.shape[0] if run.snapshot_phase is not None else 0
        return (run.n_samples, frames, run.status)

    last: Optional[tuple[int, int, str]] = None
    last_read = last_growth = time.monotonic()
    while True:
        stopping = stop is not None and bool(stop())
        if stopping:
            if not path.exists():
                raise FileNotFoundError(f"{path}: the writer stopped before creating it")
            run = load_run(path, **read)  # the writer is gone: errors are real now
        else:
            run = _read_if_ready(path, **read)
            if run is None:
                if time.monotonic() - last_read > wait_for_file:
                    raise TimeoutError(f"{path}: could not read the run file for "
                                       f"{wait_for_file} s")
                time.sleep(retry)
                continue
        now = last_read = time.monotonic()
        if state(run) != last:
            last, last_growth = state(run), now
            yield run
        if stopping or run.is_final:
            return
        if idle_timeout is not None and now - last_growth > idle_timeout:
            return
        time.sleep(interval)
