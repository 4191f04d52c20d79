"""Accuracy: every method's gradient on the scalar suite against the 50-digit truth.

Each cell is one function of the scalar suite (42 functions chosen to be hard: zero
derivatives, huge and tiny magnitudes, kinks, cancellation, up to six variables) at one point,
differentiated by one method; the truth is SymPy's derivative evaluated by mpmath at 50 digits
and rounded once to float64. The error of a cell is its largest component error

    rho = |a - b| / max(1, |a| + |b|)     (a the method, b the truth)

so rho ~ 1e-16 is "correct to the last bit" and rho ~ 1e-8 is "half the digits".

Exact methods (symbolic, forward, reverse, jax, and the complex step) differentiate the float64
program, so they can only be as right as that program: where the formula itself cancels in
float64 ((1 - cos x)/x^2 at x = 1e-3) every exact method misses the mathematical derivative by
the same amount. ``float64_floor`` finds those cases: the best exact method's rho.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..lab import Cell, Run, Settings, run_sweep
from ..lab.accuracy import is_exact
from ..lab.problems import get_problem, problems

NAME = "accuracy"
TITLE = "Accuracy against the 50-digit truth"
QUESTION = ("How close does each method's gradient get to the exact derivative, on 42 scalar "
            "functions chosen to be hard?")

EXACT = ("symbolic", "forward", "reverse", "jax")   # exact up to float64 rounding
SCHEMES = ("numeric:complex", "numeric:richardson", "numeric:central4", "numeric:central",
           "numeric:backward", "numeric:forward")
ZERO_AT = 1e-17      # rho = 0 (bit-exact) is drawn here on the log axis
NONFINITE_AT = 1e2   # nan/inf results are drawn here
EPS = float(np.finfo(np.float64).eps)
WELL_CONDITIONED = 1e-13  # a float64 floor below this: the formula itself keeps its digits


def cells(config: dict) -> list[Cell]:
    """The sweep: every (seed, problem, method) of the config, problems in suite order.

    Args:
        config: ``methods`` (names), ``seeds`` (ints; seed 0 is each function's textbook
            point), ``problems`` (names, or None for the whole scalar suite).
    Returns:
        the cells, grouped by problem so the truth is computed once per point.
    """
    names = config.get("problems") or [p.name for p in problems("scalar")]
    return [Cell(NAME, name, {}, method, "grad", seed)
            for seed in config.get("seeds", [0]) for name in names
            for method in config["methods"]]


def run(config: dict, run: Run, settings: Settings) -> None:
    """Run the sweep into ``run``. Timing is not the point here: it is kept minimal."""
    settings = dataclasses.replace(
        settings, min_time=config.get("min_time", 0.001), samples=config.get("samples", 3),
        max_time=config.get("max_time", 0.02), time_primal=False,
        time_limit=config.get("time_limit", 60.0))
    run_sweep(cells(config), run, settings, isolate=config.get("isolate", True))


# ---- analysis ----------------------------------------------------------------------------
def method_order(methods) -> list[str]:
    """Exact methods first, then the numeric schemes from most to least accurate."""
    known = [*EXACT, "numeric", *SCHEMES]
    present = list(dict.fromkeys(methods))
    return [m for m in known if m in present] + [m for m in present if m not in known]


def plotted_rho(rho: pd.Series) -> pd.Series:
    """rho for a log axis: 0 -> ZERO_AT, inf/nan (a non-finite result) -> NONFINITE_AT."""
    r = rho.astype(float)
    return r.where(np.isfinite(r), NONFINITE_AT).clip(lower=ZERO_AT)


def float64_floor(df: pd.DataFrame) -> pd.Series:
    """Per (problem, seed): the smallest rho any exact method reached (how far the float64
    program itself is from the mathematical derivative)."""
    exact = df[df["method"].isin(EXACT) & (df["outcome"].isin(["ok", "wrong"]))]
    return exact.groupby(["problem", "seed"])["max_rho"].min()


def per_method(df: pd.DataFrame) -> pd.DataFrame:
    """The table: cells, outcome counts, median/max log10 rho, the worst case per method."""
    rows = []
    for method in method_order(df["method"]):
        d = df[df["method"] == method]
        measured = d[d["max_rho"].notna()]
        finite = measured[np.isfinite(measured["max_rho"].astype(float))]
        log_rho = np.log10(plotted_rho(finite["max_rho"])) if len(finite) else pd.Series([])
        worst = measured.loc[measured["max_rho"].astype(float).idxmax()] if len(measured) \
            else None
        rows.append({
            "method": method, "cells": len(d),
            "ok": int((d["outcome"] == "ok").sum()),
            "wrong": int((d["outcome"] == "wrong").sum()),
            "other": int((~d["outcome"].isin(["ok", "wrong"])).sum()),
            "median log10 rho": round(float(np.median(log_rho)), 1) if len(log_rho)
            else np.nan,
            "max log10 rho (finite)": round(float(np.max(log_rho)), 1) if len(log_rho)
            else np.nan,
            "worst case": "" if worst is None else
            f"{worst['problem']} ({_sci(worst['max_rho'])}, {worst['outcome']})",
        })
    return pd.DataFrame(rows)


def worst_cases(df: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """The n worst (method, problem) pairs, each at its worst seed; pairs with a non-finite
    result on the same problem are merged into one line listing the methods."""
    d = df[df["max_rho"].notna()].copy()
    d["rho"] = d["max_rho"].astype(float)
    d = d.sort_values("rho", ascending=False).drop_duplicates(["method", "problem"])
    nonfinite = d[~np.isfinite(d["rho"])]
    merged = nonfinite.groupby("problem", sort=False).agg(
        method=("method", lambda m: ", ".join(method_order(m))), seed=("seed", "first"),
        rho=("rho", "first"), outcome=("outcome", "first")).reset_index()
    rows = pd.concat([merged, d[np.isfinite(d["rho"])]], ignore_index=True)
    return rows.head(n)[["method", "problem", "seed", "rho", "outcome"]]


def _sci(x) -> str:
    x = float(x)
    if not np.isfinite(x):
        return "nan/inf"
    return "0" if x == 0 else f"< {ZERO_AT:g}" if x < ZERO_AT else f"{x:.1e}"


def _other_text(df: pd.DataFrame) -> str:
    """What the non-ok, non-wrong outcomes were: per outcome and set of methods, the problems."""
    other = df[~df["outcome"].isin(["ok", "wrong"])]
    if other.empty:
        return ""
    by_problem = other.groupby(["outcome", "problem"], sort=False)["method"].agg(
        lambda m: ", ".join(method_order(m))).reset_index()
    parts = []
    for (outcome, methods), g in by_problem.groupby(["outcome", "method"], sort=False):
        parts.append(f"{outcome} on {', '.join(g['problem'])} ({methods})")
    return "Not finite or not supported: " + "; ".join(parts) + "."


# ---- the figure --------------------------------------------------------------------------
def figure(df: pd.DataFrame, path: Path) -> Path:
    """Strip plot of log10 rho per method with a box per method; log x axis."""
    from ..lab import plotting

    order = method_order(df["method"])
    fig, ax = plotting.figure(width=8.5, height=0.42 * len(order) + 1.8)
    rng = np.random.default_rng(0)  # jitter only: the numbers are the data
    data = []
    for i, method in enumerate(order):
        d = df[(df["method"] == method) & df["max_rho"].notna()]
        x = plotted_rho(d["max_rho"]).to_numpy()
        data.append(np.log10(x[x < NONFINITE_AT]) if len(x) else np.array([]))
        y = i + rng.uniform(-0.22, 0.22, size=len(x))
        ax.scatter(x, y, s=12, alpha=0.55, color=plotting.color(method), edgecolors="none",
                   zorder=3)
    boxes = ax.boxplot([10.0 ** v if len(v) else [np.nan] for v in data],
                       positions=range(len(order)), orientation="horizontal", widths=0.6,
                       whis=(5, 95),  # percentiles: order statistics survive the log axis
                       showfliers=False, patch_artist=True, zorder=2,
                       medianprops={"color": "black", "linewidth": 1.6})
    for patch in boxes["boxes"]:
        patch.set(facecolor="white", alpha=0.6, edgecolor="#555555")
    ax.set_xscale("log")
    ax.set_xlim(ZERO_AT / 4, NONFINITE_AT * 4)
    ax.axvline(EPS, color="#888888", linestyle=":", linewidth=1)
    ax.text(EPS, len(order) - 0.35, " float64 eps", fontsize=8, color="#555555", va="bottom")
    ax.axvspan(ZERO_AT / 4, ZERO_AT * 2, color="#eeeeee", zorder=0)
    ax.axvspan(NONFINITE_AT / 3, NONFINITE_AT * 4, color="#fde0dd", zorder=0)
    ax.text(ZERO_AT / 3, -0.9, "exact\n(rho = 0)", fontsize=7, va="top")
    ax.text(NONFINITE_AT / 2.5, -0.9, "nan /\ninf", fontsize=7, va="top")
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.4, -1.5)
    ax.set_xlabel("error rho = |a - b| / max(1, |a| + |b|), largest component per function "
                  "(dimensionless, log)")
    n_cells = int(df.groupby("method").size().max()) if len(df) else 0
    ax.set_title(f"Gradient error against the 50-digit truth, {n_cells} function-points "
                 f"per method", fontsize=11)
    ax.scatter([], [], s=12, color="#777777", label="one function at one point")
    ax.plot([], [], color="black", label="median, quartiles, 5-95%")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return plotting.save(fig, path)


def _describe(name: str) -> str:
    try:
        return get_problem(name).description
    except KeyError:
        return "(not in the registry)"


# ---- the section -------------------------------------------------------------------------
def findings(df: pd.DataFrame) -> str:
    """Sentences computed from the rows."""
    floor = float64_floor(df)
    ill = floor[floor > WELL_CONDITIONED]
    well_keys = set(floor[floor <= WELL_CONDITIONED].index)
    exact = df[df["method"].isin(EXACT) & df["max_rho"].notna()]
    keyed = exact.set_index(["problem", "seed"])
    on_well = keyed[keyed.index.isin(well_keys)]["max_rho"].astype(float)
    parts = []
    if len(on_well):
        worst = on_well.max()
        where = keyed[keyed.index.isin(well_keys)].reset_index()
        where = where.loc[where["max_rho"].astype(float).idxmax()]
        share_zero = float((on_well == 0).mean())
        methods = ', '.join(m for m in EXACT if m in set(df['method']))
        if worst == 0:
            parts.append(f"The exact methods ({methods}) are bit-exact against the truth on "
                         f"every cell of the {len(well_keys)} of {len(floor)} "
                         f"function-points where float64 itself is well-conditioned.")
        else:
            parts.append(
                f"The exact methods ({methods}) stay within {max(worst / EPS, 1):.0f} eps "
                f"(rho <= {_sci(worst)}, {where['method']} on {where['problem']}) of the "
                f"truth on {len(well_keys)} of {len(floor)} function-points, and are "
                f"bit-exact on {100 * share_zero:.0f}% of their cells.")
    if len(ill):
        cases = []
        for (problem, seed), value in ill.sort_values(ascending=False).items():
            here = keyed.loc[(problem, seed), "max_rho"].astype(float)
            spread = float(here.max() - here.min())
            cases.append(f"{problem} (seed {seed}): rho {_sci(value)}, the methods within "
                         f"{_sci(spread)} of each other")
        parts.append(
            "Where the float64 formula itself cancels, every exact method misses by the same "
            "amount — the rounding is in the program, not in the differentiation: "
            + "; ".join(cases[:4]) + ("; ..." if len(cases) > 4 else "") + ".")
    medians = {}
    for method in method_order(df["method"]):
        if method.startswith("numeric") or not is_exact(method):  # and peers, plugins
            d = df[(df["method"] == method) & df["max_rho"].notna()]["max_rho"].astype(float)
            d = d[np.isfinite(d)]
            if len(d):
                medians[method] = float(np.median(d))
    if medians:
        text = "Median rho of the finite-difference schemes and other approximate " \
            "methods: " + ", ".join(
            f"{m.partition(':')[2] or ('adaptive (the default)' if m == 'numeric' else m)} "
            f"{_sci(v)}"
            for m, v in medians.items())
        if "numeric:forward" in medians:
            digits = -np.log10(max(medians["numeric:forward"], EPS))
            text += f"; forward differences keep about {digits:.0f} of float64's 16 digits"
        parts.append(text + ".")
    wrong = df[(df["outcome"] == "wrong")].groupby("method").size()
    if len(wrong):
        parts.append("Beyond tolerance: " + ", ".join(f"{m} {n}" for m, n in wrong.items())
                     + " cells.")
    other = _other_text(df)
    if other:
        parts.append(other)
    parts.append(f"(rho = 0 is drawn at {ZERO_AT:g}, nan/inf at {NONFINITE_AT:g}.)")
    return " ".join(parts)


def summary(df: pd.DataFrame, suite: bool = True) -> dict[str, dict[str, str]]:
    """The report's top table: one accuracy phrase per method that is not a scheme variant
    (``numeric`` is the adaptive default; the peers count), every one over the same cells
    (``suite``: the whole scalar suite, not a config's own list of problems)."""
    points = df.drop_duplicates(["problem", "seed"])
    column = (f"accuracy: median rho (worst) over {'the scalar suite, ' if suite else ''}"
              f"{points['problem'].nunique()} functions at {len(points)} points")
    out = {}
    for method in dict.fromkeys(df["method"]):
        if ":" in method:
            continue
        d = df[(df["method"] == method) & df["max_rho"].notna()]
        if d.empty:
            outcomes = df[df["method"] == method]["outcome"].value_counts()
            out[method] = {column: "— (" + ", ".join(f"{n} {o}" for o, n in outcomes.items())
                           + ")"}
            continue
        rho = d["max_rho"].astype(float)
        finite = rho[np.isfinite(rho)]
        short = len(d) < len(points)
        out[method] = {column: f"{_sci(np.median(finite))} ({_sci(rho.max())}, "
                               f"{d.loc[rho.idxmax(), 'problem']})"
                               + (f"; {len(points) - len(d)} cells without a result"
                                  if short else "")}
    return out


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: the strip plot, the per-method table, worst cases and findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    df = df[df["kind"] == "grad"].copy()
    if "max_rho" not in df:  # no cell got as far as a comparison
        df["max_rho"] = np.nan
    fig = figure(df, Path(figdir) / f"{NAME}.png")
    table = per_method(df)
    worst = worst_cases(df)
    wide = max([len("problem"), *(len(str(p)) for p in worst["problem"])])
    lines = [f"{'problem':<{wide}} {'seed':>4} {'rho':>9}  {'outcome':<8} method(s)"]
    lines += [f"{r.problem:<{wide}} {r.seed:>4} {_sci(r.rho):>9}  {r.outcome:<8} {r.method}"
              for r in worst.itertuples()]
    named = [f"{name}: {_describe(name)}" for name in dict.fromkeys(worst["problem"])]
    text = (findings(df) + "\n\nThe worst cells (each method and problem at its worst seed):"
            "\n\n```\n" + "\n".join(lines) + "\n```\n\n" + "; ".join(named) + ".")
    caption = ("The error rho of every method's gradient against the 50-digit truth: one dot "
               "per function and point, a box for the quartiles.")
    alt = ("Horizontal box plots on a log axis of error, one row per method (exact methods "
           "on top, finite-difference schemes below), with shaded bands for exact (rho = 0) "
           "and nan/inf results.")
    suite = config.get("problems") is None
    n = df["problem"].nunique()
    where = "the scalar suite's" if suite else "this experiment's"
    question = QUESTION if suite and n == 42 else (
        f"How close does each method's gradient get to the exact derivative, on {where} {n} "
        f"function{'s' if n != 1 else ''}?")
    return Section(NAME, TITLE, question, [(fig, caption, alt)], table, text,
                   summary(df, suite))
