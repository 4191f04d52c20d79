"""Which of two Jacobian modes wins at which shape: the time ratio per shape n/m, each
shape's verdict (one method faster where the ratio's bootstrap interval lies beyond 1, else a
tie) and the crossover.

A crossover is reported only where the intervals resolve one: between the last shape where
the forward-like method is faster and the first where the reverse-like one is. The interpolated
point where the ratio of medians falls through 1 (log-linear, between neighbouring shapes)
carries a bootstrap interval over the repeats. Where the two tie on one side, a crossing of the
medians' ratio is noise, so the text says where each wins and where they tie instead.

The lines are ``jacobian_shape.measured``'s: one per method and shape, with ``aspect`` = n/m,
the median time ``t`` and its interval ``t_lo``..``t_hi``, and the repeats ``samples``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..lab.intervals import DRIFT, NAN, Interval, bootstrap
from ..lab.repeats import bootstrap_cells


def _pair(d: pd.DataFrame, fwd: str, rev: str) -> tuple[list, pd.DataFrame, pd.DataFrame]:
    """The aspects both methods measured, and each method's lines there (indexed by aspect)."""
    a = d[d["method"] == fwd].set_index("aspect")
    b = d[d["method"] == rev].set_index("aspect")
    common = sorted(set(a.index) & set(b.index))
    return common, a.loc[common], b.loc[common]


def _cross(aspects, t_fwd, t_rev) -> float | None:
    """Where log t_rev/t_fwd falls through 0 first (log-linear interpolation), or None."""
    x = np.log2(aspects)
    y = np.log(np.asarray(t_rev, dtype=float) / np.asarray(t_fwd, dtype=float))
    for i in range(len(x) - 1):
        if y[i] > 0 >= y[i + 1]:
            return float(2.0 ** (x[i] + (x[i + 1] - x[i]) * y[i] / (y[i] - y[i + 1])))
    return None


def crossover(d: pd.DataFrame, fwd: str, rev: str) -> float | None:
    """The aspect n/m where t(rev)/t(fwd) falls through 1 (log-linear interpolation between
    the two shapes around the first sign change), or None if it never does."""
    common, a, b = _pair(d, fwd, rev)
    return _cross(common, a["t"], b["t"]) if len(common) >= 2 else None


def verdicts(d: pd.DataFrame, fwd: str, rev: str) -> list[tuple[float, str]]:
    """[(aspect, fwd | rev | "tie")] over the common aspects, in order: which method is
    faster there, by the bootstrap interval of t(rev)/t(fwd) (above 1: ``fwd``; below 1:
    ``rev``; holding 1: a tie)."""
    q = ratio_intervals(d, fwd, rev)
    return [(float(r["aspect"]), fwd if r["lo"] > 1.0 else rev if r["hi"] < 1.0 else "tie")
            for _, r in q.iterrows()]


def _resolved(d: pd.DataFrame, fwd: str, rev: str) -> list | None:
    """The aspects from the last one ``fwd`` wins before ``rev`` first wins to that one, or
    None when no such pair is measured (the crossing is not resolved by the intervals)."""
    said = verdicts(d, fwd, rev)
    first_rev = next((i for i, (_, v) in enumerate(said) if v == rev), None)
    last_fwd = max((i for i, (_, v) in enumerate(said[:first_rev or 0]) if v == fwd),
                   default=None)
    if first_rev is None or last_fwd is None:
        return None
    return [x for x, _ in said[last_fwd:first_rev + 1]]


def crossover_interval(d: pd.DataFrame, fwd: str, rev: str) -> Interval:
    """The crossover with its bootstrap interval over the repeats, looked for between the
    last shape where ``fwd`` is faster and the first where ``rev`` is (their intervals
    apart); NAN where the intervals resolve no crossing (ties on one side, or none)."""
    span = _resolved(d, fwd, rev)
    if span is None:
        return NAN
    d = d[d["aspect"].isin(span)]
    common, a, b = _pair(d, fwd, rev)
    if crossover(d, fwd, rev) is None:
        return NAN
    k = len(common)
    lines = pd.concat([a.reset_index(), b.reset_index()], ignore_index=True)
    return bootstrap_cells(lambda med: _cross(common, med[:k], med[k:]), lines)


def shape_ranges(said: list[tuple[float, str]], verdict: str) -> str:
    """The aspects with this verdict as runs of neighbouring shapes: "n/m from 1 to 16"."""
    runs, last = [], None
    for i, (a, v) in enumerate(said):
        if v == verdict:
            if last == i - 1:
                runs[-1].append(a)
            else:
                runs.append([a])
            last = i
    labels = [aspect_label(r[0]) if len(r) == 1 else
              f"from {aspect_label(r[0])} to {aspect_label(r[-1])}" for r in runs]
    return "n/m " + ("= " if len(runs) == 1 and len(runs[0]) == 1 else "") + \
        " and ".join(labels)


def crossing_text(d: pd.DataFrame, fwd: str, rev: str) -> str:
    """Where the two cross (with its interval), or, unresolved, where each is faster and
    where they tie."""
    x = crossover_interval(d, fwd, rev)
    if x.finite:
        return f"the two cross at n/m ≈ {aspect_fmt(x)}"
    said = verdicts(d, fwd, rev)
    seen = {v for _, v in said}
    parts = [f"{v} is faster at {shape_ranges(said, v)}" if v != "tie" else
             f"they tie (intervals overlap) at {shape_ranges(said, v)}"
             for v in (fwd, "tie", rev) if v in seen]
    return "no crossing resolved by the intervals: " + ", ".join(parts)


def aspect_label(a: float) -> str:
    return f"{a:g}" if a >= 1 else f"1/{1 / a:g}"


def ratio_intervals(d: pd.DataFrame, fwd: str, rev: str) -> pd.DataFrame:
    """t(rev)/t(fwd) per common aspect, with its bootstrap interval over the repeats."""
    common, a, b = _pair(d, fwd, rev)
    key = tuple((x, tuple(a.loc[x, "samples"]), tuple(b.loc[x, "samples"])) for x in common)
    return _ratios(key).copy()


@functools.lru_cache(maxsize=16)
def _ratios(key: tuple) -> pd.DataFrame:
    """``ratio_intervals`` of ((aspect, fwd's repeats, rev's repeats), ...): the table, the
    verdicts, the crossover's span, the figure and the summary all read it, and the
    bootstrap (seeded) gives the same intervals every time, so each is computed once."""
    rows = []
    for aspect, fwd, rev in key:
        iv = bootstrap(lambda med: med[1] / med[0], [fwd, rev], drift=DRIFT)
        rows.append({"aspect": aspect, "ratio": iv.value, "lo": iv.lo, "hi": iv.hi})
    return pd.DataFrame(rows, columns=["aspect", "ratio", "lo", "hi"])


def _two(v: float) -> str:
    """Two significant digits, without e-notation ("1600", "33", "0.21")."""
    return f"{float(f'{v:.2g}'):g}" if v < 1e5 else f"{v:.2g}"


def aspect_fmt(x: Interval) -> str:
    """A crossover n/m with its interval, to two significant digits, as n/m is labelled:
    wholly below 1 as fractions 1/k ("1/500 (1/1600–1/33)"), else as decimals."""
    if not x.finite:
        return "n/a"
    if 0.0 < x.lo and x.hi < 1.0:
        return f"1/{_two(1 / x.value)} (1/{_two(1 / x.lo)}–1/{_two(1 / x.hi)})"
    return f"{_two(x.value)} ({_two(x.lo)}–{_two(x.hi)})"
