"""Intervals: the median of repeated measurements with a 95% interval, and numbers printed to
the digits their interval supports.

The median's interval is taken from order statistics, distribution-free and exact: for n
independent repeats x_(1) <= ... <= x_(n) of a continuous quantity, the median m lies in
[x_(k), x_(n+1-k)] with probability

    P(x_(k) <= m <= x_(n+1-k)) = 1 - 2 P(B <= k - 1),   B ~ Binomial(n, 1/2),

since each repeat falls below m with probability 1/2. ``median_interval`` takes the largest k
whose coverage is at least the level asked for. With fewer than 6 repeats no k reaches 95%
(n = 5: [min, max] covers 1 - 2/32 = 93.75%); the interval is then [min, max] and its
coverage says so. Six repeats give [min, max] at 96.9%, nine [x_(2), x_(8)] at 96.1%.

A measured time's interval is widened to at least ±``DRIFT`` (5%) of its median
(``timing_interval``): the repeats of one run cover the noise of that run, but a fresh process
lands its code and data elsewhere in memory and the machine's load moves, so the same cell
differs between runs by more than one run's repeats show. Measured on the shared 2-core
machine of the reports (pairs of consecutive runs of a small Jacobian sweep, each run in a
fresh worker): cells whose repeats spread by under 5% moved by 0.9% between runs at the
median and 2.6% at the 95th percentile, and one cell (forward mode at n = 256, 23 µs) came
out at either of two levels 6.5% apart, by process. The floor is that run-to-run
reproducibility, stated; a cell whose repeats spread wider keeps its own interval. Across whole
reports the drift is larger but so are the cells' own spreads: in two consecutive ``make
report`` runs on that machine, with nothing else running, the medians of the 261 timed cells
behind the figures moved by 7.0% at the median and 38% at the 95th percentile, and every one
of the 261 intervals overlapped its twin from the other run (as did all 37 summary figures);
a second pair gave 12.1% and 54%, and 260 of the 261 (one cell 0.073 (0.069–0.077) against
0.10 (0.08–0.13) ms).

A derived figure — a fitted slope, a crossover, a ratio of medians — gets its interval by the
bootstrap over the repeats (``bootstrap``): each resample draws every cell's repeats with
replacement, takes each cell's median and computes the figure from those medians; the
interval holds the central 95% of the resampled figures (the percentile interval, 2000
resamples, seeded, so a report rebuilt from the same rows prints the same interval). For
times, every resample also moves each cell's median by its own factor within ±``DRIFT``, so a
derived figure carries the run-to-run drift of its cells too.

``round_to_interval`` and ``fmt`` print a value to the precision of its interval: the
interval's half-width rounded to one significant digit (two when that digit is 1) fixes the
last decimal shown, so 1.6344 in [1.55, 1.71] prints as 1.63 (1.55–1.71) and 17.9 in
[11.6, 30.2] as 18 (12–30).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
N_BOOT = 2000
DEFAULT_REPEATS = 6   # the fewest repeats whose [min, max] is a 95% interval of the median
DRIFT = 0.05          # a time's interval spans at least ±5% of its median (see above)


@dataclass(frozen=True)
class Interval:
    """A value with its interval: ``lo <= value <= hi`` at ``coverage`` (nan: unknown)."""

    value: float
    lo: float
    hi: float
    n: int = 0                 # repeats behind it (per cell, or the fewest of the cells)
    coverage: float = float("nan")
    how: str = "order statistics"

    def __str__(self) -> str:
        return fmt(self.value, self.lo, self.hi)

    def scaled(self, factor: float) -> Interval:
        """The same interval in other units (seconds -> milliseconds: 1e3)."""
        return Interval(self.value * factor, self.lo * factor, self.hi * factor, self.n,
                        self.coverage, self.how)

    def overlaps(self, other: Interval) -> bool:
        """True when the two intervals share a point."""
        return self.lo <= other.hi and other.lo <= self.hi

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.value, self.lo, self.hi))


NAN = Interval(float("nan"), float("nan"), float("nan"), 0)


def coverage(n: int, k: int) -> float:
    """P(x_(k) <= median <= x_(n+1-k)) for n independent repeats: 1 - 2 P(Bin(n, 1/2) < k)."""
    if not 1 <= k <= (n + 1) // 2:
        raise ValueError(f"order statistics: need 1 <= k <= (n+1)/2, got k={k}, n={n}")
    tail = sum(math.comb(n, j) for j in range(k)) / 2.0 ** n
    return 1.0 - 2.0 * tail


def order_ranks(n: int, level: float = LEVEL) -> tuple[int, float]:
    """The largest k whose [x_(k), x_(n+1-k)] covers the median with at least ``level``, and
    that coverage; k = 1 ([min, max]) with its smaller coverage when none reaches it."""
    if n < 1:
        raise ValueError("order statistics need at least one value")
    best = 1
    for k in range(1, (n + 1) // 2 + 1):
        if coverage(n, k) >= level:
            best = k
    return best, coverage(n, best)


def median_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """The median of ``values`` (nan ignored) and its order-statistics interval.

    Args:
        values: the repeats of one measurement.
        level: the coverage wanted.
    Returns:
        an ``Interval`` (its ``coverage`` may fall short of ``level`` with few repeats; one
        repeat gives a zero-width interval of coverage nan).
    """
    x = np.sort(np.asarray([v for v in values if v is not None], dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return NAN
    if n == 1:
        return Interval(float(x[0]), float(x[0]), float(x[0]), 1)
    k, cov = order_ranks(n, level)
    return Interval(float(np.median(x)), float(x[k - 1]), float(x[n - k]), n, cov)


def timing_interval(values: Sequence[float], level: float = LEVEL,
                    floor: float = DRIFT) -> Interval:
    """``median_interval`` of measured times, widened to at least ±``floor`` of the median
    (the machine's drift between runs, which one run's repeats cannot show)."""
    iv = median_interval(values, level)
    if not iv.finite or iv.n < 2:
        return iv
    return Interval(iv.value, min(iv.lo, iv.value * (1 - floor)),
                    max(iv.hi, iv.value * (1 + floor)), iv.n, iv.coverage, iv.how)


def bootstrap(statistic: Callable[[np.ndarray], float | None],
              samples: Sequence[Sequence[float]], n_boot: int = N_BOOT,
              level: float = LEVEL, seed: int = 0, drift: float = 0.0) -> Interval:
    """A figure computed from per-cell medians, with its bootstrap interval over the repeats.

    Args:
        statistic: medians (one per cell, in the order of ``samples``) -> the figure, or None
            / nan where it is undefined for those medians (no crossing, too few points).
        samples: per cell, its repeats.
        n_boot: resamples.
        level: coverage of the percentile interval.
        seed: of the resampling (fixed: the same rows give the same interval).
        drift: each resample also scales every cell's median by its own factor drawn
            uniformly in [1 - drift, 1 + drift] (times: ``DRIFT``, the run-to-run drift a
            single run cannot show, carried into the figure).
    Returns:
        the figure from the observed medians and the central ``level`` of the resampled
        figures; ``coverage`` is the share of resamples where the figure was defined (an
        interval from fewer than 95% of them is no 95% interval, and says so).
    """
    cells = [np.asarray([v for v in s if v is not None and np.isfinite(v)], dtype=float)
             for s in samples]
    if not cells or any(len(c) == 0 for c in cells):
        return NAN
    observed = _defined(statistic(np.array([np.median(c) for c in cells])))
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(c), size=(n_boot, len(c))) for c in cells]
    medians = np.column_stack([np.median(c[d], axis=1) for c, d in zip(cells, draws,
                                                                        strict=True)])
    if drift:
        medians = medians * rng.uniform(1 - drift, 1 + drift, size=medians.shape)
    figures = np.array([_defined(statistic(row)) for row in medians])
    ok = figures[np.isfinite(figures)]
    if observed is None or not np.isfinite(observed) or len(ok) < 2:
        return Interval(float("nan") if observed is None else observed, float("nan"),
                        float("nan"), min(len(c) for c in cells), len(ok) / n_boot,
                        "bootstrap")
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(ok, [tail, 1.0 - tail])
    return Interval(float(observed), float(min(lo, observed)), float(max(hi, observed)),
                    min(len(c) for c in cells), len(ok) / n_boot, "bootstrap")


def _defined(value) -> float:
    return float("nan") if value is None else float(value)


# ---- printing ------------------------------------------------------------------------------
def step(lo: float, hi: float) -> float | None:
    """The last decimal an interval supports: its half-width to one significant digit (two
    when that digit is 1), as a power of ten; None for a zero-width or unknown interval."""
    half = (hi - lo) / 2.0
    if not math.isfinite(half) or half <= 0:
        return None
    exponent = math.floor(math.log10(half))
    if half / 10.0 ** exponent < 2.0:   # a leading 1: keep one more digit (1.4, not 1)
        exponent -= 1
    return 10.0 ** exponent


def round_to_interval(value: float, lo: float, hi: float, digits: int = 3) -> str:
    """``value`` printed to the precision its interval [lo, hi] supports (``digits``
    significant digits when the interval has no width or is unknown)."""
    if value is None or not math.isfinite(value):
        return "nan" if value is None or math.isnan(value) else str(value)
    unit = step(lo, hi)
    if unit is None:
        return f"{value:.{digits}g}"
    return _at(value, unit)


def _at(value: float, unit: float, ref: float | None = None) -> str:
    """``value`` rounded to a multiple of the power of ten ``unit``, plainly or in e-notation
    (chosen by the magnitude of ``ref``, default ``value``: a value and its bounds alike)."""
    decimals = -int(round(math.log10(unit)))
    ref = value if ref is None else ref
    magnitude = abs(ref) if ref else unit
    if 1e-3 <= magnitude < 1e5:
        if decimals <= 0:
            return f"{round(value / unit) * unit:.0f}"
        return f"{value:.{decimals}f}"
    exponent = math.floor(math.log10(abs(value))) if value else math.floor(math.log10(unit))
    mantissa = max(exponent + decimals, 0)
    return f"{value:.{mantissa}e}"


def fmt(value: float, lo: float, hi: float, unit: str = "", digits: int = 3) -> str:
    """``value`` and its interval at the precision the interval supports: ``3.43 (3.38–3.51)``;
    ``unit`` follows the interval (``3.43 (3.38–3.51)×``, ``0.22 (0.21–0.24) ms``); without
    an interval, ``digits`` significant digits."""
    if value is None or not math.isfinite(value):
        return "n/a"
    unit_step = step(lo, hi)
    if unit_step is None:
        return f"{value:.{digits}g}{unit}"
    lo_text, hi_text = _at(lo, unit_step, value), _at(hi, unit_step, value)
    dash = " to " if lo < 0 else "–"   # 0.00 (-0.02 to 0.03), not -0.02–0.03
    return f"{_at(value, unit_step)} ({lo_text}{dash}{hi_text}){unit}"


def describe(interval: Interval) -> str:
    """How an interval was made, for a figure's caption or a finding."""
    if interval.how == "bootstrap":
        return f"{LEVEL:.0%} bootstrap interval over the repeats ({N_BOOT} resamples)"
    if not math.isfinite(interval.coverage):
        return "a single run (no interval)"
    return (f"order-statistics interval of the median over {interval.n} repeats (coverage "
            f"{interval.coverage:.1%})")
