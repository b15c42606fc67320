"""Figures of an ensemble (rows from :func:`fireflies_analysis.ensemble.collect`, points from
:func:`~fireflies_analysis.ensemble.summarise`). Each returns a matplotlib Figure built without
pyplot, with units on every axis.

- :func:`plot_power_law`: a quantity (the time to synchrony) against a parameter (the lattice
  side) on log-log axes: every run, each point's mean with its interval, the fitted power law and
  its bootstrap band;
- :func:`plot_fraction`: the fraction of runs that synchronised against a parameter, with Wilson
  intervals;
- :func:`plot_mean`: any per-run quantity's mean and interval against a parameter;
- :func:`plot_phase_diagram`: a map over two parameters (one panel per value of a third, such as
  the nudge's sign): the fraction synchronised in colour with each cell's median time to
  synchrony written in it, and the mean final R_state, with optional guide curves.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .plots import new_figure
from .stats import PowerLawFit, fit_power_law

__all__ = ["LABELS", "axis_label", "plot_fraction", "plot_mean", "plot_phase_diagram", "plot_power_law",
           "power_law_of"]

#: Axis labels (with units) of the collected columns and common settings.
LABELS = {
    "width": "lattice side L = width (cells)",
    "height": "height (cells)",
    "fireflies": "fireflies N (1)",
    "time_to_sync_s": "time to synchrony (s of simulated time)",
    "final_R": "final R (1)",
    "final_R_state": "final R_state (1)",
    "flashes_per_firefly_per_s": "flashes per firefly per second (1/s)",
    "wall_time_s": "wall time (s)",
    "nudge": "nudge e (s of phase)",
    "delay": "delay d (s)",
    "refractory": "refractory fraction r (1)",
    "jitter": "jitter j (s)",
    "period": "period T (s)",
    "prc-dissipation": "dissipation B (1)",
    "period-spread": "period spread S (s)",
    "radius": "radius (cells)",
    "seed": "seed (1)",
}


def axis_label(name: str) -> str:
    return LABELS.get(name, name)


def _numbers(rows: Sequence[dict[str, Any]], name: str) -> np.ndarray:
    return np.array([math.nan if r.get(name) is None else float(r[name]) for r in rows])


def power_law_of(rows: Sequence[dict[str, Any]], x: str = "width", y: str = "time_to_sync_s",
                 *, points: Optional[Sequence[dict[str, Any]]] = None, min_fraction: float = 1.0,
                 bootstrap: int = 2000, min_x: Optional[float] = None,
                 max_x: Optional[float] = None) -> tuple[PowerLawFit, list[Any]]:
    """Fits ``y = a x^b`` to the synchronised runs with ``min_x <= x <= max_x`` at the x values
    whose fraction synchronised is at least ``min_fraction`` (a censored point biases the fit).
    Returns the fit and the x values left out for their fraction."""
    excluded = []
    if points is not None and min_fraction > 0:
        excluded = [p[x] for p in points
                    if not (p.get("fraction_synced") is not None
                            and p["fraction_synced"] >= min_fraction)]

    def in_range(r):
        v = r.get(x)
        return (v is not None and (min_x is None or float(v) >= min_x)
                and (max_x is None or float(v) <= max_x))
    use = [r for r in rows if r.get(x) not in excluded and in_range(r)]
    return fit_power_law(_numbers(use, x), _numbers(use, y), bootstrap=bootstrap), excluded


def plot_power_law(rows: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]],
                   fit: Optional[PowerLawFit | Sequence[PowerLawFit]], *, x: str = "width",
                   y: str = "time_to_sync_s", title: str = "",
                   references: Optional[Sequence[tuple[float, float]]] = None,
                   reference_label: str = "reference") -> Figure:
    """Every run (small dots), each point's mean with its t-based interval (points where not all
    runs synchronised hollow), the fit (or several, over different ranges of x) with its
    bootstrap band, and optional reference (x, y) pairs."""
    fig = new_figure(7.0, 4.8)
    ax = fig.add_subplot()
    xs, ys = _numbers(rows, x), _numbers(rows, y)
    ok = np.isfinite(xs) & np.isfinite(ys) & (ys > 0)
    ax.scatter(xs[ok], ys[ok], s=10, color="0.55", alpha=0.7, label="runs", zorder=2)
    # A t-based interval of few runs can reach below 0, which a log axis cannot show: its lower
    # end is drawn at half the smallest run instead (the table has the numbers).
    floor = 0.5 * float(ys[ok].min()) if ok.any() else 1e-3
    for p in points:
        mean = p.get(f"{y}_mean")
        if mean is None or not math.isfinite(mean) or mean <= 0:
            continue
        low, high = p.get(f"{y}_low"), p.get(f"{y}_high")
        err = None
        if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
            err = [[mean - max(low, min(floor, mean))], [high - mean]]
        complete = p.get("fraction_synced") == 1
        ax.errorbar([float(p[x])], [mean], yerr=err, fmt="o", color="C0",
                    mfc="C0" if complete else "white", capsize=3, zorder=3)
    ax.plot([], [], "o", color="C0",
            label="mean, 95 % CI (t) (hollow: not every run synchronised)")
    fits = [] if fit is None else [fit] if isinstance(fit, PowerLawFit) else list(fit)
    for i, f in enumerate(fits):
        grid, colour = f.band_x, ("C3", "C1", "C4", "C5")[i % 4]
        lo, hi = f.exponent_ci_bootstrap
        span = f"{grid[0]:g}-{grid[-1]:g}"
        ax.plot(grid, f(grid), color=colour, zorder=4,
                label=f"fit over {span}: {f.prefactor:.3g} x^{f.exponent:.2f} "
                      f"(exponent 95 %: {lo:.2f} to {hi:.2f})")
        if np.all(np.isfinite(f.band_low)):
            ax.fill_between(grid, f.band_low, f.band_high, color=colour, alpha=0.18, zorder=1)
    if references:
        rx, ry = zip(*references)
        ax.plot(rx, ry, "s", color="C2", mfc="none", ms=7, label=reference_label, zorder=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted({float(v) for v in xs[np.isfinite(xs) & (xs > 0)]})
    if 0 < len(ticks) <= 12:  # label the sizes run, not just the decades
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", framealpha=0.85)
    return fig


def plot_fraction(points: Sequence[dict[str, Any]], x: str, *, title: str = "",
                  log_x: bool = False) -> Figure:
    """The fraction of runs that synchronised at each point, with its Wilson interval."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    px = _numbers(points, x)
    f = _numbers(points, "fraction_synced")
    lo, hi = _numbers(points, "fraction_synced_low"), _numbers(points, "fraction_synced_high")
    ax.errorbar(px, f, yerr=[f - lo, hi - f], fmt="o-", capsize=3, color="C0",
                label="fraction synchronised, 95 % Wilson interval")
    for xi, fi, p in zip(px, f, points):
        ax.annotate(f"{p['synced']}/{p['counted']}", (xi, fi), textcoords="offset points",
                    xytext=(4, 6), fontsize=7)
    if log_x:
        ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.1)
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel("fraction of runs synchronised (1)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_mean(points: Sequence[dict[str, Any]], x: str, y: str, *, title: str = "",
              log_x: bool = False, log_y: bool = False, series: Optional[str] = None) -> Figure:
    """The mean of a per-run quantity ``y`` at each point, with its t-based interval; with
    ``series``, one line per value of that parameter (points without a mean left out)."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    groups: dict[Any, list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault(p.get(series) if series else None, []).append(p)
    for k, (value, members) in enumerate(groups.items()):
        members = sorted(members, key=lambda p: float(p[x]))
        px = _numbers(members, x)
        m = _numbers(members, f"{y}_mean")
        lo, hi = _numbers(members, f"{y}_low"), _numbers(members, f"{y}_high")
        if log_y:
            # A t-based interval of few runs can reach below 0, which a log axis cannot show:
            # its lower end is drawn at half the mean instead (the table has the numbers).
            lo = np.where(np.isfinite(lo) & (lo <= 0), 0.5 * m, lo)
        err = np.vstack([np.where(np.isfinite(lo), m - lo, 0), np.where(np.isfinite(hi), hi - m, 0)])
        ok = np.isfinite(m)
        label = f"{series} = {value}" if series else "mean, 95 % CI (t)"
        ax.errorbar(px[ok], m[ok], yerr=err[:, ok], fmt="o-", capsize=3, color=f"C{k % 10}", label=label)
    if log_x:
        ax.set_xscale("log")
        ticks = sorted({float(v) for v in _numbers(points, x) if math.isfinite(v) and v > 0})
        if 0 < len(ticks) <= 12:  # label the values run, not just the decades
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="mean, 95 % CI (t)" if series else None, title_fontsize=8)
    return fig


def _index_of(values: Sequence[float], log: bool):
    """Maps a parameter's value to its place on an axis where the values run sample by sample
    (0, 1, 2, ...): linear between neighbours (in the logarithm on a log axis), extended past
    the ends with the nearest step."""
    v = np.log(values) if log else np.asarray(values, dtype=float)
    idx = np.arange(v.size, dtype=float)

    def place(x):
        x = np.log(np.asarray(x, dtype=float)) if log else np.asarray(x, dtype=float)
        if v.size == 1:
            return np.zeros_like(x)
        out = np.interp(x, v, idx)
        lo, hi = (v[1] - v[0]), (v[-1] - v[-2])
        out = np.where(x < v[0], (x - v[0]) / lo, out)
        return np.where(x > v[-1], v.size - 1 + (x - v[-1]) / hi, out)
    return place


def plot_phase_diagram(points: Sequence[dict[str, Any]], x: str, y: str, *, facet: Optional[str] = None,
                       title: str = "", log_x: bool = False, log_y: bool = False,
                       facet_labels: Optional[dict[str, str]] = None,
                       guides: Sequence[dict[str, Any]] = ()) -> Figure:
    """Two rows of maps over (x, y), one column per value of ``facet``: the fraction of runs
    synchronised (colour; each cell's runs synchronised / counted and median time to synchrony
    in s written in it, "-" where none did) and the mean final R_state (colour and value). One
    cell per value, evenly spaced; ``log_x`` / ``log_y`` place the guides between the values in
    the logarithm. A cell without runs is blank.
    ``guides``: curves ``{"x": [...], "y": [...], "label": ..., "facet": value}`` drawn on the
    panels of that facet value (every panel without ``facet``)."""
    facets = sorted({p.get(facet) for p in points}, key=lambda v: (v is None, v)) if facet else [None]
    if facet and facet_labels:  # the labels' order, then any other value
        order = list(facet_labels)
        facets.sort(key=lambda v: order.index(str(v)) if str(v) in order else len(order))
    fig = new_figure(4.2 * len(facets) + 1.2, 7.6)
    axes = fig.subplots(2, len(facets), squeeze=False)
    xs = sorted({float(p[x]) for p in points})
    ys = sorted({float(p[y]) for p in points})
    # One cell per value, equally wide, whatever the spacing of the values; guides are placed
    # between the values (in the logarithm with log_x / log_y).
    place_x, place_y = _index_of(xs, log_x), _index_of(ys, log_y)
    ex, ey = np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5
    rows = (("fraction_synced", "fraction of runs synchronised (1)", "viridis"),
            ("final_R_state_mean", "mean final R_state (1)", "magma"))
    for col, value in enumerate(facets):
        mine = [p for p in points if facet is None or p.get(facet) == value]
        for row, (name, label, cmap) in enumerate(rows):
            ax = axes[row][col]
            grid = np.full((len(ys), len(xs)), np.nan)
            for p in mine:
                grid[ys.index(float(p[y])), xs.index(float(p[x]))] = (
                    math.nan if p.get(name) is None else float(p[name]))
            mesh = ax.pcolormesh(ex, ey, np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1,
                                 shading="flat")
            for p in mine:
                v = p.get(name)
                if row == 0:
                    median = p.get("time_to_sync_s_median")
                    text = f"{p['synced']}/{p['counted']}\n" + (
                        f"{median:.0f} s" if median is not None and math.isfinite(median) else "-")
                else:
                    text = "-" if v is None or not math.isfinite(v) else f"{v:.2f}"
                shade = 0 if v is None or not math.isfinite(v) else float(v)
                ax.text(xs.index(float(p[x])), ys.index(float(p[y])), text, ha="center",
                        va="center", fontsize=6.5, color="black" if shade > 0.6 else "white")
            for guide in guides:
                if "facet" in guide and facet is not None and guide["facet"] != value:
                    continue
                ax.plot(place_x(guide["x"]), place_y(guide["y"]), color=guide.get("color", "C3"),
                        lw=1.6, ls="--", label=guide.get("label"))
            if any(g.get("label") for g in guides if "facet" not in g or g["facet"] == value):
                ax.legend(fontsize=6.5, loc="lower right", framealpha=0.85)
            ax.set_xlim(ex[0], ex[-1])
            ax.set_ylim(ey[0], ey[-1])
            ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
            ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
            ax.tick_params(axis="x", labelsize=7)
            ax.set_xlabel(axis_label(x) + ("; columns evenly spaced" if len(xs) > 2 else ""))
            ax.set_ylabel(axis_label(y))
            heading = (facet_labels or {}).get(str(value), f"{facet} = {value}") if facet else ""
            ax.set_title(f"{heading}: {label}" if heading else label, fontsize=8.5)
            if col == len(facets) - 1:
                fig.colorbar(mesh, ax=ax, label=label, shrink=0.9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
