"""Rows of a timing sweep read back: one line per cell, its median over the repeats with an
interval, and what cut a curve short.

A timing sweep measures every cell ``repeats`` times (``run_sweep(..., repeats=R)``: R
passes over the cells, each repeat a row with its ``rep``). Within a repeat the cell's
derivative is timed in batches (``timing.measure``); the repeat's figure is its fastest batch
(``time_min``: other processes only ever add time). Across repeats, ``per_cell`` gives each
cell the median of those figures and the order-statistics interval of that median
(``intervals.median_interval``), and keeps the repeats themselves (``samples``) so a derived
figure — a slope, a crossover, a ratio — can be bootstrapped over them
(``intervals.bootstrap``).

``cut_short`` says, per method, where a time or memory limit (or a skip after one) ended its
curve, and ``limit_note`` puts that into words for a finding or a legend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .intervals import DEFAULT_REPEATS, N_BOOT, Interval, bootstrap, median_interval, order_ranks

__all__ = ["DEFAULT_REPEATS", "per_cell", "interval_of", "bootstrap_cells", "cut_short",
           "limit_note", "repeats_of", "how_measured"]

CELL_KEYS = ("experiment", "problem", "method", "kind", "seed")


def repeats_of(config: dict) -> int:
    """The config's ``repeats`` (default ``DEFAULT_REPEATS``), checked."""
    value = config.get("repeats", DEFAULT_REPEATS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {value!r}")
    return value


def _param_columns(df: pd.DataFrame) -> list[str]:
    return sorted(c for c in df.columns if c.startswith("params."))


def per_cell(df: pd.DataFrame, value: str = "time_min", keys: Sequence[str] | None = None,
             ok_only: bool = True) -> pd.DataFrame:
    """One line per cell: the median of ``value`` over its repeats and its interval.

    Args:
        df: rows (``store.load``), several repeats per cell.
        value: the column each repeat contributes.
        keys: the columns that name a cell (default: experiment, problem, method, kind, seed
            and every ``params.*`` column present).
        ok_only: use only the repeats that came out "ok".
    Returns:
        a DataFrame with the key columns and ``median``, ``lo``, ``hi``, ``n_rep`` (repeats
        used), ``coverage`` and ``samples`` (the repeats' values, for the bootstrap).
    """
    keys = list(keys) if keys is not None else \
        [k for k in CELL_KEYS if k in df.columns] + _param_columns(df)
    out_columns = [*keys, "median", "lo", "hi", "n_rep", "coverage", "samples"]
    if df.empty or value not in df:
        return pd.DataFrame(columns=out_columns)
    d = df[df["outcome"] == "ok"] if ok_only and "outcome" in df else df
    d = d[d[value].notna()]
    rows = []
    for name, group in d.groupby(keys, sort=False, dropna=False):
        name = name if isinstance(name, tuple) else (name,)
        samples = group[value].astype(float).to_numpy()
        iv = median_interval(samples)
        rows.append({**dict(zip(keys, name, strict=True)), "median": iv.value, "lo": iv.lo,
                     "hi": iv.hi, "n_rep": iv.n, "coverage": iv.coverage,
                     "samples": samples})
    return pd.DataFrame(rows, columns=out_columns)


def interval_of(line) -> Interval:
    """The ``Interval`` of one line of ``per_cell``."""
    return Interval(float(line["median"]), float(line["lo"]), float(line["hi"]),
                    int(line["n_rep"]), float(line["coverage"]))


def bootstrap_cells(statistic, lines: pd.DataFrame) -> Interval:
    """``statistic(medians)`` of the ``per_cell`` lines (in their order), with its bootstrap
    interval over the repeats."""
    return bootstrap(statistic, list(lines["samples"]))


def how_measured(n_rep: Sequence[int], what: str = "each repeat's fastest batch",
                 times: str = "Times", note: str = "") -> str:
    """The sentence a finding ends with: how many repeats, and how the intervals were made
    (``times``: what the repeats measured; ``note``: a last clause)."""
    reps = [int(n) for n in n_rep if n]
    if not reps:
        return ""
    lo, hi = min(reps), max(reps)
    k, cover = order_ranks(hi)
    ranks = "min and max" if k == 1 else f"the {k}th smallest and largest"
    count = f"{lo}–{hi}" if lo != hi else f"{hi}"
    short = "" if cover >= 0.95 else "; fewer than 6 repeats give no 95% interval"
    return (f"({times}: the median over {count} repeats of {what}, the repeats interleaved "
            f"across all cells so a drift of the machine hits every cell alike. In "
            f"parentheses: for a median, the order-statistics interval of its repeats "
            f"({ranks} of {hi}, coverage {cover:.1%}{short}); for ratios, slopes and "
            f"crossovers, the central 95% of a bootstrap over the repeats ({N_BOOT} "
            f"resamples). Numbers are printed to the digits their interval supports"
            f"{'; ' + note if note else ''}.)")


# ---- what cut a curve short ---------------------------------------------------------------
def cut_short(df: pd.DataFrame, axis: str) -> dict[str, dict]:
    """Per method: the first size along ``axis`` (a ``params`` name) where a repeat hit the
    time or memory limit, or was skipped because a smaller size had, with the limit.

    Returns:
        {method: {"at": size, "outcome": "timeout" | "error" | "skipped", "limit": "time" |
        "memory", "message": ...}} for the methods whose curve a limit ended.
    """
    column = f"params.{axis}"
    if df.empty or column not in df or "outcome" not in df:
        return {}
    limited = df["outcome"].isin(["timeout", "skipped"])
    if "limit" in df:
        limited |= df["limit"].isin(["time", "memory"])
    out = {}
    for method, group in df[limited].groupby("method", sort=False):
        first = group.sort_values(column).iloc[0]
        hit = group[group["outcome"] != "skipped"]
        source = hit.sort_values(column).iloc[0] if len(hit) else first
        limit = source.get("limit") if isinstance(source.get("limit"), str) else "time"
        out[method] = {"at": first[column], "outcome": first["outcome"], "limit": limit,
                       "message": str(first.get("message") or "")}
    return out


def limit_note(df: pd.DataFrame, axis: str, time_limit: float | None = None,
               label: str | None = None) -> dict[str, str]:
    """{method: "cut at n = 128 by the 30 s time limit"} for every method a limit stopped."""
    label = label or axis
    notes = {}
    for method, cut in cut_short(df, axis).items():
        at = cut["at"]
        at = int(at) if isinstance(at, float | np.floating) and float(at).is_integer() else at
        if cut["limit"] == "memory":
            what = "the memory limit"
        else:
            what = f"the {time_limit:g} s time limit" if time_limit else "the time limit"
        notes[method] = f"cut at {label} = {at} by {what}"
    return notes
