"""Convergence measures of a run: when the fireflies synchronise, how often they flash, and
whether the totals in the file agree with each other."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .load import Run

__all__ = ["SUMMARY_LEVELS", "format_summary", "summary", "time_to_reach", "time_to_sync"]

#: Order-parameter levels whose first crossing :func:`summary` reports.
SUMMARY_LEVELS = (0.9, 0.99)

#: Number of Moore neighbours that receive a pulse from one flash.
NEIGHBOURS = 8


def time_to_reach(
    run: Run, level: float, *, series: str = "R", sustained: bool = False
) -> Optional[float]:
    """Simulated time (s) at which an order parameter first reaches ``level`` (``>=``).

    ``series`` is ``"R"`` (from flash times, as the seed computed it) or ``"R_state"`` (from
    the true phases). The answer is a sample time, so it is exact to the sampling interval
    (``run.sample_every``, 0.5 s by default); no interpolation between samples.

    With ``sustained=True`` the answer is instead the first sample from which the series stays
    at or above ``level`` up to the last sample. ``None`` if the level is never reached (NaN
    samples count as below it).
    """
    if series not in ("R", "R_state"):
        raise ValueError(f"series must be 'R' or 'R_state', not {series!r}")
    values = np.asarray(getattr(run, series), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        above = values >= level
    if not above.any():
        return None
    if sustained:
        if not above[-1]:
            return None
        below = np.flatnonzero(~above)
        index = int(below[-1]) + 1 if below.size else 0
    else:
        index = int(np.argmax(above))
    return float(run.t[index])


TICKS_PER_SECOND = 1_000_000_000


def _ticks(seconds: float) -> int:
    """Seconds to the program's integer nanoseconds, rounded as the program rounds them."""
    t = float(seconds) * TICKS_PER_SECOND
    return int(t - 0.5) if t < 0 else int(t + 0.5)


