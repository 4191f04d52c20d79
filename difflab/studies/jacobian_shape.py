"""The shape of a Jacobian: forward against reverse mode for R^n -> R^m with n·m fixed.

y = tanh(A x + b) with x of n entries, y of m, A (m, n) and b fixed (the ``vector_family``
problem); n·m = N stays fixed, so f's work (the m·n products of A x) and the Jacobian's size
are the same at every shape, and only the shape moves from tall (n = 1, m = N) to wide
(n = N, m = 1).

Forward mode pushes one tangent per input direction: n directions (difflab's forward mode
pushes all n at once as an array with a leading axis; JAX's ``jacfwd`` vmaps n JVPs). Reverse
mode pulls one cotangent per output: m of them (JAX's ``jacrev`` vmaps m VJPs; difflab's
reverse mode carries all m through ONE sweep along a leading axis). Counting passes, forward
wins when n < m and reverse when n > m, crossing at n/m = 1; in arithmetic the tangent of A x
costs m·n·n multiply-adds for forward and the m cotangents m·m·n for reverse: the same
crossover. Where the measured crossover lies says what else a pass costs. difflab's reverse
mode keeps its identity seed diagonal while it passes elementwise ops (here tanh and + b), so
the m cotangents of A x cost a row scaling of A, m·n, like f itself: its curve is flat and
it does not lose on tall maps by the pass count.

JAX's modes are selected with a ``prepare`` hook (method names ``jax:jacfwd`` and
``jax:jacrev``); the truth is the Jacobian written by hand, J = diag(1 - y^2) A.

Every cell is timed in ``repeats`` passes over the whole sweep (``repeats``); a cell's time is
the median of its repeats' fastest batches, with the order-statistics interval of that median,
and the crossover's interval is bootstrapped over the repeats.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api
from ..lab import Cell, Run, Settings, run_sweep
from ..lab import problems as registry
from ..lab.families import vector_constants
from ..lab.hand_truth import HandTruth
from ..lab.intervals import fmt
from ..lab.repeats import how_measured, limit_note, per_cell, repeats_of
from .jacobian_crossing import (
    aspect_fmt,
    aspect_label,
    crossing_text,
    crossover_interval,
    ratio_intervals,
    shape_ranges,
    verdicts,
)
from .jacobian_crossing import crossover as crossover  # the study's public name, kept

NAME = "jacobian_shape"
TITLE = "Jacobian shape: forward against reverse mode"
QUESTION = ("For a map R^n -> R^m with n·m fixed, where do forward mode (one pass per input) "
            "and reverse mode (one pass per output) cross over?")

JAX_MODES = {"jacfwd": "forward", "jacrev": "reverse"}   # jax:<name> -> jax_ref's mode
EXTRA_METHODS = tuple(f"jax:{mode}" for mode in JAX_MODES)  # names `prepare` adds to the API's
PAIRS = (("forward", "reverse"), ("jax:jacfwd", "jax:jacrev"))  # (forward-like, reverse-like)
STYLE = {"forward": ("#1a9641", "D", "-"), "reverse": ("#2c7bb6", "o", "-"),
         "jax:jacfwd": ("#1a9641", "x", "--"), "jax:jacrev": ("#2c7bb6", "+", "--")}
PREPARE_HOOK = f"difflab.studies.{NAME}:prepare"
PROBLEMS_HOOK = f"difflab.studies.{NAME}:get_problem"


def prepare(kind: str, expr, wrt, shapes, method: str):
    """The ``Settings.prepare`` hook: ``jax:jacfwd`` / ``jax:jacrev`` pick JAX's Jacobian
    mode; every other method goes to ``difflab.api.prepared``.

    Args:
        kind, expr, wrt, shapes, method: as ``difflab.api.prepared``.
    Returns:
        the ``Prepared`` derivative.
    """
    base, _, variant = method.partition(":")
    if base == "jax" and variant:
        if variant not in JAX_MODES or kind != "jacobian":
            raise ValueError(f"{NAME}: unknown method {method!r} for a {kind}; the JAX "
                             f"variants are {', '.join('jax:' + v for v in JAX_MODES)}")
        from .. import jax_ref

        return jax_ref.prepare_jacobian(expr, wrt, shapes, mode=JAX_MODES[variant])
    return api.prepared(kind, expr, wrt, shapes, method)


# ---- the problem, with a hand-written truth -----------------------------------------------
def hand_jacobian(x: np.ndarray, n: int, m: int) -> np.ndarray:
    """d tanh(A x + b) / dx = diag(1 - y^2) A, with the family's own A and b.

    Args:
        x: the point, shape (n,).
        n, m: the sizes (they seed A and b).
    Returns:
        the Jacobian, shape (m, n).
    """
    A, b = vector_constants(n, m)
    y = np.tanh(A @ x + b)
    return (1.0 - y * y)[:, None] * A


def _hand_truth(inst) -> dict:
    return {"x": hand_jacobian(np.asarray(inst.point["x"]), inst.params["n"], inst.params["m"])}


def get_problem(name: str):
    """The ``Settings.problems`` hook: the registry, with vector_family's truth by hand."""
    problem = registry.get_problem(name)
    return HandTruth(problem, "jacobian", _hand_truth) \
        if name == "vector_family" else problem


