"""Small statistics for ensembles of runs, with numpy and the standard library only.

- :func:`mean_ci`: the mean and its t-based confidence interval (Student's t, n - 1 degrees of
  freedom: ``mean +- t * sd / sqrt(n)``);
- :func:`wilson_interval`: the Wilson score interval of a fraction (k successes of n), which,
  unlike the normal approximation, stays inside [0, 1] and is sensible for k = 0 or k = n;
- :func:`fit_power_law`: ``y = a x**b`` by least squares on ``log y`` against ``log x``, with the
  exponent's t-based interval from the fit's standard error and a bootstrap interval that
  resamples the runs within each x (stratified; a fixed random seed, so the numbers repeat);
- :func:`t_quantile`: quantiles of Student's t distribution (for the intervals above).

Every interval is two-sided; ``confidence=0.95`` gives 95 % intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Optional, Sequence

import numpy as np

__all__ = [
    "PowerLawFit",
    "fit_power_law",
    "mean_ci",
    "t_quantile",
    "wilson_interval",
]


def _t_cdf_above_zero(x: float, df: float) -> float:
    """P(0 <= T <= x) for Student's t with ``df`` degrees of freedom, x >= 0.

    The substitution x = sqrt(df) tan(u) turns the density into c cos(u)**(df - 1) on
    [0, atan(x / sqrt(df))], smooth and bounded, which Simpson's rule integrates to ~1e-12.
    """
    top = math.atan(x / math.sqrt(df))
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(math.pi)
    n = 4096
    u = np.linspace(0.0, top, n + 1)
    f = np.cos(u) ** (df - 1)
    simpson = (top / n / 3) * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
    return math.exp(log_c) * float(simpson)


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t distribution with ``df`` > 0 degrees of freedom."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), not {p}")
    if not df > 0:
        raise ValueError(f"degrees of freedom must be positive, not {df}")
    if p == 0.5:
        return 0.0
    target = abs(p - 0.5)
    lo, hi = 0.0, 1.0
    while _t_cdf_above_zero(hi, df) < target:
        hi *= 2
        if hi > 1e12:
            return math.copysign(math.inf, p - 0.5)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf_above_zero(mid, df) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return math.copysign(0.5 * (lo + hi), p - 0.5)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of the finite values and its t-based interval: ``(mean, low, high)``.

    NaN values are left out. With one value the interval is undefined (NaN, NaN); with none,
    everything is NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + confidence / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of the fraction k / n: ``(low, high)``; (NaN, NaN) if n = 0."""
    if n <= 0:
        return math.nan, math.nan
    if not 0 <= k <= n:
        raise ValueError(f"k = {k} is not in [0, n = {n}]")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass
class PowerLawFit:
    """``y = prefactor * x**exponent``, fitted on logarithms."""

    exponent: float
    prefactor: float
    #: Standard error of the exponent from the least-squares fit, and its t-based interval
    #: (n - 2 degrees of freedom).
    exponent_se: float
    exponent_ci: tuple[float, float]
    #: Percentile interval of the exponent over bootstrap resamples of the runs (stratified by
    #: x), and the band of the fitted line at ``band_x`` (same percentiles); NaN without them.
    exponent_ci_bootstrap: tuple[float, float]
    band_x: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    #: Runs and distinct x values the fit used.
    n_runs: int
    n_x: int
    confidence: float
    bootstrap: int

    def __call__(self, x: np.ndarray | float) -> np.ndarray | float:
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.exponent

    def describe(self, x_name: str = "x", y_name: str = "y") -> str:
        """One line: ``y = a x^b, b = 1.23 +- 0.05 (95 % CI 1.1 to 1.3; bootstrap ...)``."""
        pct = f"{100 * self.confidence:g} %"
        text = (f"{y_name} = {self.prefactor:.4g} {x_name}^{self.exponent:.3f}; exponent "
                f"{self.exponent:.3f} +- {self.exponent_se:.3f} (standard error), {pct} CI "
                f"[{self.exponent_ci[0]:.3f}, {self.exponent_ci[1]:.3f}]")
        if math.isfinite(self.exponent_ci_bootstrap[0]):
            text += (f", bootstrap {pct} CI [{self.exponent_ci_bootstrap[0]:.3f}, "
                     f"{self.exponent_ci_bootstrap[1]:.3f}] ({self.bootstrap} resamples)")
        return text + f"; {self.n_runs} runs at {self.n_x} sizes"


def _line(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of ly against lx (at least two distinct lx)."""
    mx, my = lx.mean(), ly.mean()
    slope = float(((lx - mx) * (ly - my)).sum() / ((lx - mx) ** 2).sum())
    return slope, float(my - slope * mx)


def fit_power_law(
    x: Sequence[float],
    y: Sequence[float],
    *,
    confidence: float = 0.95,
    bootstrap: int = 2000,
    seed: int = 12345,
    band_x: Optional[Sequence[float]] = None,
) -> PowerLawFit:
    """Fit ``y = a x**b`` to runs (one (x, y) pair per run), by least squares on logarithms.

    Pairs with a non-positive or non-finite x or y are left out (a time to synchrony of 0 has no
    logarithm). Needs at least two distinct x values; the t-based interval needs three runs.
    ``bootstrap`` resamples (0 for none) draw, at each x, as many runs as it has, with
    replacement, and refit: the exponent's percentile interval and a band for the line.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[keep], y[keep]
    distinct = np.unique(x)
    if distinct.size < 2:
        raise ValueError("a power law needs runs at two or more distinct x values "
                         f"(have {distinct.size} with positive, finite x and y)")
    lx, ly = np.log(x), np.log(y)
    slope, intercept = _line(lx, ly)
    n = x.size
    if n > 2:
        residual = ly - (intercept + slope * lx)
        s2 = float(residual @ residual) / (n - 2)
        sxx = float(((lx - lx.mean()) ** 2).sum())
        se = math.sqrt(s2 / sxx)
        half = t_quantile(0.5 + confidence / 2, n - 2) * se
        ci = (slope - half, slope + half)
    else:
        se, ci = math.nan, (math.nan, math.nan)

    grid = np.asarray(band_x if band_x is not None else
                      np.geomspace(distinct[0], distinct[-1], 50), dtype=np.float64)
    low = high = np.full(grid.shape, math.nan)
    boot_ci = (math.nan, math.nan)
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        groups = [np.flatnonzero(x == value) for value in distinct]
        slopes = np.empty(bootstrap)
        lines = np.empty((bootstrap, grid.size))
        lg = np.log(grid)
        for b in range(bootstrap):
            pick = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
            s, c = _line(lx[pick], ly[pick])
            slopes[b] = s
            lines[b] = c + s * lg
        tail = 100 * (1 - confidence) / 2
        boot_ci = (float(np.percentile(slopes, tail)), float(np.percentile(slopes, 100 - tail)))
        low = np.exp(np.percentile(lines, tail, axis=0))
        high = np.exp(np.percentile(lines, 100 - tail, axis=0))
    return PowerLawFit(
        exponent=slope, prefactor=math.exp(intercept), exponent_se=se, exponent_ci=ci,
        exponent_ci_bootstrap=boot_ci, band_x=grid, band_low=low, band_high=high,
        n_runs=int(n), n_x=int(distinct.size), confidence=confidence, bootstrap=int(bootstrap),
    )