def time_to_sync(
    R_state: np.ndarray, *, sample_every: float, period: float, threshold: float = 0.99
) -> Optional[float]:
    """The program's ``time_to_sync`` rule, recomputed from the series (s), or ``None``.

    The first sample time from which R_state stays at or above ``threshold`` for a whole
    period: samples k0, k0 + 1, ..., k all >= threshold with ``t_k - t_k0 >= period``; the answer
    is ``t_k0``. Times are compared in integer nanoseconds, as the hub does
    (``/timeseries/t[k] = k * sample_every``), so this gives the attribute the program writes
    (``docs/output.md``) for a file whose program predates it, and checks it for one that
    does not.
    """
    values = np.asarray(R_state, dtype=np.float64)
    s, T = _ticks(sample_every), _ticks(period)
    if s <= 0:
        raise ValueError(f"sample_every must be positive, not {sample_every}")
    span = -(-T // s)  # the stretch must cover ceil(T / s) sample intervals
    with np.errstate(invalid="ignore"):
        above = values >= threshold
    if not above.any():
        return None
    edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1  # last sample of each stretch
    long_enough = np.flatnonzero(ends - starts >= span)
    if long_enough.size == 0:
        return None
    return float(starts[long_enough[0]] * s) / TICKS_PER_SECOND


def _key(level: float) -> str:
    return f"{level:g}"


def summary(run: Run) -> dict[str, Any]:
    """The key numbers of a run, as a flat dict with JSON-friendly values.

    Keys carry their units as suffixes (``_s`` seconds, ``_per_s`` per second of simulated
    time, ``_cells``); bare quantities have unit 1. ``None`` marks an undefined value (a level
    never reached, an attribute the file lacks).

    - ``time_to_R_0.9_s``, ``time_to_R_0.99_s``, ``time_to_R_state_0.9_s``, ...: first sample
      time at which the order parameter reaches the level (:func:`time_to_reach`);
    - ``time_to_sync_s``: the program's ``time_to_sync`` (the first time R_state stays at or
      above the threshold for a period; :func:`time_to_sync` for outputs that predate it) and
      ``stopped_when_synced``;
    - ``final_R``, ``final_R_state``: the last sample;
    - ``flashes_per_firefly_per_s``: flashes in the time series / (N * covered time); an
      uncoupled firefly flashes about 1 / period per second;
    - the totals check: ``flashes_in_timeseries`` (sum of ``/timeseries/flashes``),
      ``flashes_from_pulse`` (last ``pulse`` * N), ``flashes_emitted`` and ``flashes_received``
      (file attributes), ``flashes_recorded`` (events in ``/flashes``, compared with the series
      only when they are the whole grid's, not a ``--record-region``'s), ``received_per_emitted``
      (at most 8, the Moore neighbours; less when pulses are cut at block boundaries or still in
      flight at the end); ``totals_consistent`` is False and ``totals_problems`` lists why when
      these disagree.
    """
    a = run.attrs
    n = run.n_fireflies
    out: dict[str, Any] = {
        "file": str(run.path),
        "status": run.status or None,
        "fireflies_version": a.get("fireflies_version"),
        "git_revision": a.get("git_revision"),
        "created": a.get("created"),
        "width_cells": run.width,
        "height_cells": run.height,
        "fireflies": n,
        "period_s": run.period,
        "refractory_mode": run.setting("refractory-mode"),
        "partitioned": run.setting("partitioned"),
        "seed": a.get("seed"),
        "mpi_size": a.get("mpi_size"),
        "workers": a.get("workers"),
        "process_grid": a.get("process_grid"),
        "samples": run.n_samples,
        "sample_every_s": run.sample_every,
        "simulated_time_s": float(run.t[-1]) if run.n_samples else 0.0,
        "wall_time_s": a.get("wall_time"),
    }
    for series in ("R", "R_state"):
        for level in SUMMARY_LEVELS:
            out[f"time_to_{series}_{_key(level)}_s"] = time_to_reach(run, level, series=series)
    # The program's time to synchrony (docs/output.md): its attribute, or for an output of a
    # program before it, the same rule on the series (threshold 0.99).
    if "time_to_sync" in a:
        out["time_to_sync_s"] = float(a["time_to_sync"])
    elif run.setting("sync-threshold") is not None or not run.n_samples:
        out["time_to_sync_s"] = None
    else:
        out["time_to_sync_s"] = time_to_sync(run.R_state, sample_every=run.sample_every,
                                             period=run.period, threshold=0.99)
    out["stopped_when_synced"] = bool(a.get("stopped_when_synced", 0))
    out["final_R"] = float(run.R[-1]) if run.n_samples else None
    out["final_R_state"] = float(run.R_state[-1]) if run.n_samples else None

    in_series = int(run.flashes.sum())
    covered = run.duration
    out["flashes_per_firefly_per_s"] = (
        in_series / (n * covered) if n > 0 and covered > 0 else None
    )
    wall = a.get("wall_time")
    out["simulated_per_wall_time"] = (
        out["simulated_time_s"] / float(wall) if wall and float(wall) > 0 else None
    )

    # Totals check.
    problems: list[str] = []
    out["flashes_in_timeseries"] = in_series
    from_pulse = float(run.pulse[-1]) * n if run.n_samples else 0.0
    out["flashes_from_pulse"] = int(round(from_pulse)) if math.isfinite(from_pulse) else None
    if run.n_samples and n > 0:
        cumulative = np.cumsum(run.flashes)
        if not np.allclose(run.pulse * n, cumulative, rtol=0.0, atol=1e-6 * max(1, in_series)):
            first = int(np.argmax(~np.isclose(run.pulse * n, cumulative)))
            problems.append(
                f"pulse * N != cumulative flashes from t = {run.t[first]:g} s "
                f"({run.pulse[first] * n:g} vs {cumulative[first]})"
            )
    emitted = a.get("flashes_emitted")
    received = a.get("flashes_received")
    out["flashes_emitted"] = emitted
    out["flashes_received"] = received
    out["flashes_recorded"] = int(run.flash_t.size) if run.flash_t is not None else None
    if emitted is not None and run.status == "complete" and int(emitted) != in_series:
        problems.append(f"flashes_emitted = {emitted} but the time series sum to {in_series}")
    if out["flashes_recorded"] is not None and run.flashes_of_whole_grid and out["flashes_recorded"] != in_series:
        problems.append(
            f"{out['flashes_recorded']} flashes recorded in /flashes but the time series "
            f"sum to {in_series}"
        )
    if emitted is not None and received is not None:
        out["received_per_emitted"] = int(received) / int(emitted) if int(emitted) > 0 else None
        if int(received) > NEIGHBOURS * int(emitted):
            problems.append(
                f"flashes_received = {received} exceeds {NEIGHBOURS} x flashes_emitted = "
                f"{NEIGHBOURS * int(emitted)}"
            )
    else:
        out["received_per_emitted"] = None
    out["totals_consistent"] = not problems
    out["totals_problems"] = problems
    return out


_UNIT_SUFFIXES = (("_per_s", "1/s"), ("_cells", "cells"), ("_s", "s"))


def _split_unit(key: str) -> tuple[str, str]:
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)], unit
    return key, ""


def _format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) if value else "none"
    return str(value)


def format_summary(values: dict[str, Any]) -> str:
    """A :func:`summary` dict as aligned ``name  value unit`` lines, for people to read.

    Levels never reached show as ``not reached``; unknown values as ``-``.
    """
    rows = []
    for key, value in values.items():
        name, unit = _split_unit(key)
        text = _format_value(value)
        if key.startswith("time_to_") and value is None:
            text = "not reached"
        elif unit and value is not None:
            text = f"{text} {unit}"
        rows.append((name, text))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {text}" for name, text in rows) + "\n"