# ---- running --------------------------------------------------------------------------------
def shapes(config: dict) -> list[tuple[int, int]]:
    """(n, m) with n·m = config["product"] (a power of two), n = 1, 2, 4, ... N."""
    N = int(config["product"])
    k = int(round(np.log2(N)))
    if 2 ** k != N:
        raise ValueError(f"{NAME}: product must be a power of two, got {N}")
    step = int(config.get("step", 1))
    return [(2 ** j, N // 2 ** j) for j in range(0, k + 1, step)]


def cells(config: dict) -> list[Cell]:
    """Every shape by every method (shapes in order, methods together: one truth per shape)."""
    return [Cell(NAME, "vector_family", {"n": n, "m": m}, method, "jacobian",
                 config.get("seed", 0))
            for n, m in shapes(config) for method in config["methods"]]


def run(config: dict, run: Run, settings: Settings) -> None:
    """Run the sweep, JAX's modes through the ``prepare`` hook."""
    settings = dataclasses.replace(
        settings, prepare=PREPARE_HOOK, problems=PROBLEMS_HOOK,
        time_limit=config.get("time_limit", 30.0), min_time=config.get("min_time", 0.005),
        samples=config.get("samples", 3), max_time=config.get("max_time", 0.1),
        time_primal=False)  # f's time is the same at every shape: not needed here
    run_sweep(cells(config), run, settings, isolate=config.get("isolate", True),
              repeats=repeats_of(config), timing=True)


# ---- analysis ----------------------------------------------------------------------------
def measured(df: pd.DataFrame) -> pd.DataFrame:
    """One line per cell that came out ok: method, n, m, aspect n/m, t (s: the median over
    the repeats of each repeat's fastest batch), its interval t_lo..t_hi, the repeats."""
    lines = per_cell(df[df["outcome"] == "ok"], "time_min")
    d = pd.DataFrame({"method": lines["method"], "n": lines["params.n"].astype(int),
                      "m": lines["params.m"].astype(int)})
    d["aspect"] = d["n"] / d["m"]
    d["t"], d["t_lo"], d["t_hi"] = lines["median"], lines["lo"], lines["hi"]
    d["n_rep"], d["coverage"], d["samples"] = lines["n_rep"], lines["coverage"], \
        lines["samples"]
    return d.sort_values(["method", "aspect"]).reset_index(drop=True)


def _ms(line) -> str:
    return fmt(line["t"] * 1e3, line["t_lo"] * 1e3, line["t_hi"] * 1e3)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Time per Jacobian (ms, median and interval) per shape (rows) and method (columns), and
    per pair of modes the time ratio and which mode wins (its bootstrap interval entirely above
    or below 1: else a tie)."""
    d = measured(df)
    out = d[["n", "m"]].drop_duplicates().sort_values(["n", "m"]).reset_index(drop=True)
    out.insert(2, "n/m", out["n"] / out["m"])
    lines = {(r["method"], r["n"]): r for _, r in d.iterrows()}
    for method in dict.fromkeys(d["method"]):
        out[f"{method} [ms]"] = [_ms(lines[(method, n)]) if (method, n) in lines else ""
                                 for n in out["n"]]
    for fwd, rev in PAIRS:
        if {fwd, rev} <= set(d["method"]):
            q = ratio_intervals(d, fwd, rev).set_index("aspect")
            said = dict(verdicts(d, fwd, rev))
            aspects = out["n/m"]
            out[f"{rev} / {fwd}"] = [fmt(*q.loc[a], "×") if a in q.index else ""
                                     for a in aspects]
            out[f"faster of {fwd}/{rev}"] = [
                {"tie": "tie (the ratio's interval holds 1)"}.get(said.get(a, ""),
                                                                    said.get(a, ""))
                for a in aspects]
    return out


def figure(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Left: time per Jacobian against n/m for each mode (error bars: the interval of each
    median). Right: t(reverse)/t(forward) against n/m, with the pass-count prediction m/n and
    each crossover's interval as a band."""
    from ..lab import plotting

    d = measured(df)
    fig, (ax, ax_q) = plotting.figure(width=13, height=4.8, ncols=2,
                                      gridspec_kw={"width_ratios": [1.25, 1]})
    cut = limit_note(df, "n", config.get("time_limit"))
    for method in config["methods"]:
        s = d[d["method"] == method]
        colour, mark, ls = STYLE.get(method, (plotting.color(method), "o", "-"))
        label = method + {"forward": " (n directions, one pass)",
                          "reverse": " (m cotangents, one sweep)"}.get(method, "")
        label += f" — {cut[method]}" if method in cut else ""
        plotting.errorbar(ax, s["aspect"], s["t"] * 1e3, s["t_lo"] * 1e3, s["t_hi"] * 1e3,
                  color=colour, marker=mark, ls=ls, lw=1.6, ms=6, label=label)
    aspects = sorted(d["aspect"].unique())
    for fwd, rev in PAIRS:
        if {fwd, rev} <= set(d["method"]):
            q = ratio_intervals(d, fwd, rev)
            colour, mark, ls = STYLE.get(rev, ("#555555", "o", "-"))
            plotting.errorbar(ax_q, q["aspect"], q["ratio"], q["lo"], q["hi"], color="#555555",
                      ls=ls, marker="o", ms=4, lw=1.5, label=f"{rev} / {fwd}")
            x = crossover_interval(d, fwd, rev)
            if x.finite:
                for axis in (ax, ax_q):
                    axis.axvspan(x.lo, x.hi, color="#555555", alpha=0.12, lw=0)
                    axis.axvline(x.value, color="#555555", ls=ls, lw=0.9, alpha=0.7)
                ax_q.annotate(f"crossover\nn/m ≈ {aspect_fmt(x)}", (x.value, 1.0),
                              textcoords="offset points",
                              xytext=(6, 18 if fwd == "forward" else -34), fontsize=8)
    grid = np.array(aspects)
    ax_q.plot(grid, 1.0 / grid, color="#e66101", ls=":", lw=1.4,
              label="m/n (ratio of pass counts)")
    ax_q.axhline(1.0, color="black", lw=0.8)
    ticks = aspects[::-(-len(aspects) // 7)]
    for axis in (ax, ax_q):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(ticks, [aspect_label(t) for t in ticks])
        axis.minorticks_off()
        axis.set_xlabel(f"n / m  (inputs per output; n·m = {config['product']})")
    reps = int(d["n_rep"].max()) if len(d) else 0
    ax.set(ylabel=f"time per Jacobian [ms] (median of {reps} repeats, 95% interval)",
           title="Time per Jacobian: tall (left) to wide (right)")
    ax_q.set(ylabel="t(reverse-like) / t(forward-like)",
             title="Which mode wins: above 1, forward mode (band: crossover's 95% interval)")
    ax.legend(fontsize=8, loc="upper center", framealpha=0.9)
    ax_q.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.suptitle("y = tanh(A x + b), x ∈ Rⁿ, y ∈ Rᵐ", fontsize=11)
    return plotting.save(fig, path)


def findings(df: pd.DataFrame, config: dict) -> str:
    """Sentences computed from the rows; every measured figure with its interval."""
    d = measured(df)
    parts = []
    for fwd, rev in PAIRS:
        if not {fwd, rev} <= set(d["method"]):
            continue
        q = ratio_intervals(d, fwd, rev).set_index("aspect")
        lo, hi = q.index[0], q.index[-1]
        where = crossing_text(d, fwd, rev)
        parts.append(
            f"{rev} takes {fmt(*q.loc[lo])}× the time of {fwd} at n/m = {aspect_label(lo)} "
            f"and {fmt(*q.loc[hi])}× at n/m = {aspect_label(hi)}; {where} (pass counts "
            f"predict a crossing at n/m = 1).")
    if {"forward", "reverse"} <= set(d["method"]):
        r = d[d["method"] == "reverse"]
        tall = r.loc[r["m"].idxmax()]
        wide = r.loc[r["m"].idxmin()]
        f = d[d["method"] == "forward"].set_index("n")["t"]
        flat = f[f <= 3 * f.min()]
        last_flat = int(flat.index.max())
        parts.append(
            f"difflab's reverse mode carries all m cotangents through one sweep: "
            f"{wide['t'] * 1e3:.3g} ms at m = {int(wide['m'])}, {tall['t'] * 1e3:.3g} ms at "
            f"m = {int(tall['m'])} (its diagonal seed makes the cotangents of the elementwise "
            f"tail cost m numbers, not m·m). Its forward mode pushes all n directions in one "
            f"pass: {flat.min() * 1e3:.3g}–{flat.max() * 1e3:.3g} ms for every n up to "
            f"{last_flat}"
            + (f", after which the arithmetic of the n×n tangent (m·n² = N·n multiply-adds) "
               f"takes over: {f.iloc[-1] * 1e3:.3g} ms at n = {int(f.index[-1])}"
               if last_flat < int(f.index[-1]) else "") + ".")
    bad = df[df["outcome"] != "ok"]
    if len(bad):
        parts.append("Not ok: " + "; ".join(
            f"{r['method']} at n={int(r['params.n'])}, m={int(r['params.m'])}: {r['outcome']}"
            for _, r in bad.iterrows()) + ".")
    cut = limit_note(df, "n", config.get("time_limit"))
    if cut:
        parts.append("Curves cut short: " + "; ".join(f"{m} {t}" for m, t in cut.items())
                     + ".")
    if len(d):
        parts.append(how_measured(d["n_rep"]))
    return " ".join(parts)


def summary(df: pd.DataFrame) -> dict[str, dict[str, str]]:
    """The report's top table: where each AD mode wins (the crossover, or where each is
    faster and where they tie), and t(reverse)/t(forward) at the tallest shape (forward's
    row) and the widest (reverse's), with their intervals."""
    d = measured(df)
    column = "Jacobian crossover n/m (tanh(Ax+b), n·m fixed)"
    if not {"forward", "reverse"} <= set(d["method"]):
        return {"forward": {column: "not measured"}, "reverse": {column: "not measured"}}
    x = crossover_interval(d, "forward", "reverse")
    said = verdicts(d, "forward", "reverse")
    seen = {v for _, v in said}
    ties = f"; ties at {shape_ranges(said, 'tie')}" if "tie" in seen else ""
    q = ratio_intervals(d, "forward", "reverse").set_index("aspect")
    out = {}
    for mode, aspect, side in (("forward", q.index[0], "<"), ("reverse", q.index[-1], ">")):
        text = (f"wins for n/m {side} {aspect_fmt(x)}" if x.finite else
                f"faster at {shape_ranges(said, mode)}{ties}" if mode in seen else
                f"never faster{ties}")
        ratio = fmt(*q.loc[aspect], "×")
        out[mode] = {column: f"{text}; t(reverse)/t(forward) = {ratio} at n/m = "
                             f"{aspect_label(aspect)}"}
    return out


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: the figure, the time table, the findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    fig = figure(df, config, Path(figdir) / f"{NAME}.png")
    caption = ("Time per Jacobian from tall (few inputs) to wide (few outputs) maps, and "
               "which mode wins: forward mode above 1 on the right panel.")
    alt = ("Two log-log panels against n/m: left, time per Jacobian for forward, reverse, "
           "jax jacfwd and jacrev; right, the reverse-over-forward time ratio with the "
           "crossovers marked and the ratio of pass counts dotted.")
    return Section(NAME, TITLE, QUESTION, [(fig, caption, alt)], table(df), findings(df, config),
                   summary(df))
